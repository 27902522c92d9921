"""Synthetic eligibility-engine inputs at any size (1M to 10M+ families), for benchmarks and engine-level tests.

Writes the four inputs of `dtsen.programs.engine` (families, persons, exclusions, quotas; columns in its
docstring) as Parquet, generated in DuckDB SQL from 64-bit hashes of the row number and the seed, so the rows
are deterministic for a seed and no Python runs per row. The values are plausible, not realistic:

- families spread over the real Kemendagri kabupaten/kota (edition 2025) by their population (Dukcapil
  2024-II), each in one of its real villages; desil 1-10 (about 10 % each) with a percentile in
  ((desil - 1) x 10, desil x 10]; 0.2 % not ranked (no desil), 0.3 % inactive, 0.1 % KK registered twice;
- household sizes 1-8 (mean ~3.8): a head (20-78, 85 % men), a spouse in 85 % of the larger households, a
  parent aged 62-91 in 12 % of the households of four or more, the others children (0-25); about 3 % of the
  persons are 70 or older, ~2 % of the women aged 18-45 are pregnant, ~1 % have a severe disability;
- school level by age: PAUD 5-6, SD 7-12 (97 % enrolled), SMP 13-15 (88 %), SMA 16-18 (72 %), a few late SMA
  pupils and students (PT) from 19; "tidak" otherwise;
- faults: 0.5 % of families with an exclusion flag (a head in an excluded category, sometimes the spouse as
  "keluarga_asn" too), 0.2 % of persons with a NIK in another family, 0.1 % with an invalid NIK, 0.2 % not
  matched with Dukcapil, 0.5 % of families whose pengurus died (a spouse or an adult child can take over,
  or not), 0.2 % of other members deceased;
- quotas (optional) for Sekolah Rakyat (places for 5 % of its target pupils, it requires a quota) and for
  PKH and Sembako per kabupaten/kota at 86-94 % of its candidates (families in the
  program's desil range; for PKH with a component member), so that waiting lists appear.

The generator needs no database: the region codes come from the files shipped in `dtsen/regions/data`.
"""
# ruff: noqa: S608
# (SQL text built from code constants, rule values rules.py checked and integers; no citizen value.)

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa

from dtsen.programs.engine import INPUTS
from dtsen.programs.rules import RuleSet, rules_default
from dtsen.ranking.engine.duck import duckdb_connect, sql_string
from dtsen.regions.data_files import edition_spec, read_codes, read_population
from dtsen.registry.choices import ExclusionCategory

SLOTS = 100_000
"""Regency lookup slots: a family's regency is slot (hash mod SLOTS), each regency holding slots in proportion
to its population (at least one)."""
QUOTA_PROGRAMS = ("pkh", "sembako")
_CATEGORIES = tuple(c for c in ExclusionCategory.values if c != ExclusionCategory.ASN_FAMILY)


@functools.lru_cache(maxsize=1)
def region_tables() -> tuple[pa.Table, pa.Table]:
    """From the current edition: (slots: slot, regency_code, v_first, v_n - the regency's villages are rows
    v_first .. v_first + v_n - 1 of the villages -, villages: vi, village_code)."""
    spec = edition_spec("2025")
    codes = read_codes(spec.regions_file, levels=frozenset({4}))
    villages: dict[str, list[str]] = {}
    for code in sorted(codes):
        villages.setdefault(code[:5], []).append(code)
    assert spec.population_file is not None
    population = read_population(spec.population_file)
    weights = {code: population[code].total for code in sorted(villages) if code in population}
    total = sum(weights.values())
    slots: list[tuple[str, int, int]] = []
    village_codes: list[str] = []
    for code, weight in weights.items():
        slots.extend([(code, len(village_codes), len(villages[code]))] * max(1, round(weight / total * SLOTS)))
        village_codes.extend(villages[code])
    slot_table = pa.table({
        "slot": pa.array(range(len(slots)), pa.int64()), "regency_code": [r[0] for r in slots],
        "v_first": pa.array([r[1] for r in slots], pa.int64()), "v_n": pa.array([r[2] for r in slots], pa.int64()),
    })  # fmt: skip
    village_table = pa.table({"vi": pa.array(range(len(village_codes)), pa.int64()), "village_code": village_codes})
    return slot_table, village_table


