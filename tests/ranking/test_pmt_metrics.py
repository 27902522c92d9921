"""Metric definitions, checked on small examples computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtsen.ranking.pmt.evaluate import (
    bottom_share,
    bottom_within,
    coverage_errors,
    evaluate_predictions,
    quota_errors,
    r_squared,
    spearman,
    targeting_errors,
)


def test_confusion_measures_follow_each_papers_definition():
    # given 10 households: 3 poor (0, 1, 2); the PMT targets 0 and 3
    poor = [True, True, True, False, False, False, False, False, False, False]
    targeted = [True, False, False, True, False, False, False, False, False, False]
    # when
    e = targeting_errors(poor, targeted)
    # then TP = 1, FP = 1, FN = 2, TN = 6
    assert (e.tp, e.fp, e.fn, e.tn) == (1, 1, 2, 6)
    assert e.error_rate == pytest.approx(3 / 10)  # Alatas: mis-targeted among all
    assert e.inclusion_error == pytest.approx(1 / 7)  # Alatas: non-poor who receive / non-poor
    assert e.exclusion_error == pytest.approx(2 / 3)  # Alatas: poor who do not receive / poor
    assert e.ier == pytest.approx(1 / 2)  # Brown: targeted who are not poor / targeted
    assert e.eer == pytest.approx(2 / 3)  # Brown: poor not targeted / poor


def test_undefined_rate_is_none_in_json():
    e = targeting_errors([False, False], [True, False])
    assert math.isnan(e.exclusion_error)
    assert e.to_dict()["exclusion_error"] is None
    assert e.to_dict()["inclusion_error"] == pytest.approx(0.5)


def test_coverage_uses_bottom_share_of_actual_and_of_predicted():
    # given consumption 1..10 and predictions that swap households 3 and 4
    actual = np.arange(1.0, 11.0)
    predicted = np.array([1, 2, 4, 3, 5, 6, 7, 8, 9, 10], dtype=float)
    # when coverage 30 %: poor = {0, 1, 2}; targeted = lowest 3 predictions = {0, 1, 3}
    e = coverage_errors(actual, predicted, 0.3)
    # then one poor household is excluded and one non-poor included
    assert (e.tp, e.fp, e.fn, e.tn) == (2, 1, 1, 6)
    assert e.error_rate == pytest.approx(0.2)
    assert e.inclusion_error == pytest.approx(1 / 7)
    assert e.exclusion_error == pytest.approx(1 / 3)
    assert e.ier == e.eer == pytest.approx(1 / 3)


def test_bottom_share_rounds_half_up_and_breaks_ties_by_position():
    assert bottom_share([5, 1, 1, 3], 0.25).tolist() == [False, True, False, False]
    assert bottom_share(np.arange(10), 0.25).sum() == 3  # 2.5 rounds up
    assert bottom_share(np.arange(10), 0.0).sum() == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=5, max_size=60, unique=True),
    st.integers(0, 10_000),
    st.sampled_from([0.1, 0.2, 0.3, 0.4]),
)
def test_fixed_coverage_equal_to_poverty_rate_gives_ier_equal_eer(actual, seed, coverage):
    # given any consumption and a noisy prediction of it
    y = np.array(actual)
    pred = y + np.random.default_rng(seed).normal(size=len(y))
    # when the poverty rate equals the coverage
    e = coverage_errors(y, pred, coverage)
    # then false positives equal false negatives (Brown's TER) and error rate = 2 c EER
    assert e.fp == e.fn
    if e.tp + e.fn:
        assert e.ier == pytest.approx(e.eer)
        k = e.tp + e.fn
        assert e.error_rate == pytest.approx(2 * k / len(y) * e.eer)


def test_quota_within_village_and_poverty_line():
    # given two villages of 4; quota 1 in village a, 2 in village b; line 100
    consumption = [50, 150, 80, 300, 90, 95, 200, 250]
    predicted = [3, 1, 2, 4, 1, 5, 2, 3]
    groups = ["a"] * 4 + ["b"] * 4
    quota = [1] * 4 + [2] * 4
    # when
    e = quota_errors(consumption, predicted, poverty_line=100, groups=groups, quota=quota)
    # then a targets household 1 (non-poor); b targets households 4 and 6
    expected = [False, True, False, False, True, False, True, False]
    assert bottom_within(predicted, groups, quota).tolist() == expected
    # poor: 0, 2 (a); 4, 5 (b) -> TP = {4}, FP = {1, 6}, FN = {0, 2, 5}
    assert (e.tp, e.fp, e.fn, e.tn) == (1, 2, 3, 2)
    assert e.error_rate == pytest.approx(5 / 8)


def test_r_squared_and_spearman_by_hand():
    assert r_squared([1, 2, 3], [1, 2, 2]) == pytest.approx(0.5)  # SSres 1, SStot 2
    assert r_squared([1, 2, 3], [2, 2, 2]) == pytest.approx(0.0)
    assert r_squared([1, 2, 3], [3, 2, 1]) == pytest.approx(-3.0)  # out of sample it can be negative
    assert spearman([1, 2, 3, 4], [10, 20, 30, 1000]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)


def test_evaluation_json_has_documented_keys():
    y = np.log(np.arange(1.0, 101.0))
    ev = evaluate_predictions(y, y + np.sin(np.arange(100)))
    data = ev.to_dict()
    assert {"r2", "spearman", "coverage"} <= set(data)
    assert set(data["coverage"]) == {"0.1", "0.2", "0.3", "0.4"}
    for entry in data["coverage"].values():
        assert {"error_rate", "inclusion_error", "exclusion_error", "ier", "eer"} <= set(entry)
