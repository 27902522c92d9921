"""Engine parity for eligibility: the same SQL (engine.py) on DuckDB and on Spark (local mode) writes the same
result rows - program, ids, outcome, reason, queue and waiting numbers, amount, components - for ~20k
synthetic families (`dtsen.programs.synthetic`, with quotas, so waiting lists and overlap are exercised)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dtsen.programs.engine import RESULT_COLUMNS, eligibility_compute
from dtsen.programs.rules import rules_default
from dtsen.programs.synthetic import synthetic_inputs
from dtsen.ranking.engine.base import parquet_glob
from dtsen.ranking.engine.duck import DuckDBEngine, duckdb_connect, sql_string
from dtsen.ranking.engine.spark import SparkEngine
from tests.markers import DATABASE_INDEPENDENT
from tests.ranking import conftest_run as fx

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def spark() -> Any:
    return fx.spark_or_skip()


@DATABASE_INDEPENDENT
def test_duckdb_and_spark_decide_every_program_identically_for_20k_families(spark: Any, tmp_path: Path) -> None:
    # given the four inputs of 20,000 synthetic families
    inputs = synthetic_inputs(tmp_path / "inputs", 20_000, 3)
    rules = rules_default()
    con = duckdb_connect(memory_limit="2GB", threads=2, temp_directory=tmp_path / "duckdb.tmp")
    # when both engines decide every program
    duck = eligibility_compute(DuckDBEngine(con), inputs, rules, tmp_path / "duckdb")
    sp = eligibility_compute(SparkEngine(spark), inputs, rules, tmp_path / "spark")
    # then they wrote the same rows (as multisets, every column)
    cols = ", ".join(RESULT_COLUMNS)
    a = f"SELECT {cols} FROM read_parquet({sql_string(parquet_glob(duck))})"
    b = f"SELECT {cols} FROM read_parquet({sql_string(parquet_glob(sp))})"
    n_duck, n_spark = (con.sql(f"SELECT count(*) FROM ({q})").fetchall()[0][0] for q in (a, b))
    only_duck = con.sql(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})").fetchall()[0][0]
    only_spark = con.sql(f"SELECT count(*) FROM ({b} EXCEPT ALL {a})").fetchall()[0][0]
    assert (n_duck, only_duck, only_spark) == (n_spark, 0, 0)
    # and the comparison covered every program and outcome, waiting lists included
    outcomes = set(con.sql(f"SELECT DISTINCT program, outcome FROM ({a})").fetchall())
    assert {p.code for p in rules.programs} == {p for p, _ in outcomes}
    assert {("pkh", "daftar_tunggu"), ("sembako", "daftar_tunggu"), ("blt_desa", "terpilih")} <= outcomes
    assert n_duck > 60_000
    con.close()
