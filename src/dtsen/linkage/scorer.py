"""The person-linkage model scored in Python, one pair at a time, for quick checks (the check at the door).

It evaluates the comparisons of `dtsen.linkage.model` level by level, in order, on rows prepared by
`dtsen.linkage.prepare.linkage_input` (the same normalisation as the batch engines), with SQL's three-valued
logic (a level whose condition is NULL is not taken), and sums the log2 Bayes factors of the levels taken:
the evidence in bits, as `dtsen.linkage.engine.predict` reports it (match weight without the prior).

The m and u of every level are read from the Splink settings built by `model.settings(params)`, so defaults
for levels training left without an estimate are Splink's own. Jaro-Winkler is rapidfuzz's (the algorithm and
prefix weight 0.1 of DuckDB's `jaro_winkler_similarity`). Term-frequency adjustments (exact name, birth place)
apply when frequency tables are given (`tf`: column -> value -> share of non-null rows), as Splink computes
them from its input; without them the level's average u is used.

`tests/linkage/test_door.py` checks that this scorer gives Splink's evidence on real pairs of the synthetic
population, so that a change of `model.py` without a change here fails the suite.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import JaroWinkler

from dtsen.linkage import model as m

Row = Mapping[str, Any]
Tri = bool | None  # SQL three-valued logic: None is NULL
Condition = Callable[[Row, Row], Tri]


def _eq(column: str, column_r: str | None = None) -> Condition:
    right = column_r or column

    def cond(left: Row, other: Row) -> Tri:
        a, b = left.get(column), other.get(right)
        return None if a is None or b is None else a == b

    return cond


def _jw(column: str, threshold: float) -> Condition:
    def cond(left: Row, other: Row) -> Tri:
        a, b = left.get(column), other.get(column)
        if a is None or b is None:
            return None
        return JaroWinkler.similarity(a, b) >= threshold

    return cond


def _longer_than_one(column: str) -> Condition:
    def cond(left: Row, other: Row) -> Tri:
        a, b = left.get(column), other.get(column)
        if a is None or b is None:
            return None
        return len(a) > 1 and len(b) > 1

    return cond


def _and(*parts: Condition) -> Condition:
    def cond(left: Row, other: Row) -> Tri:
        values = [p(left, other) for p in parts]
        if any(v is False for v in values):
            return False
        return None if any(v is None for v in values) else True

    return cond


def _or(*parts: Condition) -> Condition:
    def cond(left: Row, other: Row) -> Tri:
        values = [p(left, other) for p in parts]
        if any(v is True for v in values):
            return True
        return None if any(v is None for v in values) else False

    return cond


def _not(part: Condition) -> Condition:
    def cond(left: Row, other: Row) -> Tri:
        v = part(left, other)
        return None if v is None else not v

    return cond


def _is_null(column: str) -> Condition:
    def cond(left: Row, other: Row) -> Tri:
        return left.get(column) is None or other.get(column) is None

    return cond


def _same_month(left: Row, other: Row) -> Tri:
    a, b = left.get("birth_date"), other.get("birth_date")
    return None if a is None or b is None else a[:7] == b[:7]


def _else(left: Row, other: Row) -> Tri:
    return True


# The levels of each comparison, in the order of `dtsen.linkage.model` (null level first), with a short code used
# for the reasons shown to users. Keep in step with model.py: the Splink-equality test fails otherwise.
_COMPATIBLE = _or(
    _and(_eq("first_word"), _eq("last_initial")),
    _and(_eq("last_word"), _eq("first_initial")),
    _and(_eq("first_word"), _is_null("last_word")),
)
LEVELS: dict[str, list[tuple[str, Condition]]] = {
    "nik": [("null", _is_null("nik")), ("nik_same", _eq("nik")), ("nik_diff", _else)],
    "name": [
        ("null", _is_null("name_norm")),
        ("name_same", _eq("name_norm")),
        ("name_typo", _jw("name_core", 0.95)),
        ("name_sound", _eq("name_phon")),
        ("name_abbrev", _COMPATIBLE),
        ("name_last_typo", _and(_eq("first_initial"), _jw("last_word", 0.9))),
        ("name_other_last", _and(_longer_than_one("last_word"), _not(_jw("last_word", 0.8)))),
        ("name_other_first", _and(_longer_than_one("first_word"), _not(_jw("first_word", 0.8)))),
        ("name_similar", _jw("name_core", 0.85)),
        ("name_diff", _else),
    ],
    "birth_date": [
        ("null", _is_null("birth_date")),
        ("birth_same", _eq("birth_date")),
        ("birth_swap", _eq("birth_date", "birth_swap")),
        ("birth_month", _same_month),
        ("birth_year", _eq("birth_year")),
        ("birth_diff", _else),
    ],
    "residence": [
        ("null", _is_null("village_code")),
        ("village_same", _eq("village_code")),
        ("kec_same", _eq("kec_code")),
        ("kab_same", _eq("kab_code")),
        ("residence_diff", _else),
    ],
    "birth_place": [
        ("null", _is_null("birth_place")),
        ("place_same", _eq("birth_place")),
        ("place_diff", _else),
    ],
    "sex": [("null", _is_null("sex")), ("sex_same", _eq("sex")), ("sex_diff", _else)],
}
# Exact levels with a term-frequency adjustment: comparison -> (level index, column).
TF_LEVELS = {"name": (1, "name_norm"), "birth_place": (1, "birth_place")}


@dataclass(frozen=True)
class _Level:
    code: str
    condition: Condition
    log2_bf: float
    log2_u: float
    tf_column: str | None
    tf_weight: float
    tf_min_u: float


@dataclass
class Score:
    evidence: float  # bits, without the prior
    levels: dict[str, str]  # comparison -> level code taken


class Scorer:
    """The model with trained `params`, scoring one pair of prepared rows at a time."""

    def __init__(self, params: m.ModelParams, tf: Mapping[str, Mapping[str, float]] | None = None) -> None:
        self.params = params
        self.tf = tf or {}
        self.prior_bits = math.log2(params.prior / (1 - params.prior))
        splink_settings = m.settings(params).get_settings("duckdb")
        self._comparisons: list[tuple[str, list[_Level]]] = []
        for comparison in splink_settings.comparisons:
            name = comparison.output_column_name
            ours = LEVELS[name]
            theirs = comparison.comparison_levels
            if len(ours) != len(theirs):
                raise ValueError(f"scorer has {len(ours)} levels of {name!r}, the model {len(theirs)}")
            levels = []
            for index, ((code, condition), level) in enumerate(zip(ours, theirs, strict=True)):
                if level.is_null_level:
                    levels.append(_Level(code, condition, 0.0, 0.0, None, 0.0, 0.0))
                    continue
                tf_column = TF_LEVELS[name][1] if TF_LEVELS.get(name, (None,))[0] == index else None
                if bool(tf_column) != bool(level._has_tf_adjustments):
                    raise ValueError(f"term-frequency levels of {name!r} differ from the model")
                levels.append(_Level(
                    code, condition, level._log2_bayes_factor, math.log2(float(level.u_probability or 1.0)), tf_column,
                    float(level._tf_adjustment_weight or 0.0), float(level._tf_minimum_u_value or 0.0),
                ))
            self._comparisons.append((name, levels))

    def _tf_bits(self, level: _Level, left: Row, right: Row) -> float:
        if level.tf_column is None or not level.tf_weight:
            return 0.0
        table = self.tf.get(level.tf_column)
        if not table:
            return 0.0
        tf_l = table.get(left.get(level.tf_column))  # type: ignore[arg-type]
        tf_r = table.get(right.get(level.tf_column))  # type: ignore[arg-type]
        values = [v for v in (tf_l, tf_r) if v is not None]
        if not values:
            return 0.0
        return level.tf_weight * (level.log2_u - math.log2(max(*values, level.tf_min_u)))

    def score(self, left: Row, right: Row) -> Score:
        """The evidence that prepared rows `left` and `right` are one person. Splink orders a pair by its ids
        (left the smaller); only the swapped-date level looks at the order, and it is symmetric."""
        total = 0.0
        taken: dict[str, str] = {}
        for name, levels in self._comparisons:
            for level in levels:
                if level.condition(left, right) is True:
                    total += level.log2_bf + self._tf_bits(level, left, right)
                    taken[name] = level.code
                    break
        return Score(total, taken)
