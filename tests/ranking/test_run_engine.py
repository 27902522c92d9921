"""The scoring and ranking engine on synthetic engine input (no database): exact integer scores equal to the
model's decimal scoring, person-weighted desil shares, one- and two-level ranking, not-rankable families."""

from __future__ import annotations

import dataclasses
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from dtsen.ranking import pmt
from dtsen.ranking.engine import ModelUnsupported, desil_from_cut_points, model_tables
from dtsen.ranking.engine import pipeline as pl
from dtsen.ranking.engine.duck import DuckDBEngine, duckdb_connect, sql_string
from dtsen.ranking.engine.synthetic import synthetic_raw_families
from dtsen.ranking.pmt import LinearCoefficients


def _engine_run(raw: Path, out: Path, *, method: str = "window") -> tuple[pl.RankOutput, DuckDBEngine]:
    con = duckdb_connect(memory_limit="2GB", temp_directory=out / "spill")
    con.execute(
        f"CREATE OR REPLACE TEMPORARY VIEW raw_families AS SELECT * FROM read_parquet({sql_string(raw)})"
    )
    model = pmt.load_default_model()
    pl.features_prepare(con, model)
    engine = DuckDBEngine(con)
    return pl.score_and_rank(engine, model_tables(model), out_dir=out, method=method), engine


def _ranked(engine: DuckDBEngine, rank: pl.RankOutput) -> list[dict]:
    return engine.fetch(
        f"SELECT * FROM read_parquet({sql_string(str(rank.ranked_dir) + '/*.parquet')}) ORDER BY family_code"
    ).to_pylist()


@pytest.fixture(scope="module")
def raw_100k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("raw100k") / "raw.parquet"
    con = duckdb_connect()
    synthetic_raw_families(con, families=100_000, seed=3, path=path)
    con.close()
    return path


def test_one_level_and_two_level_ranking_give_the_same_desil(raw_100k: Path, tmp_path: Path) -> None:
    # given the same 100k families ranked with one global window and with the two-level formulation
    window, engine = _engine_run(raw_100k, tmp_path / "w", method="window")
    two_level, _ = _engine_run(raw_100k, tmp_path / "t", method="two_level")
    # then every family has the same persons_before, desil and percentile, and the cut-points agree
    rows = engine.fetch(
        f"SELECT count(*) AS n, count_if(a.desil <> b.desil OR a.persons_before <> b.persons_before "
        f"OR a.percentile_e4 <> b.percentile_e4 OR a.score <> b.score) AS differ "
        f"FROM read_parquet({sql_string(str(window.ranked_dir) + '/*.parquet')}) a "
        f"JOIN read_parquet({sql_string(str(two_level.ranked_dir) + '/*.parquet')}) b USING (family_id)"
    ).to_pylist()[0]
    assert rows == {"n": window.families, "differ": 0}
    assert window.cut_points == two_level.cut_points


def test_two_level_ranking_in_bucket_groups_gives_the_same_desil(raw_100k: Path, tmp_path: Path) -> None:
    # given the one-window ranking, and the two-level ranking run one group of buckets at a time (how the
    # national job fits in DuckDB's memory limit)
    window, engine = _engine_run(raw_100k, tmp_path / "w")
    chunked = pl.rank_chunked(engine, model_tables(pmt.load_default_model()), out_dir=tmp_path / "c", chunks=3)
    assert len(list(chunked.ranked_dir.glob("*.parquet"))) == 3
    # then every family has the same persons before it, desil and percentile
    rows = engine.fetch(
        f"SELECT count(*) AS n, count_if(a.desil <> b.desil OR a.persons_before <> b.persons_before "
        f"OR a.percentile_e4 <> b.percentile_e4 OR a.score <> b.score) AS differ "
        f"FROM read_parquet({sql_string(str(window.ranked_dir) + '/*.parquet')}) a "
        f"JOIN read_parquet({sql_string(str(chunked.ranked_dir) + '/*.parquet')}) b USING (family_id)"
    ).to_pylist()[0]
    assert rows == {"n": window.families, "differ": 0}
    # and the results written part by part give the same cut-points
    pl.previous_empty(engine.con)
    results = pl.results_write(engine.con, chunked, tmp_path / "results")
    assert pl.results_summary(engine.con, chunked, results).cut_points == window.cut_points


def test_sql_score_is_the_models_exact_decimal_score(raw_100k: Path, tmp_path: Path) -> None:
    # given the ranked output and the raw covariates of a sample of families from every region group
    rank, engine = _engine_run(raw_100k, tmp_path)
    model = pmt.load_default_model()
    sample = engine.fetch(
        f"SELECT r.*, k.score, {model_tables(model).group_names_sql('k.group_key')} AS region_group "
        f"FROM read_parquet({sql_string(raw_100k)}) r "
        f"JOIN read_parquet({sql_string(str(rank.ranked_dir) + '/*.parquet')}) k USING (family_id) "
        "WHERE r.family_id % 997 = 0 "
        "OR substr(r.village_code, 1, 2) IN ('12', '33', '73') AND r.family_id % 4001 = 0"
    ).to_pylist()
    assert {row["region_group"] for row in sample} >= {"pooled", "12", "33", "73"}
    for row in sample:
        province = int(row["village_code"][:2])
        raw = {**row, "province": province}
        # then the integer SQL score is exactly the decimal score of the PMT core, x 10^12
        expected = model.score_decimal(raw, province)
        assert Decimal(row["score"]).scaleb(-rank.score_scale) == expected, row["family_code"]
        assert row["region_group"] == model.group_for(province)


