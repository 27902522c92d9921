"""Eligibility of every program in one batch, on the ranking's engines (DuckDB or Spark, same SQL text).

Inputs (Parquet, built by `inputs.py` from the register as of a date and a ranking run, or synthetic):

families    family_id, village_code, regency_code, desil, percentile, active, dup_family
persons     person_id, family_id, age, sex, pregnant, severe_disability, school_level, alive, nik_ok,
            matched, dup_nik, is_pengurus
exclusions  person_id, family_id, category            (active exclusion flags as of the date)
quotas      program, regency_code, quota              (absent: no quota)

Programs are decided one after the other in priority order (rules.by_priority). For each: the candidates are
the families (persons, for a person program) whose desil is in the program's range; each goes through the
checks below, and the first that fails is its reason; the valid ones are ordered by desil, percentile and id
within their kabupaten/kota and selected up to the quota; the rest wait, numbered.

family checks   active; a living member; a living pengurus or an adult member (>= pengurus_min_age) who can
                take over; no member in an excluded category; KK not registered twice; no member's NIK in
                another active family; the pengurus' NIK valid and matched (family programs)
person checks   the person's NIK not in another family, valid, matched (person programs)
program checks  a component (PKH) or the target group (pupils); not already selected for a program of a
                forbidden pair that decides earlier (family or person level, as the pair says)

Amounts are per tahap: PKH = the yearly amounts of the family's components (each capped per family, at most
`max_components` counted, the largest first) / tahap per year; monthly programs = monthly x months per tahap;
PIP = the yearly amount of the pupil's level / tahap per year. Every statement is plain SQL that DuckDB and
Spark both run (no engine-specific function); intermediate results are written to Parquet once, and the
programs' result files are moved into `results/` (not rewritten).
"""
# ruff: noqa: S608
# (SQL text built from rule values that rules.py checked: program codes are identifiers, amounts integers,
# categories from a fixed list. No citizen value enters it.)

from __future__ import annotations

import shutil
from pathlib import Path

from dtsen.programs.rules import TAHAP_PER_YEAR, ProgramRule, RuleSet
from dtsen.ranking.engine.base import BatchEngine

INPUTS = ("families", "persons", "exclusions", "quotas")
RESULT_COLUMNS = ("program", "family_id", "person_id", "regency_code", "village_code", "desil", "percentile",
                  "outcome", "reason", "queue_no", "waiting_no", "amount", "components")