def _pct(h: str, shift: int, per: int = 1000) -> str:
    """A value 0..per-1 (almost uniform) from 20 bits of the hash `h` (three per 64-bit hash)."""
    return f"CAST(((({h}) >> {shift}) & 1048575) % {per} AS INTEGER)"


def families_sql(families: int, seed: int, slots: int) -> str:
    """One row per family with the attributes its members are generated from (a temporary table)."""
    return f"""WITH base AS (
  SELECT i + 1 AS family_id, hash(i, {seed}, 1) AS h1, hash(i, {seed}, 2) AS h2, hash(i, {seed}, 3) AS h3,
         hash(i, {seed}, 4) AS h4, hash(i, {seed}, 5) AS h5
  FROM range({families}) t(i)
),
g AS (
  SELECT family_id, h4,
         CAST(h1 % 1000000 AS BIGINT) AS pk,
         {_pct('h2', 0, 100)} AS size_u,
         {_pct('h2', 20)} AS flag_u,
         {_pct('h2', 40)} AS flag_v,
         20 + {_pct('h3', 0, 30)} + {_pct('h3', 20, 30)} AS head_age,
         {_pct('h3', 40, 100)} AS role_u,
         {_pct('h5', 0, 100)} AS spouse_u,
         {_pct('h5', 20, 100)} AS parent_u,
         {_pct('h5', 40, 2)} = 0 AS spouse_pengurus
  FROM base
),
s AS (
  SELECT *,
         CASE WHEN size_u < 7 THEN 1 WHEN size_u < 23 THEN 2 WHEN size_u < 45 THEN 3 WHEN size_u < 69 THEN 4
              WHEN size_u < 85 THEN 5 WHEN size_u < 93 THEN 6 WHEN size_u < 97 THEN 7 ELSE 8 END AS hhsize
  FROM g
)
SELECT s.family_id, v.village_code, r.regency_code, s.hhsize, s.head_age,
       CASE WHEN flag_u < 2 THEN NULL ELSE least(10, CAST(pk // 100000 AS INTEGER) + 1) END AS desil,
       CASE WHEN flag_u < 2 THEN NULL ELSE CAST(pk + 1 AS DOUBLE) / 10000.0 END AS percentile,
       flag_u NOT BETWEEN 2 AND 4 AS active,
       flag_u = 5 AS dup_family,
       flag_v < 5 AS excluded,
       flag_v BETWEEN 5 AND 9 AS pengurus_dead,
       CASE WHEN hhsize = 1 THEN role_u < 55 ELSE role_u < 15 END AS head_female,
       hhsize >= 2 AND spouse_u < 85 AS has_spouse,
       hhsize >= 4 AND parent_u < 12 AS has_parent,
       spouse_pengurus
FROM s
JOIN gen_slots r ON r.slot = CAST(s.h4 % {slots} AS BIGINT)
JOIN gen_villages v ON v.vi = r.v_first + CAST((s.h4 >> 32) % r.v_n AS BIGINT)
ORDER BY s.family_id"""


