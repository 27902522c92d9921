"""Fitting a PMT and measuring it honestly: grouped (village / EA) cross-validation with the whole
procedure, hyper-parameter choice included, repeated inside every outer fold (nested CV).

Procedure for one training set (used for each outer fold and, at the end, for all rows):

* **linear_regional**: choose the shrinkage (pseudo-households, see linear.py) from
  ``shrinkage_grid`` by the mean squared error of log consumption in an inner grouped K-fold, then fit
  the pooled and regional models and round them to decimals. The predictions scored in the outer fold
  are those of the rounded model, exactly as the product would score.
* **gradient_boosting**: scikit-learn GradientBoostingRegressor (squared error) on the spec features
  plus one 0/1 indicator per training region group; settings chosen from ``boosting_grid`` by inner
  grouped K-fold MSE.

Out-of-fold predictions of the outer folds are pooled (each household is predicted exactly once, by
a model that never saw its village) and the metrics of evaluate.py are computed on them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.model_selection import GroupKFold

from dtsen.ranking.pmt.artefact import (
    KIND_BOOSTING,
    KIND_LINEAR,
    KINDS,
    PmtModel,
    RegionInputs,
    library_versions,
    make_model_id,
)
from dtsen.ranking.pmt.errors import ColumnMissing, PmtError, ValueInvalid
from dtsen.ranking.pmt.evaluate import DEFAULT_COVERAGES, Evaluation, evaluate_predictions
from dtsen.ranking.pmt.linear import POOLED, ShrinkageParams, fit_regional_linear, region_key
from dtsen.ranking.pmt.spec import FeatureSpec
from dtsen.ranking.pmt.survey import Survey
from dtsen.ranking.pmt.trees import TreeEnsemble

SHRINKAGE_GRID: tuple[float, ...] = (0.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0, math.inf)
BOOSTING_GRID: tuple[Mapping[str, Any], ...] = (
    {"max_depth": 2, "n_estimators": 700, "learning_rate": 0.03, "subsample": 0.8, "min_samples_leaf": 10},
    {"max_depth": 3, "n_estimators": 500, "learning_rate": 0.02, "subsample": 0.8, "min_samples_leaf": 10},
    {"max_depth": 4, "n_estimators": 400, "learning_rate": 0.015, "subsample": 0.8, "min_samples_leaf": 20},
)


@dataclass(frozen=True)
class FitConfig:
    """How to fit and cross-validate. `shrinkage` None means: choose it by inner grouped CV."""

    kind: str = KIND_LINEAR
    folds: int = 5
    inner_folds: int = 3
    seed: int = 0
    shrinkage: float | None = None
    shrinkage_grid: tuple[float, ...] = SHRINKAGE_GRID
    intercept_shrinkage: float = 10.0
    ridge: float = 1.0
    min_group_size: int = 30
    boosting_grid: tuple[Mapping[str, Any], ...] = BOOSTING_GRID
    region_effects: bool = True
    coverages: tuple[float, ...] = DEFAULT_COVERAGES


@dataclass(frozen=True)
class TrainingData:
    """Features, target, region codes and CV groups of one survey under one spec."""

    features: np.ndarray
    target: np.ndarray
    regions: list[Any] | None
    groups: np.ndarray

    def take(self, rows: np.ndarray) -> TrainingData:
        return TrainingData(
            features=self.features[rows],
            target=self.target[rows],
            regions=None if self.regions is None else [self.regions[i] for i in rows],
            groups=self.groups[rows],
        )


@dataclass(frozen=True)
class FittedLearner:
    """A fitted model as the CV needs it: a predict function, and the parameters it chose."""

    predict: Callable[[np.ndarray, Sequence[Any] | None], np.ndarray]
    params: Mapping[str, Any]
    model: Any


@dataclass(frozen=True)
class CrossValidation:
    oof: np.ndarray
    folds: list[dict[str, Any]]
    evaluation: Evaluation
    scheme: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"scheme": self.scheme, **self.evaluation.to_dict(), "folds": self.folds}


def training_data(frame: Any, spec: FeatureSpec) -> TrainingData:
    """Extract everything a fit needs; bilingual errors on missing columns or bad values."""
    features = spec.design_matrix(frame)
    target = spec.target(frame)
    regions = None
    if spec.region_column is not None:
        if spec.region_column not in frame.columns:
            raise ColumnMissing(
                f"Kolom wilayah tidak ditemukan: {spec.region_column}.",
                f"Region column not found: {spec.region_column}.",
                columns=[spec.region_column],
            )
        if frame[spec.region_column].isna().any():
            n = int(frame[spec.region_column].isna().sum())
            raise ValueInvalid(
                f"Kolom wilayah '{spec.region_column}' kosong di {n} baris.",
                f"Region column '{spec.region_column}' is empty in {n} rows.",
                column=spec.region_column,
            )
        regions = list(frame[spec.region_column])
    if spec.group_column is None:
        raise PmtError(
            "Spesifikasi fitur perlu 'group_column' (desa/blok sensus) untuk validasi silang berkelompok.",
            "The feature spec needs a 'group_column' (village / enumeration area) for grouped "
            "cross-validation.",
        )
    if spec.group_column not in frame.columns:
        raise ColumnMissing(
            f"Kolom kelompok tidak ditemukan: {spec.group_column}.",
            f"Group column not found: {spec.group_column}.",
            columns=[spec.group_column],
        )
    groups = frame[spec.group_column].astype(str).to_numpy()
    return TrainingData(features=features, target=target, regions=regions, groups=groups)


def grouped_folds(
    groups: Sequence[Any] | np.ndarray, n_splits: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """K folds with every group (village / EA) wholly in train or wholly in test."""
    g = np.asarray(groups)
    n_groups = len(np.unique(g))
    if n_groups < n_splits:
        raise PmtError(
            f"Hanya ada {n_groups} kelompok; validasi silang {n_splits} lipatan perlu lebih banyak.",
            f"Only {n_groups} groups; {n_splits}-fold cross-validation needs more.",
        )
    splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(g)), groups=g))


# -- learners -----------------------------------------------------------------------------------------


def _inner_mse(
    data: TrainingData,
    config: FitConfig,
    candidates: Sequence[Any],
    fit_one: Callable[[TrainingData, Any], FittedLearner],
) -> list[float]:
    """Mean squared error of each candidate setting in an inner grouped K-fold."""
    sse = np.zeros(len(candidates))
    for train, test in grouped_folds(data.groups, config.inner_folds, config.seed + 1):
        inner_train, inner_test = data.take(train), data.take(test)
        for i, candidate in enumerate(candidates):
            learner = fit_one(inner_train, candidate)
            pred = learner.predict(inner_test.features, inner_test.regions)
            sse[i] += float(((inner_test.target - pred) ** 2).sum())
    return list(sse / len(data.target))


def fit_linear(data: TrainingData, config: FitConfig, spec: FeatureSpec) -> FittedLearner:
    def fit_one(d: TrainingData, shrinkage: float) -> FittedLearner:
        params = ShrinkageParams(
            shrinkage=shrinkage,
            intercept_shrinkage=config.intercept_shrinkage,
            ridge=config.ridge,
            min_group_size=config.min_group_size,
        )
        model = fit_regional_linear(
            d.features, d.target, d.regions, feature_names=spec.feature_names, params=params, scale=spec.scale
        )
        return FittedLearner(
            predict=model.predict, params={"shrinkage": _json_number(shrinkage)}, model=model
        )

    if config.shrinkage is not None:
        chosen = fit_one(data, config.shrinkage)
        return replace(chosen, params={**chosen.params, "chosen_by": "fixed"})
    grid = list(config.shrinkage_grid)
    mse = _inner_mse(data, config, grid, fit_one)
    best = grid[int(np.argmin(mse))]
    chosen = fit_one(data, best)
    return replace(
        chosen,
        params={
            **chosen.params,
            "chosen_by": f"inner grouped {config.inner_folds}-fold CV, lowest MSE of log consumption",
            "inner_cv_mse": {_grid_key(g): round(float(m), 6) for g, m in zip(grid, mse, strict=True)},
        },
    )


def fit_boosting(data: TrainingData, config: FitConfig, spec: FeatureSpec) -> FittedLearner:
    region_inputs = _region_inputs(data, config, spec)
    names = spec.feature_names + region_inputs.names

    def fit_one(d: TrainingData, settings: Mapping[str, Any]) -> FittedLearner:
        x = np.column_stack([d.features, region_inputs.matrix(d.regions, len(d.features))])
        gbr = GradientBoostingRegressor(random_state=config.seed, **settings).fit(x, d.target)
        ensemble = TreeEnsemble.from_sklearn(gbr, names, x[: min(len(x), 256)])

        def predict(features: np.ndarray, regions: Sequence[Any] | None) -> np.ndarray:
            return ensemble.predict(np.column_stack([features, region_inputs.matrix(regions, len(features))]))

        return FittedLearner(predict=predict, params=dict(settings), model=(ensemble, region_inputs))

    grid = list(config.boosting_grid)
    if len(grid) == 1:
        return fit_one(data, grid[0])
    mse = _inner_mse(data, config, grid, fit_one)
    best = int(np.argmin(mse))
    chosen = fit_one(data, grid[best])
    return replace(
        chosen,
        params={
            **chosen.params,
            "chosen_by": f"inner grouped {config.inner_folds}-fold CV, lowest MSE of log consumption",
            "inner_cv_mse": [round(float(m), 6) for m in mse],
        },
    )


def _region_inputs(data: TrainingData, config: FitConfig, spec: FeatureSpec) -> RegionInputs:
    if not config.region_effects or data.regions is None:
        return RegionInputs(spec.region_column, ())
    keys = [region_key(r) for r in data.regions]
    counts = {k: keys.count(k) for k in set(keys)}
    return RegionInputs(
        spec.region_column, tuple(sorted(k for k, n in counts.items() if n >= config.min_group_size))
    )


LEARNERS: dict[str, Callable[[TrainingData, FitConfig, FeatureSpec], FittedLearner]] = {
    KIND_LINEAR: fit_linear,
    KIND_BOOSTING: fit_boosting,
}


# -- cross-validation and the fit service ---------------------------------------------------------------


def cross_validate(data: TrainingData, spec: FeatureSpec, config: FitConfig) -> CrossValidation:
    """Outer grouped K-fold; the learner (with its own inner tuning) is refitted in every fold."""
    learner = LEARNERS[config.kind]
    oof = np.full(len(data.target), np.nan)
    folds: list[dict[str, Any]] = []
    for i, (train, test) in enumerate(grouped_folds(data.groups, config.folds, config.seed)):
        fitted = learner(data.take(train), config, spec)
        test_data = data.take(test)
        oof[test] = fitted.predict(test_data.features, test_data.regions)
        folds.append(
            {
                "fold": i,
                "n_test": len(test),
                "groups_test": len(np.unique(test_data.groups)),
                "r2": round(evaluate_predictions(test_data.target, oof[test], ()).r2, 6),
                "params": dict(fitted.params),
            }
        )
    scheme = {
        "method": "GroupKFold",
        "folds": config.folds,
        "shuffle": True,
        "seed": config.seed,
        "group_column": spec.group_column,
        "inner_folds": config.inner_folds,
        "predictions": "out-of-fold, pooled over folds",
    }
    return CrossValidation(
        oof=oof,
        folds=folds,
        evaluation=evaluate_predictions(data.target, oof, config.coverages),
        scheme=scheme,
    )


def pmt_fit(
    *, survey: Survey, spec: FeatureSpec, config: FitConfig, created_at: datetime | None = None
) -> PmtModel:
    """Cross-validate, then fit on every row, and return the versioned model artefact."""
    if config.kind not in KINDS:
        raise PmtError(f"Jenis model tidak dikenal: {config.kind}.", f"Unknown model kind: {config.kind}.")
    data = training_data(survey.frame, spec)
    cv = cross_validate(data, spec, config)
    fitted = LEARNERS[config.kind](data, config, spec)
    in_sample = evaluate_predictions(
        data.target, fitted.predict(data.features, data.regions), config.coverages
    )
    when = (created_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    regions = None if data.regions is None else [region_key(r) for r in data.regions]
    training = {
        "file": survey.name,
        "sha256": survey.sha256,
        "rows": len(data.target),
        "cv_groups": len(np.unique(data.groups)),
        "regions": {} if regions is None else {k: regions.count(k) for k in sorted(set(regions))},
    }
    params: dict[str, Any] = {**fitted.params, "min_group_size": config.min_group_size}
    if config.kind == KIND_LINEAR:
        params.update(intercept_shrinkage=config.intercept_shrinkage, ridge=config.ridge, fallback=POOLED)
    else:
        params.update(region_effects=config.region_effects, loss="squared_error", seed=config.seed)
    metrics = {
        "cv": cv.to_dict(),
        "in_sample": {"note": "fitted and scored on the same rows: optimistic", **in_sample.to_dict()},
    }
    model = PmtModel(
        model_id=make_model_id(spec.name, config.kind, survey.sha256, when),
        kind=config.kind,
        spec=spec,
        created_at=when,
        training=training,
        params=params,
        metrics=metrics,
        library_versions=library_versions(),
    )
    if config.kind == KIND_LINEAR:
        return replace(model, linear=fitted.model)
    ensemble, region_inputs = fitted.model
    means = {name: float(m) for name, m in zip(spec.feature_names, data.features.mean(axis=0), strict=True)}
    return replace(model, trees=ensemble, region_inputs=region_inputs, tree_feature_means=means)


def _json_number(value: float) -> float | str:
    return "infinity" if math.isinf(value) else value


def _grid_key(value: float) -> str:
    return "infinity" if math.isinf(value) else f"{value:g}"
