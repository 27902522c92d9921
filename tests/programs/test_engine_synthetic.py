"""The eligibility engine (DuckDB) on ~50k synthetic families (`dtsen.programs.synthetic`): the invariants that
must hold whatever the data - no forbidden pair together, nothing for an excluded family, a reason for every
row not selected, waiting numbers 1..n, never more selected than the quota - and the generator's own promises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dtsen.programs.engine import eligibility_compute
from dtsen.programs.rules import rules_default
from dtsen.programs.synthetic import synthetic_inputs
from dtsen.ranking.engine.base import parquet_glob
from dtsen.ranking.engine.duck import DuckDBEngine, duckdb_connect, sql_string
from dtsen.regions.data_files import edition_spec, read_codes

FAMILIES = 50_000
SEED = 7


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    base = tmp_path_factory.mktemp("eligibility-synthetic")
    inputs = synthetic_inputs(base / "inputs", FAMILIES, SEED)
    con = duckdb_connect(memory_limit="2GB", threads=2, temp_directory=base / "duckdb.tmp")
    results = eligibility_compute(DuckDBEngine(con), inputs, rules_default(), base / "work")
    for name, path in inputs.items():
        con.execute(f"CREATE TEMPORARY VIEW in_{name} AS SELECT * FROM read_parquet({sql_string(path)})")
    con.execute(f"CREATE TEMPORARY VIEW r AS SELECT * FROM read_parquet({sql_string(parquet_glob(results))})")
    yield con
    con.close()


def _one(con: Any, query: str) -> Any:
    return con.sql(query).fetchall()[0][0]


def test_no_family_or_person_receives_two_programs_of_a_forbidden_pair(run: Any) -> None:
    rules = rules_default()
    units = {p.code: p.unit for p in rules.programs}
    assert rules.overlap
    for pair in rules.overlap:
        # person pairs compare persons when both programs are for persons; family pairs compare families
        key = "person_id" if pair.level == "person" and units[pair.a] == units[pair.b] == "person" else "family_id"
        both = _one(run, f"""SELECT count(*) FROM
            (SELECT DISTINCT {key} FROM r WHERE program = '{pair.a}' AND outcome = 'terpilih') a
            JOIN (SELECT DISTINCT {key} FROM r WHERE program = '{pair.b}' AND outcome = 'terpilih') b USING ({key})""")
        assert both == 0, (pair.a, pair.b)
        # and the rule did bite: the later program turned candidates away for it
        assert _one(run, f"SELECT count(*) FROM r WHERE program IN ('{pair.a}', '{pair.b}') "
                         "AND reason = 'tumpang_tindih'") > 0, (pair.a, pair.b)


def test_a_family_with_an_excluded_member_receives_nothing(run: Any) -> None:
    cats = ", ".join(f"'{c}'" for c in rules_default().exclusion_categories)
    excluded = f"SELECT DISTINCT family_id FROM in_exclusions WHERE category IN ({cats})"
    assert _one(run, f"SELECT count(*) FROM ({excluded})") > 100
    assert _one(run, f"SELECT count(*) FROM r WHERE family_id IN ({excluded}) "
                     "AND outcome IN ('terpilih', 'daftar_tunggu')") == 0
    assert _one(run, f"SELECT count(*) FROM r WHERE family_id IN ({excluded}) "
                     "AND reason = 'kategori_pengecualian'") > 0


def test_every_row_not_selected_has_a_reason_and_every_selected_row_none(run: Any) -> None:
    assert _one(run, "SELECT count(*) FROM r WHERE outcome <> 'terpilih' AND reason IS NULL") == 0
    assert _one(run, "SELECT count(*) FROM r WHERE outcome = 'terpilih' AND reason IS NOT NULL") == 0
    assert _one(run, "SELECT count(*) FROM r WHERE outcome = 'tidak_terpilih' AND amount <> 0") == 0
    reasons = {row[0] for row in run.sql("SELECT DISTINCT reason FROM r").fetchall()}
    assert {"kuota_penuh", "tumpang_tindih", "kategori_pengecualian", "data_ganda_nik", "nik_tidak_valid",
            "tidak_padan_dukcapil", "keluarga_tidak_aktif", "data_ganda_keluarga",
            "tidak_ada_komponen"} <= reasons


def test_waiting_numbers_run_from_1_to_n_per_regency_and_program(run: Any) -> None:
    groups = run.sql("""SELECT program, regency_code, count(*) AS n, count(DISTINCT waiting_no) AS d,
                               min(waiting_no) AS lo, max(waiting_no) AS hi
                        FROM r WHERE outcome = 'daftar_tunggu' GROUP BY ALL""").fetchall()
    assert {g[0] for g in groups} == {"pkh", "sembako", "sekolah_rakyat"}  # every program with quotas has a list
    assert all(n == d == hi and lo == 1 for _, _, n, d, lo, hi in groups)
    assert _one(run, "SELECT count(*) FROM r WHERE (outcome = 'daftar_tunggu') <> (waiting_no IS NOT NULL)") == 0


def test_selected_count_never_exceeds_the_quota(run: Any) -> None:
    rows = run.sql("""SELECT q.program, q.regency_code, q.quota, count_if(r.outcome = 'terpilih') AS selected,
                             count_if(r.outcome = 'daftar_tunggu') AS waiting
                      FROM in_quotas q LEFT JOIN r ON r.program = q.program AND r.regency_code = q.regency_code
                      GROUP BY ALL""").fetchall()
    assert len(rows) > 800
    assert all(selected <= quota for _, _, quota, selected, _ in rows)
    assert all(selected == quota for _, _, quota, selected, waiting in rows if waiting)  # waiting: quota full
    assert sum(1 for row in rows if row[4]) > len(rows) / 2


def test_the_synthetic_inputs_are_plausible(run: Any) -> None:
    fam = run.sql("""SELECT count(*), count_if(desil IS NULL), min(desil), max(desil),
                            count_if(percentile <= (desil - 1) * 10 OR percentile > desil * 10),
                            count_if(substr(village_code, 1, 5) <> regency_code)
                     FROM in_families""").fetchall()[0]
    assert (fam[0], fam[2], fam[3], fam[4], fam[5]) == (FAMILIES, 1, 10, 0, 0)  # percentile within its desil
    assert 0 < fam[1] < FAMILIES * 0.01  # a few not ranked
    known = read_codes(edition_spec("2025").regions_file, levels=frozenset({2, 4}))
    codes = {r[0] for r in run.sql("SELECT DISTINCT regency_code FROM in_families").fetchall()}
    villages = {r[0] for r in run.sql("SELECT DISTINCT village_code FROM in_families").fetchall()}
    assert len(codes) > 400
    assert codes <= known
    assert villages <= known
    size = run.sql("SELECT avg(n), min(n), max(n) FROM (SELECT count(*) AS n FROM in_persons GROUP BY family_id)"
                   ).fetchall()[0]
    assert 3.6 < size[0] < 4.0
    assert (size[1], size[2]) == (1, 8)
    shares = run.sql("""SELECT avg(CAST(age >= 70 AS INTEGER)), avg(CAST(severe_disability AS INTEGER)),
                               avg(CASE WHEN sex = 'P' AND age BETWEEN 18 AND 45 THEN CAST(pregnant AS INTEGER) END),
                               avg(CASE WHEN age BETWEEN 7 AND 12 THEN CAST(school_level = 'sd' AS INTEGER) END),
                               avg(CASE WHEN age BETWEEN 13 AND 15 THEN CAST(school_level = 'smp' AS INTEGER) END),
                               avg(CASE WHEN age BETWEEN 16 AND 18 THEN CAST(school_level = 'sma' AS INTEGER) END),
                               count_if(pregnant AND (sex <> 'P' OR age NOT BETWEEN 18 AND 45))
                        FROM in_persons""").fetchall()[0]
    assert 0.02 < shares[0] < 0.045  # 70+
    assert 0.007 < shares[1] < 0.015  # severe disability
    assert 0.015 < shares[2] < 0.025  # pregnant among women 18-45
    assert shares[3] > 0.95  # SD enrolment
    assert 0.8 < shares[4] < 0.95  # SMP
    assert 0.6 < shares[5] < 0.85  # SMA
    assert shares[6] == 0
    assert _one(run, "SELECT count(*) FROM (SELECT family_id FROM in_persons GROUP BY 1 "
                     "HAVING count_if(is_pengurus) <> 1)") == 0
    excluded = _one(run, "SELECT count(DISTINCT family_id) FROM in_exclusions") / FAMILIES
    assert 0.003 < excluded < 0.008


def test_the_same_seed_gives_the_same_files(tmp_path: Path) -> None:
    first = synthetic_inputs(tmp_path / "a", 3000, 5)
    again = synthetic_inputs(tmp_path / "b", 3000, 5)
    other = synthetic_inputs(tmp_path / "c", 3000, 6)
    con = duckdb_connect(memory_limit="1GB", threads=2)
    for name in first:
        a, b, c = (sql_string(p[name]) for p in (first, again, other))
        assert _one(con, f"SELECT count(*) FROM (SELECT * FROM read_parquet({a}) EXCEPT ALL "
                         f"SELECT * FROM read_parquet({b}))") == 0, name
        if name in ("families", "persons"):
            assert _one(con, f"SELECT count(*) FROM (SELECT * FROM read_parquet({a}) EXCEPT ALL "
                             f"SELECT * FROM read_parquet({c}))") > 0, name
    con.close()
