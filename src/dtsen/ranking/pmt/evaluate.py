"""Targeting-accuracy metrics of a PMT, each paper's definition written down and implemented as such.

Notation for one evaluation: n households; ``poor`` is the true status, ``targeted`` the status the PMT
gives. TP = poor and targeted, FP = non-poor and targeted, FN = poor and not targeted, TN = non-poor
and not targeted.

* **R²** = 1 - sum (y - ŷ)² / sum (y - mean y)², with y = log per-capita consumption and ŷ the
  prediction (out-of-sample R² can be negative; it is not the squared correlation).
* **Spearman** = Pearson correlation of the ranks of y and ŷ (average ranks for ties).
* **Alatas et al. (2012)**, Tables 2-3:

  - *error rate* = (FP + FN) / n: share of all households mis-targeted;
  - *inclusion error* = FP / (FP + TN): share of the **non-poor** who receive;
  - *exclusion error* = FN / (TP + FN): share of the **poor** who do not receive.

* **Brown, Ravallion & van de Walle (2018)**, Table 2:

  - *IER* = FP / (TP + FP): share of those predicted poor who are not poor (1 - precision);
  - *EER* = FN / (TP + FN): share of the poor predicted non-poor (1 - recall) (= Alatas' exclusion error).
  - With the poverty rate fixed equal to the coverage, FP = FN, so IER = EER; they call it TER.

**Coverage c** (the default evaluation, `coverage_errors`): in one file of n households, the
k = round(c * n) households with the lowest *predicted* consumption are targeted and the k households
with the lowest *actual* per-capita consumption are poor, i.e. "poor" means below the c-quantile of
consumption in that file (ties at the cut are broken by file order). Coverage and poverty rate are
then both c, so FP = FN, IER = EER = exclusion error and error rate = 2 * c * EER.

This is not the paper's design: Alatas et al. call poor those below a regional poverty line (about
Rp 320k; 33-36 % of households) and give a fixed quota (~30 %) of each village the transfer, so there
the poverty rate exceeds the coverage. `quota_errors` reproduces that design for the benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import spearmanr

if TYPE_CHECKING:
    import pandas as pd

    from dtsen.ranking.pmt.artefact import PmtModel

DEFAULT_COVERAGES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4)


@dataclass(frozen=True)
class TargetingErrors:
    """Confusion counts of one targeting, with every paper's error measure as a property."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def error_rate(self) -> float:
        """Alatas et al. (2012): (FP + FN) / n, the share of all households mis-targeted."""
        return _ratio(self.fp + self.fn, self.n)

    @property
    def inclusion_error(self) -> float:
        """Alatas et al. (2012): FP / (FP + TN), the share of the non-poor who receive."""
        return _ratio(self.fp, self.fp + self.tn)

    @property
    def exclusion_error(self) -> float:
        """Alatas et al. (2012): FN / (TP + FN), the share of the poor who do not receive."""
        return _ratio(self.fn, self.tp + self.fn)

    @property
    def ier(self) -> float:
        """Brown et al. (2018): FP / (TP + FP), the share of those predicted poor who are not poor."""
        return _ratio(self.fp, self.tp + self.fp)

    @property
    def eer(self) -> float:
        """Brown et al. (2018): FN / (TP + FN), the share of the poor predicted non-poor."""
        return _ratio(self.fn, self.tp + self.fn)

    def to_dict(self) -> dict[str, Any]:
        return {
            "error_rate": _clean(self.error_rate),
            "inclusion_error": _clean(self.inclusion_error),
            "exclusion_error": _clean(self.exclusion_error),
            "ier": _clean(self.ier),
            "eer": _clean(self.eer),
            "n": self.n,
            "n_poor": self.tp + self.fn,
            "n_targeted": self.tp + self.fp,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
        }


def _ratio(num: int, den: int) -> float:
    return num / den if den else math.nan


def _clean(value: float) -> float | None:
    """JSON-safe: NaN (an undefined rate, e.g. nobody poor) becomes None."""
    return None if math.isnan(value) else value


def targeting_errors(
    poor: Sequence[bool] | np.ndarray, targeted: Sequence[bool] | np.ndarray
) -> TargetingErrors:
    """Confusion counts of a targeting against the true poverty status."""
    p = np.asarray(poor, dtype=bool)
    t = np.asarray(targeted, dtype=bool)
    if p.shape != t.shape:
        raise ValueError("poor and targeted must have the same length")
    return TargetingErrors(
        tp=int((p & t).sum()), fp=int((~p & t).sum()), fn=int((p & ~t).sum()), tn=int((~p & ~t).sum())
    )