def persons_sql(seed: int) -> str:
    """One row per member of `gen_fam`: person_id = family_id x 10 + member number (0 = head)."""
    return f"""WITH m AS (
  SELECT family_id, hhsize, head_age, head_female, has_spouse, has_parent, spouse_pengurus, pengurus_dead,
         UNNEST(range(hhsize)) AS m
  FROM gen_fam
),
r AS (
  SELECT *, hash(family_id, m, {seed}, 4) AS p1, hash(family_id, m, {seed}, 5) AS p2,
         CASE WHEN m = 0 THEN 'kepala' WHEN m = 1 AND has_spouse THEN 'pasangan'
              WHEN m = hhsize - 1 AND has_parent THEN 'orang_tua' ELSE 'anak' END AS role,
         has_spouse AND NOT head_female AND spouse_pengurus AS spouse_is_pengurus
  FROM m
),
a AS (
  SELECT *,
         CASE role WHEN 'kepala' THEN head_age
                   WHEN 'pasangan' THEN greatest(17, head_age - 4 + {_pct('p1', 0, 7)})
                   WHEN 'orang_tua' THEN 62 + {_pct('p1', 0, 30)}
                   ELSE {_pct('p1', 0, 1000)} % least(greatest(head_age - 16, 1), 26) END AS age,
         CASE role WHEN 'kepala' THEN CASE WHEN head_female THEN 'P' ELSE 'L' END
                   WHEN 'pasangan' THEN CASE WHEN head_female THEN 'L' ELSE 'P' END
                   ELSE CASE WHEN {_pct('p1', 20, 2)} = 0 THEN 'L' ELSE 'P' END END AS sex,
         (role = 'kepala' AND NOT spouse_is_pengurus) OR (role = 'pasangan' AND spouse_is_pengurus) AS is_pengurus,
         {_pct('p1', 40, 1000)} AS u1, {_pct('p2', 0, 1000)} AS u2, {_pct('p2', 20, 1000)} AS u3,
         {_pct('p2', 40, 1000)} AS u4
  FROM r
)
SELECT family_id * 10 + m AS person_id, family_id, CAST(age AS INTEGER) AS age, sex,
       sex = 'P' AND age BETWEEN 18 AND 45 AND u1 < 20 AS pregnant,
       u2 < CASE WHEN age >= 60 THEN 30 ELSE 8 END AS severe_disability,
       CASE WHEN age BETWEEN 5 AND 6 AND u3 < 400 THEN 'paud'
            WHEN age = 6 AND u3 >= 600 THEN 'sd'
            WHEN age BETWEEN 7 AND 12 THEN CASE WHEN u3 < 970 THEN 'sd' ELSE 'tidak' END
            WHEN age BETWEEN 13 AND 15 THEN CASE WHEN u3 < 880 THEN 'smp' ELSE 'tidak' END
            WHEN age BETWEEN 16 AND 18 THEN CASE WHEN u3 < 720 THEN 'sma' ELSE 'tidak' END
            WHEN age BETWEEN 19 AND 21 AND u3 < 50 THEN 'sma'
            WHEN age BETWEEN 19 AND 25 AND u3 >= 820 THEN 'pt'
            ELSE 'tidak' END AS school_level,
       NOT ((is_pengurus AND pengurus_dead) OR (NOT is_pengurus AND u4 < 2)) AS alive,
       u4 NOT BETWEEN 2 AND 2 AS nik_ok,
       u4 NOT BETWEEN 3 AND 4 AS matched,
       u4 BETWEEN 5 AND 6 AS dup_nik,
       is_pengurus
FROM a"""


def exclusions_sql(seed: int) -> str:
    cats = ", ".join(sql_string(c) for c in _CATEGORIES)
    return f"""SELECT family_id * 10 AS person_id, family_id,
       list_extract([{cats}], CAST(hash(family_id, {seed}, 6) % {len(_CATEGORIES)} AS INTEGER) + 1) AS category
FROM gen_fam WHERE excluded
UNION ALL
SELECT family_id * 10 + 1 AS person_id, family_id, 'keluarga_asn' AS category
FROM gen_fam WHERE excluded AND has_spouse AND hash(family_id, {seed}, 7) % 10 < 3"""