_COMPONENT_TEST = {  # who -> the person condition (first match wins: one component per person)
    "pregnant": "p.pregnant AND p.sex = 'P'",
    "severe_disability": "p.severe_disability",
    "age_70_plus": "p.age >= 70",
    "school_sd": "p.school_level = 'sd' AND p.age BETWEEN 6 AND 21",
    "school_smp": "p.school_level = 'smp' AND p.age BETWEEN 6 AND 21",
    "school_sma": "p.school_level = 'sma' AND p.age BETWEEN 6 AND 21",
    "age_0_6": "p.age <= 6",
}
_TARGET = {
    "everyone": "TRUE",
    "pupil_6_21": "p.school_level IN ('sd', 'smp', 'sma') AND p.age BETWEEN 6 AND 21",
    "pupil_6_18": "p.school_level IN ('sd', 'smp', 'sma') AND p.age BETWEEN 6 AND 18",
}


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def family_checks_sql(rules: RuleSet) -> str:
    """One row per family with its aggregates and the first failing family check (NULL: none)."""
    cats = ", ".join(_q(c) for c in rules.exclusion_categories) or "''"
    age = rules.pengurus_min_age
    return f"""SELECT f.family_id, f.village_code, f.regency_code, f.desil, f.percentile,
       CASE WHEN NOT f.active THEN 'keluarga_tidak_aktif'
            WHEN COALESCE(a.alive_n, 0) = 0 THEN 'meninggal'
            WHEN COALESCE(a.pengurus_n, 0) = 0 AND COALESCE(a.adult_n, 0) = 0 THEN 'pengurus_tidak_ada'
            WHEN COALESCE(x.excluded_n, 0) > 0 THEN 'kategori_pengecualian'
            WHEN f.dup_family THEN 'data_ganda_keluarga'
            WHEN COALESCE(a.dupnik_n, 0) > 0 THEN 'data_ganda_nik'
            WHEN COALESCE(a.badnik_n, 0) > 0 THEN 'nik_tidak_valid'
            WHEN COALESCE(a.unmatched_n, 0) > 0 THEN 'tidak_padan_dukcapil'
       END AS family_reason,
       CASE WHEN NOT f.active THEN 'keluarga_tidak_aktif'
            WHEN COALESCE(x.excluded_n, 0) > 0 THEN 'kategori_pengecualian'
            WHEN f.dup_family THEN 'data_ganda_keluarga'
       END AS household_reason
FROM families f
LEFT JOIN (
    SELECT family_id,
           SUM(CASE WHEN alive THEN 1 ELSE 0 END) AS alive_n,
           SUM(CASE WHEN alive AND is_pengurus THEN 1 ELSE 0 END) AS pengurus_n,
           SUM(CASE WHEN alive AND age >= {age} THEN 1 ELSE 0 END) AS adult_n,
           SUM(CASE WHEN alive AND dup_nik THEN 1 ELSE 0 END) AS dupnik_n,
           SUM(CASE WHEN alive AND is_pengurus AND NOT nik_ok THEN 1 ELSE 0 END) AS badnik_n,
           SUM(CASE WHEN alive AND is_pengurus AND NOT matched THEN 1 ELSE 0 END) AS unmatched_n
    FROM persons GROUP BY family_id
) a ON a.family_id = f.family_id
LEFT JOIN (
    SELECT e.family_id, COUNT(*) AS excluded_n
    FROM exclusions e JOIN persons ep ON ep.person_id = e.person_id
    WHERE ep.alive AND e.category IN ({cats}) GROUP BY e.family_id
) x ON x.family_id = f.family_id
WHERE f.desil IS NOT NULL"""


def _component_case(program: ProgramRule) -> tuple[str, str, str]:
    """(component of a person, its yearly amount, its cap) as CASE expressions over the program's components."""
    order = [w for w in _COMPONENT_TEST if any(c.who == w for c in program.components)]
    by_who = {c.who: c for c in program.components}
    comp = "CASE " + " ".join(f"WHEN {_COMPONENT_TEST[w]} THEN {_q(by_who[w].code)}" for w in order) + " END"
    annual = "CASE component " + " ".join(f"WHEN {_q(c.code)} THEN {c.annual}" for c in program.components) + " END"
    cap = "CASE component " + " ".join(
        f"WHEN {_q(c.code)} THEN {c.cap if c.cap is not None else 1000}" for c in program.components) + " END"
    return comp, annual, cap


def components_sql(program: ProgramRule) -> str:
    """Per family: the yearly amount of its counted components and how many of each were counted.

    Each component counts up to its cap; of those units at most `max_components` count, the largest yearly
    amounts first (ties by component code). One aggregation, no window: with the components in that order,
    the units counted up to and including component i are u_i = LEAST(max, capped_1 + ... + capped_i), so
    component i counts u_i - u_(i-1)."""
    comp, _, _ = _component_case(program)
    order = sorted(program.components, key=lambda c: (-c.annual, c.code))
    capped = ",\n               ".join(
        f"LEAST(SUM(CASE WHEN component = {_q(c.code)} THEN 1 ELSE 0 END), "
        f"{c.cap if c.cap is not None else 1000}) AS t_{c.code}" for c in order)
    upto = ",\n           ".join(
        f"LEAST({program.max_components}, {' + '.join(f't_{c.code}' for c in order[:i + 1])}) AS u_{c.code}"
        for i, c in enumerate(order))
    taken = {c.code: f"u_{c.code}" + (f" - u_{order[i - 1].code}" if i else "") for i, c in enumerate(order)}
    annual = " + ".join(f"({taken[c.code]}) * {c.annual}" for c in order)
    counts = ",\n       ".join(f"CAST({taken[c.code]} AS BIGINT) AS n_{c.code}" for c in program.components)
    return f"""SELECT family_id, CAST({annual} AS BIGINT) AS annual,
       {counts}
FROM (
    SELECT family_id,
           {upto}
    FROM (
        SELECT family_id,
               {capped}
        FROM (SELECT p.family_id, {comp} AS component FROM persons p WHERE p.alive) pc
        WHERE component IS NOT NULL
        GROUP BY family_id
    ) capped
) upto"""


