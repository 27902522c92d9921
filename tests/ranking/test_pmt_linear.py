"""Regional linear PMT: shrinkage toward the pooled model, pooled fallback, exact decimal scoring."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

import duckdb
import numpy as np
import pytest

from dtsen.ranking import pmt
from dtsen.ranking.pmt.linear import POOLED, ShrinkageParams, fit_regional_linear


def _two_regions(seed: int = 0):
    """A big region A (slope 1) and a small region B (slope 3) of y = slope * x + noise."""
    rng = np.random.default_rng(seed)
    n_a, n_b = 2000, 40
    x = rng.normal(size=(n_a + n_b, 1))
    regions = ["A"] * n_a + ["B"] * n_b
    slope = np.where(np.array(regions) == "A", 1.0, 3.0)
    y = slope * x[:, 0] + rng.normal(scale=0.5, size=n_a + n_b)
    return x, y, regions


def _slope(shrinkage: float, group: str) -> float:
    x, y, regions = _two_regions()
    model = fit_regional_linear(
        x,
        y,
        regions,
        feature_names=["x"],
        params=ShrinkageParams(shrinkage=shrinkage, min_group_size=10),
        scale=6,
    )
    coefs = model.pooled if group == POOLED else model.groups[group]
    return float(coefs.coefficients["x"])


def test_shrinkage_moves_a_small_regions_coefficients_toward_pooled():
    # given a small region whose own slope (3) differs from the pooled slope (about 1)
    pooled = _slope(0.0, POOLED)
    # when the shrinkage grows
    slopes = [_slope(s, "B") for s in (0.0, 10.0, 40.0, 200.0, 5000.0, math.inf)]
    # then the small region's slope moves monotonically from its own OLS slope to the pooled one
    assert slopes[0] == pytest.approx(3.0, abs=0.3)
    assert pooled == pytest.approx(1.04, abs=0.1)
    distances = [abs(s - pooled) for s in slopes]
    assert all(a > b for a, b in itertools.pairwise(distances[:-1]))
    assert slopes[-1] == pytest.approx(pooled, abs=1e-6)
    # and the big region barely moves at a moderate shrinkage (2000 rows vs 40 pseudo-rows)
    assert _slope(40.0, "A") == pytest.approx(_slope(0.0, "A"), abs=0.01)


def test_unknown_region_and_small_group_use_the_pooled_model():
    x, y, regions = _two_regions()
    model = fit_regional_linear(
        x, y, regions, feature_names=["x"], params=ShrinkageParams(min_group_size=100), scale=6
    )
    assert set(model.groups) == {"A"}  # B has 40 < 100 rows: no own model
    assert model.group_for("B") == POOLED
    assert model.group_for("99") == POOLED
    assert model.group_for(None) == POOLED
    assert model.coefficients_for("B") is model.pooled


def test_region_codes_are_canonical_and_can_be_mapped(default_model):
    lin = default_model.linear
    assert lin.group_for(33) == lin.group_for("33") == lin.group_for(33.0) == "33"
    assert default_model.group_for("91") == POOLED  # Papua: not in the training data
    mapped = type(lin)(lin.feature_names, lin.scale, lin.pooled, lin.groups, lin.feature_means, {"34": "33"})
    assert mapped.group_for("34") == "33"  # e.g. DI Yogyakarta scored with the Jawa Tengah model


def test_coefficients_are_decimal_strings_at_fixed_scale(default_model):
    data = default_model.to_dict()["linear"]
    assert data["scale"] == 6
    for block in [data["pooled"], *data["groups"].values()]:
        numbers = [block["intercept"], *block["coefficients"].values()]
        assert all(isinstance(v, str) and len(v.split(".")[1]) == 6 for v in numbers)
    assert set(data["groups"]) == {"12", "33", "73"}


def test_decimal_scores_reproduce_float_predictions(default_model, alatas_frame):
    # given the shipped model and the survey rows
    rows = alatas_frame.sample(400, random_state=1)
    floats = default_model.predict(rows)
    # when each family is scored in exact decimal arithmetic from its raw values
    decimals = [default_model.score_decimal(r, r["province"]) for r in rows.to_dict("records")]
    # then both agree within 1e-6 (in fact to float precision)
    assert max(abs(float(d) - f) for d, f in zip(decimals, floats, strict=True)) < 1e-9
    assert all(isinstance(d, Decimal) for d in decimals)


def test_rounding_coefficients_to_six_decimals_changes_little(alatas_frame, default_spec):
    data = pmt.training_data(alatas_frame, default_spec)
    fine = fit_regional_linear(
        data.features,
        data.target,
        data.regions,
        feature_names=default_spec.feature_names,
        params=ShrinkageParams(),
        scale=9,
    )
    coarse = fit_regional_linear(
        data.features,
        data.target,
        data.regions,
        feature_names=default_spec.feature_names,
        params=ShrinkageParams(),
        scale=6,
    )
    diff = np.abs(fine.predict(data.features, data.regions) - coarse.predict(data.features, data.regions))
    assert diff.max() < 1e-3


def test_sql_decimal_scoring_matches_python_exactly(default_model, alatas_frame):
    # given the coefficient table and feature values as DECIMAL(18, 6), with one unknown province
    spec = default_model.spec
    rows = alatas_frame.head(200).copy()
    rows.loc[rows.index[:5], "province"] = 91
    values = [spec.feature_values(r) for r in rows.to_dict("records")]
    long = [
        (i, str(r["province"]), name, str(v[name]))
        for i, (r, v) in enumerate(zip(rows.to_dict("records"), values, strict=True))
        for name in spec.feature_names
    ]
    con = duckdb.connect()
    con.execute("CREATE TABLE coef (region_group VARCHAR, term VARCHAR, coefficient DECIMAL(18, 6))")
    con.executemany(
        "INSERT INTO coef VALUES (?, ?, ?)",
        [(c["region_group"], c["term"], c["coefficient"]) for c in default_model.coefficient_rows()],
    )
    con.execute("CREATE TABLE fam (family INTEGER, province VARCHAR, term VARCHAR, value DECIMAL(18, 6))")
    con.executemany("INSERT INTO fam VALUES (?, ?, ?, ?)", long)
    # when DuckDB scores them (region group, else pooled)
    sql = """
        WITH grp AS (
            SELECT DISTINCT f.family, CASE WHEN c.region_group IS NULL THEN 'pooled' ELSE f.province END AS g
            FROM fam f LEFT JOIN (SELECT DISTINCT region_group FROM coef) c ON c.region_group = f.province
        )
        SELECT grp.family,
               (SELECT coefficient FROM coef WHERE region_group = grp.g AND term = '(intercept)')
               + SUM(coef.coefficient * fam.value) AS score
        FROM grp JOIN fam ON fam.family = grp.family
        JOIN coef ON coef.region_group = grp.g AND coef.term = fam.term
        GROUP BY grp.family, grp.g ORDER BY grp.family
    """
    sql_scores = [Decimal(str(s)) for _, s in con.execute(sql).fetchall()]
    # then they equal Python's decimal scores to the last digit
    py_scores = [
        default_model.linear.score_decimal(v, r["province"])
        for r, v in zip(rows.to_dict("records"), values, strict=True)
    ]
    assert sql_scores == py_scores
