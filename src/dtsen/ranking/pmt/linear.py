"""Regional linear PMT: one linear model of log per-capita consumption per region group, shrunk toward
a pooled national model, stored as exact decimal coefficients.

Estimator (all in standardised units z = (x - mu) / sd, with mu and sd the national training mean and
standard deviation of each feature, so one penalty fits every feature):

* **Pooled national model**: ridge regression with region fixed effects,
  ``min sum (y - c_r - z.g)^2 + ridge * |g|^2``. Its slopes ``g_p`` are within-region slopes; its
  intercept ``c_p`` is the national mean of y (z is centred nationally), i.e. the national level.
* **Region group r** (only groups with at least ``min_group_size`` training rows):
  ``min sum_r (y - c_r - z.g_r)^2 + shrinkage * |g_r - g_p|^2 + intercept_shrinkage * (c_r - c_p)^2``.
  ``shrinkage`` and ``intercept_shrinkage`` count in "pseudo-households": a region with n households
  gets roughly n / (n + shrinkage) of its own slope and the rest from the pooled slope. ``shrinkage``
  = 0 is a separate OLS per region (the classic Indonesian district PMT), infinity is the pooled slope
  with a regional intercept. The fit chooses it by grouped cross-validation (fit.py).
* A region not in the training data (or a group too small) is scored with the pooled model.

Coefficients are converted back to raw feature units and rounded to ``scale`` decimals. These decimal
numbers ARE the model: Python float scoring (`predict`) and decimal scoring (`score_decimal`, and the
SQL of the ranking run) both use them, with the feature values also rounded to ``scale`` decimals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from dtsen.ranking.pmt.errors import ArtefactInvalid

POOLED = "pooled"
_EPS = 1e-6  # a vanishing ridge so a feature constant within a region cannot make the system singular


def region_key(value: Any) -> str:
    """Canonical region-group key: 12, 12.0 and '12' all give '12'."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def quantize(value: float, scale: int) -> Decimal:
    """Round half-even to `scale` decimals, via the shortest repr of the float."""
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-scale))


@dataclass(frozen=True)
class LinearCoefficients:
    """Decimal intercept and coefficients of one region group (or of the pooled model)."""

    intercept: Decimal
    coefficients: Mapping[str, Decimal]
    n: int

    def as_floats(self, names: Sequence[str]) -> tuple[float, np.ndarray]:
        return float(self.intercept), np.array([float(self.coefficients[n]) for n in names])

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "intercept": str(self.intercept),
            "coefficients": {k: str(v) for k, v in self.coefficients.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], names: Sequence[str]) -> LinearCoefficients:
        coefs = data.get("coefficients", {})
        if set(coefs) != set(names):
            raise ArtefactInvalid(
                "Koefisien model tidak cocok dengan daftar fitur.",
                "The model's coefficients do not match its feature list.",
            )
        return cls(
            intercept=Decimal(str(data["intercept"])),
            coefficients={n: Decimal(str(coefs[n])) for n in names},
            n=int(data.get("n", 0)),
        )