def _overlap_joins(program: ProgramRule, rules: RuleSet, decided: list[str], level: str) -> tuple[str, str]:
    """LEFT JOINs on the selected units of earlier programs that may not overlap with this one, and the test."""
    joins, tests = [], []
    for o in rules.overlap:
        other = o.b if o.a == program.code else o.a if o.b == program.code else None
        if other is None or other not in decided:
            continue
        if o.level == "person" and level == "family":
            continue  # a person-level pair cannot block a family-unit program
        key = "person_id" if o.level == "person" else "family_id"
        alias = f"ov_{other}"
        joins.append(f"LEFT JOIN (SELECT DISTINCT {key} FROM res_{other} WHERE outcome = 'terpilih') {alias} "
                     f"ON {alias}.{key} = c.{key}")
        tests.append(f"{alias}.{key} IS NOT NULL")
    return "\n".join(joins), " OR ".join(tests) or "FALSE"


def _amount_family(program: ProgramRule) -> str:
    if program.amount_kind == "components":
        return f"CAST(COALESCE(k.annual, 0) / {TAHAP_PER_YEAR} AS BIGINT)"
    if program.amount_kind == "monthly":
        return f"CAST({program.monthly * program.per_tahap_months()} AS BIGINT)"
    return "CAST(0 AS BIGINT)"


def _components_text(program: ProgramRule) -> str:
    if program.amount_kind != "components":
        return "CAST(NULL AS STRING)"
    parts = ", ".join(f"CASE WHEN k.n_{c.code} > 0 THEN concat({_q(c.code + ':')}, CAST(k.n_{c.code} AS STRING)) END"
                      for c in program.components)
    return f"concat_ws(',', {parts})"


def family_program_sql(program: ProgramRule, rules: RuleSet, decided: list[str]) -> str:
    joins, overlap = _overlap_joins(program, rules, decided, "family")
    comp_join = f"LEFT JOIN comp_{program.code} k ON k.family_id = c.family_id" \
        if program.amount_kind == "components" else ""
    no_comp = "k.family_id IS NULL" if program.amount_kind == "components" else "FALSE"
    return f"""SELECT c.family_id, CAST(NULL AS BIGINT) AS person_id, c.regency_code, c.village_code, c.desil,
       c.percentile,
       CASE WHEN c.family_reason IS NOT NULL THEN c.family_reason
            WHEN {no_comp} THEN 'tidak_ada_komponen'
            WHEN {overlap} THEN 'tumpang_tindih'
       END AS reason,
       {_amount_family(program)} AS amount,
       {_components_text(program)} AS components
FROM fam c
{comp_join}
{joins}
WHERE c.desil BETWEEN {program.desil_min} AND {program.desil_max}"""


def _amount_person(program: ProgramRule) -> str:
    if program.amount_kind == "monthly":
        return f"CAST({program.monthly * program.per_tahap_months()} AS BIGINT)"
    if program.amount_kind == "by_level":
        cases = " ".join(f"WHEN {_q(level)} THEN {amount // TAHAP_PER_YEAR}"
                         for level, amount in sorted(program.by_level.items()))
        return f"CAST(CASE p.school_level {cases} ELSE 0 END AS BIGINT)"
    return "CAST(0 AS BIGINT)"