def test_desil_from_cut_points_reproduces_every_desil(raw_100k: Path, tmp_path: Path) -> None:
    # given a ranking and its cut-points (upper score and tie-breaking family code per desil)
    rank, engine = _engine_run(raw_100k, tmp_path)
    # then applying the cut-points to each family's (score, family_code) gives back its desil: this is how a
    # provisional desil is computed between runs
    for row in _ranked(engine, rank)[::37]:
        assert desil_from_cut_points(row["score"], row["family_code"], rank.cut_points) == row["desil"]


def test_not_rankable_families_get_no_desil(raw_100k: Path, tmp_path: Path) -> None:
    rank, engine = _engine_run(raw_100k, tmp_path)
    out = tmp_path / "nr"
    counts = pl.not_rankable_write(engine.con, out)
    # the generator leaves ~0.2 % without a condition snapshot and ~0.05 % without members
    assert counts["no_condition"] > 100
    assert counts["no_members"] > 20
    overlap = engine.fetch(
        f"SELECT count(*) AS n FROM read_parquet({sql_string(str(out) + '/*.parquet')}) n "
        f"JOIN read_parquet({sql_string(str(rank.ranked_dir) + '/*.parquet')}) r USING (family_id)"
    ).to_pylist()[0]["n"]
    assert overlap == 0
    # every family is either ranked or listed as not rankable, never both, never dropped
    assert rank.families + counts["families"] == 100_000


def test_missing_or_undefined_feature_is_reported_with_its_name(tmp_path: Path) -> None:
    # given three families: complete, one without the head's age, one whose ratio feature divides by zero
    con = duckdb_connect()
    raw = tmp_path / "raw.parquet"
    synthetic_raw_families(con, families=50, seed=5, path=raw)
    con.execute(
        f"CREATE OR REPLACE TEMPORARY VIEW raw_families AS SELECT * REPLACE ("
        f"CASE WHEN family_id = 1 THEN NULL ELSE hhage END AS hhage, "
        f"CASE WHEN family_id = 2 THEN 0 ELSE eschild END AS eschild, "
        f"true AS has_condition, greatest(hhsize, 1) AS hhsize) FROM read_parquet({sql_string(raw)})"
    )
    base = pmt.load_default_model()
    data = base.to_dict()
    data["spec"]["features"].append(
        {
            "name": "age04_per_eschild",
            "transform": "ratio",
            "columns": ["age04", "eschild"],
            "label_id": "rasio",
            "label_en": "ratio",
        }
    )
    for coefs in [data["linear"]["pooled"], *data["linear"]["groups"].values()]:
        coefs["coefficients"]["age04_per_eschild"] = "0.000000"
    data["linear"]["feature_names"].append("age04_per_eschild")
    data["linear"]["feature_means"]["age04_per_eschild"] = "0.000000"
    model = pmt.PmtModel.from_dict(data)
    # when the features are prepared
    pl.features_prepare(con, model)
    rankable = dict(con.sql("SELECT family_id, rankable FROM features_all WHERE family_id IN (1, 2)").fetchall())
    reasons = con.sql("SELECT family_id, reason, detail FROM not_rankable WHERE family_id IN (1, 2)").fetchall()
    # then neither is rankable, and the reason names the missing input and the undefined feature
    assert rankable == {1: False, 2: False}
    assert sorted(reasons) == [(1, "missing_feature", "hhage"), (2, "undefined_feature", "age04_per_eschild")]
    con.close()


def test_a_tree_model_or_an_inexact_coefficient_is_refused() -> None:
    model = pmt.load_default_model()
    with pytest.raises(ModelUnsupported):
        model_tables(dataclasses.replace(model, linear=None, kind=pmt.KIND_BOOSTING))
    assert model.linear is not None
    pooled = model.linear.pooled
    bad = LinearCoefficients(
        pooled.intercept, {**pooled.coefficients, "tfloor": Decimal("0.0000001")}, pooled.n
    )
    with pytest.raises(ModelUnsupported):
        model_tables(dataclasses.replace(model, linear=dataclasses.replace(model.linear, pooled=bad)))
    huge = LinearCoefficients(
        pooled.intercept, {**pooled.coefficients, "tfloor": Decimal("100000.0")}, pooled.n
    )
    with pytest.raises(ModelUnsupported):
        model_tables(dataclasses.replace(model, linear=dataclasses.replace(model.linear, pooled=huge)))


def test_each_desil_holds_ten_percent_of_persons_on_a_million_families(tmp_path: Path) -> None:
    # given a synthetic registry input of 1,000,000 families (~3.8 M persons) in Parquet
    raw = tmp_path / "raw.parquet"
    con = duckdb_connect()
    synthetic_raw_families(con, families=1_000_000, seed=1, path=raw)
    con.close()
    # when it is ranked twice
    first, _engine = _engine_run(raw, tmp_path / "a")
    second, _ = _engine_run(raw, tmp_path / "b")
    # then every desil holds 10 % +- 0.1 % of the persons ranked
    total = first.persons
    assert total > 3_500_000
    assert [c["desil"] for c in first.cut_points] == list(range(1, 11))
    for cp in first.cut_points:
        assert abs(cp["persons"] / total - 0.10) <= 0.001, cp
    # and the same input gives byte-identical results
    assert first.cut_points == second.cut_points
    digest = [
        hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (first.ranked_dir / "part-00000.parquet", second.ranked_dir / "part-00000.parquet")
    ]
    assert digest[0] == digest[1]