def bottom_share(values: Sequence[float] | np.ndarray, share: float) -> np.ndarray:
    """Mask of the k = round(share * n) lowest values (round half up; ties broken by position)."""
    v = np.asarray(values, dtype=float)
    k = math.floor(share * len(v) + 0.5)
    mask = np.zeros(len(v), dtype=bool)
    mask[np.argsort(v, kind="stable")[:k]] = True
    return mask


def bottom_within(
    values: Sequence[float] | np.ndarray, groups: Sequence[Any], quota: Sequence[int]
) -> np.ndarray:
    """Mask of the `quota[i]` lowest values within each group (quota given per row, constant in a group)."""
    v = np.asarray(values, dtype=float)
    g = np.asarray(groups)
    q = np.asarray(quota, dtype=int)
    mask = np.zeros(len(v), dtype=bool)
    for key in np.unique(g):
        rows = np.flatnonzero(g == key)
        k = int(q[rows[0]])
        mask[rows[np.argsort(v[rows], kind="stable")[:k]]] = True
    return mask


def coverage_errors(
    actual: Sequence[float] | np.ndarray, predicted: Sequence[float] | np.ndarray, coverage: float
) -> TargetingErrors:
    """Errors at a coverage: the bottom c of predictions is targeted, the bottom c of actual is poor."""
    return targeting_errors(bottom_share(actual, coverage), bottom_share(predicted, coverage))


def quota_errors(
    consumption: Sequence[float] | np.ndarray,
    predicted: Sequence[float] | np.ndarray,
    *,
    poverty_line: float,
    groups: Sequence[Any],
    quota: Sequence[int],
) -> TargetingErrors:
    """Alatas-style design: poor = consumption below a poverty line; within each village the `quota`
    households with the lowest prediction receive."""
    poor = np.asarray(consumption, dtype=float) < poverty_line
    return targeting_errors(poor, bottom_within(predicted, groups, quota))


def r_squared(actual: Sequence[float] | np.ndarray, predicted: Sequence[float] | np.ndarray) -> float:
    y = np.asarray(actual, dtype=float)
    f = np.asarray(predicted, dtype=float)
    return float(1.0 - ((y - f) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def spearman(actual: Sequence[float] | np.ndarray, predicted: Sequence[float] | np.ndarray) -> float:
    return float(spearmanr(actual, predicted).statistic)


@dataclass(frozen=True)
class Evaluation:
    """Metrics of predictions of log per-capita consumption against the actual values in one file."""

    n: int
    r2: float
    spearman: float
    coverage: dict[float, TargetingErrors] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form printed by ``dtsen pmt evaluate --format json``."""
        return {
            "n": self.n,
            "r2": self.r2,
            "spearman": self.spearman,
            "coverage": {coverage_key(c): {"coverage": c, **e.to_dict()} for c, e in self.coverage.items()},
        }


def coverage_key(coverage: float) -> str:
    """JSON key of a coverage: 0.3 -> '0.3'."""
    return f"{coverage:g}"


def evaluate_predictions(
    actual_log: Sequence[float] | np.ndarray,
    predicted_log: Sequence[float] | np.ndarray,
    coverages: Iterable[float] = DEFAULT_COVERAGES,
) -> Evaluation:
    """R², Spearman and, per coverage, the Alatas and Brown errors (see the module docstring)."""
    y = np.asarray(actual_log, dtype=float)
    f = np.asarray(predicted_log, dtype=float)
    return Evaluation(
        n=len(y),
        r2=r_squared(y, f),
        spearman=spearman(y, f),
        coverage={float(c): coverage_errors(y, f, float(c)) for c in coverages},
    )


@dataclass(frozen=True)
class ModelEvaluation:
    """A model scored on one survey: the metrics and the arrays behind them (for plots)."""

    evaluation: Evaluation
    actual_log: np.ndarray
    predicted_log: np.ndarray


def model_evaluate(
    model: PmtModel, frame: pd.DataFrame, coverages: Iterable[float] = DEFAULT_COVERAGES
) -> ModelEvaluation:
    """Score every row of a survey frame with `model` and compare with its actual consumption."""
    actual = model.spec.target(frame)
    predicted = model.predict(frame)
    return ModelEvaluation(evaluate_predictions(actual, predicted, coverages), actual, predicted)