def quotas_sql(rules: RuleSet, persons: Path, seed: int) -> str:
    """Per kabupaten/kota, 86-94 % of the families in each quota program's desil range (PKH: with a member
    who counts as a component)."""
    parts = []
    for code in QUOTA_PROGRAMS:
        program = rules.program(code)
        if program.amount_kind == "components":
            source = f"""(SELECT DISTINCT family_id FROM read_parquet({sql_string(persons)})
                WHERE alive AND (age <= 6 OR age >= 70 OR severe_disability OR (pregnant AND sex = 'P')
                                 OR (school_level IN ('sd', 'smp', 'sma') AND age BETWEEN 6 AND 21)))"""
            join = f"JOIN {source} c ON c.family_id = f.family_id"
        else:
            join = ""
        parts.append(f"""SELECT {sql_string(code)} AS program, f.regency_code,
       CAST(floor(count(*) * (86 + hash(f.regency_code, {seed}, 8) % 9) / 100.0) AS BIGINT) AS quota
FROM read_families f {join}
WHERE f.active AND f.desil BETWEEN {program.desil_min} AND {program.desil_max}
GROUP BY f.regency_code""")
    for program in rules.programs:  # counted places (Sekolah Rakyat): 5 % of the target pupils per kabupaten/kota
        if program.requires_quota and program.unit == "person":
            parts.append(f"""SELECT {sql_string(program.code)} AS program, f.regency_code,
       CAST(floor(count(*) * 5 / 100.0) AS BIGINT) AS quota
FROM read_families f JOIN read_parquet({sql_string(persons)}) p ON p.family_id = f.family_id
WHERE f.active AND p.alive AND f.desil BETWEEN {program.desil_min} AND {program.desil_max}
  AND p.school_level IN ('sd', 'smp', 'sma') AND p.age BETWEEN 6 AND 18
GROUP BY f.regency_code""")
    return "\nUNION ALL\n".join(parts)


def synthetic_inputs(out_dir: str | Path, families: int, seed: int, *, quotas: bool = True,
                     rules: RuleSet | None = None, memory_limit: str = "4GB", threads: int | None = None,
                     con: duckdb.DuckDBPyConnection | None = None) -> dict[str, Path]:  # fmt: skip
    """Write `families` synthetic families and their members, exclusions and quotas (empty when `quotas` is
    false) as `<name>.parquet` under out_dir; returns the paths by input name (engine.INPUTS)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "gen.tmp"
    own = con is None
    con = con or duckdb_connect(memory_limit=memory_limit, threads=threads, temp_directory=tmp)
    con.execute("SET preserve_insertion_order = true")  # rows in id order without a sort: same files per seed
    slots, villages = region_tables()
    con.register("gen_slots", slots)
    con.register("gen_villages", villages)
    paths = {name: out / f"{name}.parquet" for name in INPUTS}
    try:
        con.execute(f"CREATE OR REPLACE TEMPORARY TABLE gen_fam AS {families_sql(families, seed, len(slots))}")
        con.execute(f"""COPY (
            SELECT family_id, village_code, regency_code, desil, percentile, active, dup_family FROM gen_fam
        ) TO {sql_string(paths['families'])} (FORMAT parquet, COMPRESSION zstd)""")
        con.execute(f"COPY ({persons_sql(seed)}) TO {sql_string(paths['persons'])} (FORMAT parquet, COMPRESSION zstd)")
        con.execute(f"COPY ({exclusions_sql(seed)} ORDER BY person_id) TO {sql_string(paths['exclusions'])} "
                    "(FORMAT parquet, COMPRESSION zstd)")
        con.execute("CREATE OR REPLACE TEMPORARY VIEW read_families AS "
                    f"SELECT * FROM read_parquet({sql_string(paths['families'])})")
        query = quotas_sql(rules or rules_default(), paths["persons"], seed) if quotas else \
            "SELECT CAST(NULL AS VARCHAR) AS program, CAST(NULL AS VARCHAR) AS regency_code, " \
            "CAST(NULL AS BIGINT) AS quota WHERE FALSE"
        con.execute(f"COPY ({query} ORDER BY program, regency_code) TO {sql_string(paths['quotas'])} "
                    "(FORMAT parquet, COMPRESSION zstd)")
    finally:
        for name in ("gen_fam",):
            con.execute(f"DROP TABLE IF EXISTS {name}")
        con.execute("DROP VIEW IF EXISTS read_families")
        con.unregister("gen_slots")
        con.unregister("gen_villages")
        if own:
            con.close()
        else:
            con.execute("SET preserve_insertion_order = false")
        shutil.rmtree(tmp, ignore_errors=True)
    return paths
