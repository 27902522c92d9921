"""Engine parity: the same SQL on DuckDB and on Spark (local mode) gives the same score, percentile and desil
for every family, with one global window and with the two-level ranking a cluster uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from dtsen.ranking import pmt
from dtsen.ranking.engine import model_tables
from dtsen.ranking.engine import pipeline as pl
from dtsen.ranking.engine.duck import DuckDBEngine, duckdb_connect, sql_string
from dtsen.ranking.engine.spark import SparkEngine
from dtsen.ranking.engine.synthetic import synthetic_raw_families
from dtsen.ranking.models import RankingResult
from dtsen.ranking.services import ranking_run
from tests.markers import DATABASE_INDEPENDENT
from tests.ranking import conftest_run as fx

pytestmark = [pytest.mark.spark, pytest.mark.slow]

ranker = fx.ranker
synth_dir = fx.synth_dir
work_dir = fx.work_dir


@pytest.fixture(scope="module")
def spark() -> Any:
    return fx.spark_or_skip()


@DATABASE_INDEPENDENT
def test_duckdb_and_spark_give_identical_desil_for_100k_families(spark: Any, tmp_path: Path) -> None:
    # given the features of 100,000 synthetic families, written once as Parquet
    model = pmt.load_default_model()
    tables = model_tables(model)
    con = duckdb_connect(memory_limit="2GB")
    raw = synthetic_raw_families(con, families=100_000, seed=42, path=tmp_path / "raw.parquet")
    con.execute(
        f"CREATE OR REPLACE TEMPORARY VIEW raw_families AS SELECT * FROM read_parquet({sql_string(raw)})"
    )
    pl.features_prepare(con, model)
    features = pl.features_write(con, tmp_path / "features")
    # when DuckDB ranks them, and Spark ranks them with one window and with two levels
    duck = pl.score_and_rank(DuckDBEngine(con), tables, out_dir=tmp_path / "duckdb", features_path=features)
    outputs = {
        method: pl.score_and_rank(SparkEngine(spark), tables, out_dir=tmp_path / f"spark_{method}",
                                  method=method, features_path=features)
        for method in ("window", "two_level")
    }  # fmt: skip
    # then every family has the same score, persons before it, percentile and desil on both engines
    for method, out in outputs.items():
        left = sql_string(str(duck.ranked_dir) + "/*.parquet")
        right = sql_string(str(out.ranked_dir) + "/*.parquet")
        row = con.sql(
            "SELECT count(*) AS n, count_if(a.score <> b.score OR a.persons_before <> b.persons_before "
            "OR a.percentile_e4 <> b.percentile_e4 OR a.desil <> b.desil "
            "OR a.group_key <> b.group_key OR a.village_key <> b.village_key) AS differ "
            f"FROM read_parquet({left}) a FULL OUTER JOIN read_parquet({right}) b USING (family_id)"
        ).fetchall()[0]
        assert row == (duck.families, 0), method
        assert out.cut_points == duck.cut_points, method
    assert duck.families > 99_000
    con.close()


@pytest.mark.django_db
def test_a_run_on_spark_stores_the_same_results_as_on_duckdb(
    spark: Any, ranker: Any, synth_dir: Path, work_dir: Path
) -> None:
    # given a registry
    fx.registry_load(synth_dir, limit=400)
    today = timezone.localdate()
    # when it is ranked on DuckDB and then on Spark (two-level)
    duck = ranking_run(actor=ranker, period="2026-Q1", cutoff=today, work_dir=work_dir)
    sp = ranking_run(actor=ranker, period="2026-Q1", cutoff=today, engine="spark", method="two_level",
                     work_dir=work_dir)  # fmt: skip
    # then both runs have the same input hash, cut-points and per-family results
    assert sp.engine_version.startswith("spark ")
    assert sp.input_sha256 == duck.input_sha256
    assert sp.cut_points == duck.cut_points

    def rows(run: Any) -> list[tuple[Any, ...]]:
        return list(RankingResult.objects.filter(run=run).order_by("family_id").values_list(
            "family_id", "score", "percentile", "desil", "predicted_pce"))  # fmt: skip

    assert rows(sp) == rows(duck)
    assert set(RankingResult.objects.filter(run=sp).values_list("previous_desil", flat=True)) <= set(
        range(1, 11)
    )