@dataclass(frozen=True)
class LinearModel:
    """Regional linear PMT with a pooled national fallback; every number is an exact decimal."""

    feature_names: tuple[str, ...]
    scale: int
    pooled: LinearCoefficients
    groups: Mapping[str, LinearCoefficients]
    feature_means: Mapping[str, Decimal]
    region_map: Mapping[str, str]

    def group_for(self, region: Any) -> str:
        """Region group used for a region code: via `region_map` when given, else the code itself;
        a region without its own model falls back to the pooled national model ('pooled')."""
        if region is None:
            return POOLED
        key = region_key(region)
        key = self.region_map.get(key, key)
        return key if key in self.groups else POOLED

    def coefficients_for(self, region: Any) -> LinearCoefficients:
        group = self.group_for(region)
        return self.pooled if group == POOLED else self.groups[group]

    def predict(self, features: np.ndarray, regions: Sequence[Any] | None = None) -> np.ndarray:
        """Predicted log per-capita consumption (float) for a feature matrix already rounded to scale."""
        x = np.round(np.asarray(features, dtype=float), self.scale)
        keys = [POOLED] * len(x) if regions is None else [self.group_for(r) for r in regions]
        out = np.empty(len(x))
        key_array = np.array(keys, dtype=object)
        for key in set(keys):
            rows = key_array == key
            intercept, beta = (self.pooled if key == POOLED else self.groups[key]).as_floats(
                self.feature_names
            )
            out[rows] = intercept + x[rows] @ beta
        return out

    def score_decimal(self, features: Mapping[str, Decimal], region: Any = None) -> Decimal:
        """Exact decimal score: intercept + sum(coefficient * feature), features at `scale` decimals."""
        coefs = self.coefficients_for(region)
        total = coefs.intercept
        for name in self.feature_names:
            total += coefs.coefficients[name] * features[name]
        return total

    def baseline_decimal(self, region: Any = None) -> Decimal:
        """Score of the national average family (training means) with this region's coefficients."""
        return self.score_decimal(self.feature_means, region)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "feature_names": list(self.feature_names),
            "fallback": POOLED,
            "region_map": dict(self.region_map),
            "feature_means": {k: str(v) for k, v in self.feature_means.items()},
            "pooled": self.pooled.to_dict(),
            "groups": {k: v.to_dict() for k, v in sorted(self.groups.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinearModel:
        try:
            names = tuple(str(n) for n in data["feature_names"])
            return cls(
                feature_names=names,
                scale=int(data["scale"]),
                pooled=LinearCoefficients.from_dict(data["pooled"], names),
                groups={str(k): LinearCoefficients.from_dict(v, names) for k, v in data["groups"].items()},
                feature_means={n: Decimal(str(data["feature_means"][n])) for n in names},
                region_map={str(k): str(v) for k, v in data.get("region_map", {}).items()},
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ArtefactInvalid(
                f"Bagian model linear rusak: {exc!r}.", f"The linear part of the model is corrupt: {exc!r}."
            ) from exc


@dataclass(frozen=True)
class ShrinkageParams:
    shrinkage: float = 1000.0
    intercept_shrinkage: float = 10.0
    ridge: float = 1.0
    min_group_size: int = 30


def fit_regional_linear(
    features: np.ndarray,
    target: np.ndarray,
    regions: Sequence[Any] | None,
    *,
    feature_names: Sequence[str],
    params: ShrinkageParams,
    scale: int,
) -> LinearModel:
    """Fit the pooled model and the shrunk region-group models; return them as decimals (see module)."""
    x = np.asarray(features, dtype=float)
    y = np.asarray(target, dtype=float)
    n, p = x.shape
    keys = np.array([POOLED] * n if regions is None else [region_key(r) for r in regions], dtype=object)
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    sd[sd == 0] = 1.0
    z = (x - mu) / sd
    levels = sorted(set(keys))
    dummies = np.column_stack([(keys == k).astype(float) for k in levels])
    design = np.column_stack([z, dummies])
    penalty = np.diag([params.ridge + _EPS] * p + [0.0] * len(levels))
    theta = _solve(design.T @ design + penalty, design.T @ y)
    gamma_p = theta[:p]
    c_p = float(y.mean())

    raw: dict[str, tuple[float, np.ndarray, int]] = {POOLED: (c_p, gamma_p, n)}
    for key in levels:
        rows = keys == key
        n_g = int(rows.sum())
        if key == POOLED or n_g < params.min_group_size:
            continue
        zg, yg = z[rows], y[rows]
        if math.isinf(params.shrinkage):
            resid = yg - zg @ gamma_p
            c_g = (resid.sum() + params.intercept_shrinkage * c_p) / (n_g + params.intercept_shrinkage)
            raw[key] = (float(c_g), gamma_p.copy(), n_g)
            continue
        a = np.column_stack([np.ones(n_g), zg])
        pen = np.diag([params.intercept_shrinkage] + [params.shrinkage + _EPS] * p)
        prior = np.concatenate([[c_p], gamma_p])
        sol = _solve(a.T @ a + pen, a.T @ yg + pen @ prior)
        raw[key] = (float(sol[0]), sol[1:], n_g)

    def to_decimal(c: float, gamma: np.ndarray, count: int) -> LinearCoefficients:
        beta = gamma / sd
        intercept = c - float(beta @ mu)
        return LinearCoefficients(
            intercept=quantize(intercept, scale),
            coefficients={name: quantize(b, scale) for name, b in zip(feature_names, beta, strict=True)},
            n=count,
        )

    pooled = to_decimal(*raw.pop(POOLED))
    return LinearModel(
        feature_names=tuple(feature_names),
        scale=scale,
        pooled=pooled,
        groups={k: to_decimal(*v) for k, v in raw.items()},
        feature_means={name: quantize(m, scale) for name, m in zip(feature_names, mu, strict=True)},
        region_map={},
    )


def _solve(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve a symmetric positive semi-definite system; least squares when it is singular."""
    try:
        return np.linalg.solve(matrix, rhs)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(matrix, rhs, rcond=None)[0]
