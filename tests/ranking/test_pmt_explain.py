"""Why this desil: contributions sum to the score (exactly for linear), labels in Indonesian."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.tree import DecisionTreeRegressor

from dtsen.ranking import pmt
from dtsen.ranking.pmt.explain import MINUS, signed
from dtsen.ranking.pmt.trees import Tree, TreeEnsemble, tree_shap


def test_linear_contributions_sum_exactly_to_score_minus_baseline(default_model, alatas_frame):
    for family in alatas_frame.sample(50, random_state=2).to_dict("records"):
        explanation = pmt.explain_family(default_model, family)
        assert explanation.exact
        assert explanation.difference() == explanation.total()  # Decimal: exact
        assert explanation.score == default_model.score_decimal(family, family["province"])
        grouped = explanation.grouped(default_model.spec)
        assert grouped.total() == explanation.total()
        assert len(grouped.contributions) < len(explanation.contributions)


def test_contribution_is_coefficient_times_distance_from_the_average(default_model, alatas_frame):
    # given a family of Jawa Tengah with an earth floor
    family = alatas_frame[(alatas_frame["tfloor"] == 0) & (alatas_frame["province"] == 33)].iloc[0].to_dict()
    # when explained
    explanation = pmt.explain_family(default_model, family)
    entry = next(c for c in explanation.contributions if c.name == "tfloor")
    # then the earth-floor line uses the 'off' label and the region's coefficient
    coef = default_model.decimal_coefficients("33").coefficients["tfloor"]
    mean = default_model.linear.feature_means["tfloor"]
    assert entry.contribution == coef * (Decimal(0) - mean)
    assert entry.label_id == "lantai tanah"
    assert entry.text("id") == f"lantai tanah: {signed(entry.contribution)}"
    assert explanation.region_group == "33"


def test_explanations_read_like_the_issue():
    assert signed(Decimal("-0.1234")) == f"{MINUS}0.12"
    assert signed(0.05) == "+0.05"
    assert signed(-0.0001) == "0.00"
    contribution = pmt.Contribution(
        "hhsize", Decimal("6"), Decimal("-0.25"), "jumlah anggota rumah tangga", "hh size"
    )
    assert contribution.text("id") == f"jumlah anggota rumah tangga (6): {MINUS}0.25"


def test_grouped_dummies_show_the_active_category(default_model, alatas_frame):
    family = alatas_frame[alatas_frame["hheduc3"] == 1].iloc[0].to_dict()
    grouped = pmt.explain_family(default_model, family).grouped(default_model.spec)
    entry = next(c for c in grouped.contributions if c.name == "hheduc")
    assert entry.label_id == "pendidikan kepala rumah tangga SMP"
    none = alatas_frame[(alatas_frame[["hheduc2", "hheduc3", "hheduc4"]] == 0).all(axis=1)].iloc[0].to_dict()
    entry = next(
        c
        for c in pmt.explain_family(default_model, none).grouped(default_model.spec).contributions
        if c.name == "hheduc"
    )
    assert entry.label_id == "pendidikan kepala rumah tangga di bawah SD"


def _tree_of(model) -> Tree:
    t = model.tree_
    return Tree(
        left=np.asarray(t.children_left),
        right=np.asarray(t.children_right),
        feature=np.where(t.children_left >= 0, t.feature, -1),
        threshold=np.where(t.children_left >= 0, t.threshold, 0.0),
        value=t.value[:, 0, 0].copy(),
        cover=t.weighted_n_node_samples.copy(),
    )


def _conditional_expectation(tree: Tree, x, known: set[int], node: int = 0) -> float:
    """E[f(x) | x_known], following the training cover at unknown features (TreeSHAP's game)."""
    if tree.left[node] < 0:
        return float(tree.value[node])
    feature = int(tree.feature[node])
    left, right = int(tree.left[node]), int(tree.right[node])
    if feature in known:
        return _conditional_expectation(tree, x, known, left if x[feature] <= tree.threshold[node] else right)
    return (
        tree.cover[left] * _conditional_expectation(tree, x, known, left)
        + tree.cover[right] * _conditional_expectation(tree, x, known, right)
    ) / tree.cover[node]


def test_tree_shap_equals_brute_force_shapley_values():
    # given a depth-5 tree on 5 features
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(300, 5)).astype(float)
    y = x[:, 0] * x[:, 1] + np.sin(x[:, 2]) + rng.normal(scale=0.1, size=300)
    tree = _tree_of(DecisionTreeRegressor(max_depth=5, random_state=0).fit(x, y))
    m = 5
    for row in x[:4]:
        # when TreeSHAP runs
        phi = np.zeros(m)
        tree_shap(tree, row, phi)
        # then it equals the Shapley formula over all 2^4 coalitions of the other features
        brute = np.zeros(m)
        for i in range(m):
            others = [j for j in range(m) if j != i]
            for k in range(m):
                for subset in itertools.combinations(others, k):
                    weight = math.factorial(k) * math.factorial(m - k - 1) / math.factorial(m)
                    with_i = _conditional_expectation(tree, row, {*subset, i})
                    without = _conditional_expectation(tree, row, set(subset))
                    brute[i] += weight * (with_i - without)
        np.testing.assert_allclose(phi, brute, atol=1e-12)
        assert phi.sum() == pytest.approx(
            _conditional_expectation(tree, row, set(range(m))) - tree.expected_value()
        )


def test_ensemble_matches_sklearn_and_shap_sums_to_prediction():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 4))
    y = x[:, 0] - 2 * (x[:, 1] > 0) + x[:, 2] * x[:, 3]
    gbr = GradientBoostingRegressor(n_estimators=30, max_depth=3, subsample=0.8, random_state=0).fit(x, y)
    ensemble = TreeEnsemble.from_sklearn(gbr, ["a", "b", "c", "d"], x)
    np.testing.assert_allclose(ensemble.predict(x), gbr.predict(x), atol=1e-12)
    for row in x[:5]:
        phi = ensemble.shap_values(row)
        assert phi.sum() + ensemble.expected_value() == pytest.approx(
            ensemble.predict(row[None])[0], abs=1e-10
        )