def person_program_sql(program: ProgramRule, rules: RuleSet, decided: list[str]) -> str:
    joins, overlap = _overlap_joins(program, rules, decided, "person")
    return f"""SELECT c.family_id, c.person_id, c.regency_code, c.village_code, c.desil, c.percentile,
       CASE WHEN c.household_reason IS NOT NULL THEN c.household_reason
            WHEN c.dup_nik THEN 'data_ganda_nik'
            WHEN NOT c.nik_ok THEN 'nik_tidak_valid'
            WHEN NOT c.matched THEN 'tidak_padan_dukcapil'
            WHEN {overlap} THEN 'tumpang_tindih'
       END AS reason,
       c.amount,
       CAST(NULL AS STRING) AS components
FROM (
    SELECT f.family_id, p.person_id, f.regency_code, f.village_code, f.desil, f.percentile, f.household_reason,
           p.dup_nik, p.nik_ok, p.matched, {_amount_person(program)} AS amount
    FROM fam f JOIN persons p ON p.family_id = f.family_id
    WHERE p.alive AND f.desil BETWEEN {program.desil_min} AND {program.desil_max} AND ({_TARGET[program.who]})
) c
{joins}"""


def quota_sql(program: ProgramRule, candidates: str) -> str:
    """Number the valid candidates per kabupaten/kota (desil, percentile, ids) and apply the quota. Without a
    quota row the program is unlimited there, unless it `requires_quota` (counted places): then nobody."""
    quota = "COALESCE(q.quota, 0)" if program.requires_quota else "q.quota"
    fits = f"r.queue_no <= {quota}" if program.requires_quota else "(q.quota IS NULL OR r.queue_no <= q.quota)"
    return f"""SELECT {_q(program.code)} AS program, r.family_id, r.person_id, r.regency_code, r.village_code,
       r.desil, r.percentile,
       CASE WHEN r.reason IS NOT NULL THEN 'tidak_terpilih'
            WHEN {fits} THEN 'terpilih'
            ELSE 'daftar_tunggu' END AS outcome,
       CASE WHEN r.reason IS NOT NULL THEN r.reason
            WHEN {fits} THEN CAST(NULL AS STRING)
            ELSE 'kuota_penuh' END AS reason,
       r.queue_no,
       CASE WHEN r.reason IS NULL AND NOT {fits} THEN r.queue_no - {quota} END AS waiting_no,
       CASE WHEN r.reason IS NULL AND {fits} THEN r.amount
            ELSE CAST(0 AS BIGINT) END AS amount,
       CASE WHEN r.reason IS NULL THEN r.components END AS components
FROM (
    SELECT c.*,
           CASE WHEN c.reason IS NULL THEN ROW_NUMBER() OVER (
               PARTITION BY c.regency_code, CASE WHEN c.reason IS NULL THEN 0 ELSE 1 END
               ORDER BY c.desil, c.percentile, c.family_id, c.person_id) END AS queue_no
    FROM ({candidates}) c
) r
LEFT JOIN (SELECT regency_code, quota FROM quotas WHERE program = {_q(program.code)}) q
       ON q.regency_code = r.regency_code"""


def eligibility_compute(engine: BatchEngine, inputs: dict[str, Path], rules: RuleSet, out_dir: Path) -> Path:
    """Decide every program of `rules` over `inputs`; write `results/` (Parquet, RESULT_COLUMNS) under out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in INPUTS:
        engine.register_parquet(name, inputs[name])
    fam = out_dir / "fam"
    engine.write_parquet(family_checks_sql(rules), fam)
    engine.register_parquet("fam", fam)
    decided: list[str] = []
    for program in rules.by_priority():
        if program.unit == "family":
            if program.amount_kind == "components":
                comp = out_dir / f"comp_{program.code}"
                engine.write_parquet(components_sql(program), comp)
                engine.register_parquet(f"comp_{program.code}", comp)
            candidates = family_program_sql(program, rules, decided)
        else:
            candidates = person_program_sql(program, rules, decided)
        res = out_dir / f"res_{program.code}"
        engine.write_parquet(quota_sql(program, candidates), res)
        engine.register_parquet(f"res_{program.code}", res)
        decided.append(program.code)
    # Every res_* holds exactly RESULT_COLUMNS: their files are moved into results/, not read and written again.
    results = out_dir / "results"
    shutil.rmtree(results, ignore_errors=True)
    results.mkdir()
    for code in decided:
        for part in sorted((out_dir / f"res_{code}").glob("*.parquet")):
            part.rename(results / f"{code}-{part.name}")
    return results
