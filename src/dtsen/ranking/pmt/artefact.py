"""A PMT model as a versioned JSON artefact, and the API the ranking run uses.

Top-level keys of the JSON (schema ``dtsen.pmt.model``, ``schema_version`` 1):

``schema``, ``schema_version``
    format identification; a newer schema version is refused.
``model_id``
    ``<spec>-<kind>-<first 12 hex of training sha256>-<created_at as YYYYmmddTHHMMSSZ>``.
``kind``
    ``linear_regional`` (decimal coefficients, scorable in SQL) or ``gradient_boosting`` (trees).
``created_at``
    ISO 8601 UTC timestamp.
``target``
    what is predicted: ``{"column", "transform": "log", "unit_id", "unit_en"}``.
``spec``
    the full feature spec (see spec.py), so an artefact is self-contained.
``training``
    ``{"file", "sha256", "rows", "cv_groups", "regions": {group: rows}}``; never the rows themselves.
``params``
    hyper-parameters actually used (shrinkage, ridge, tree settings) and how they were chosen.
``metrics``
    ``{"cv": {...grouped cross-validation...}, "in_sample": {...}}`` (see fit.py).
``library_versions``
    python, numpy, pandas, scipy, scikit-learn, dtsen.
``linear`` (kind linear_regional)
    ``{"scale", "feature_names", "fallback": "pooled", "region_map", "feature_means",
    "pooled": {"n", "intercept", "coefficients"}, "groups": {group: {"n", "intercept", "coefficients"}}}``;
    every number a decimal string with ``scale`` decimals.
``trees`` (kind gradient_boosting)
    ``{"input_names", "base_score", "learning_rate", "region_inputs", "feature_means",
    "trees": [{"left", "right", "feature", "threshold", "value", "cover"}]}``.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dtsen.ranking.pmt.errors import ArtefactInvalid, ColumnMissing
from dtsen.ranking.pmt.linear import POOLED, LinearCoefficients, LinearModel, region_key
from dtsen.ranking.pmt.spec import FeatureSpec
from dtsen.ranking.pmt.trees import TreeEnsemble

ARTEFACT_SCHEMA = "dtsen.pmt.model"
ARTEFACT_SCHEMA_VERSION = 1
KIND_LINEAR = "linear_regional"
KIND_BOOSTING = "gradient_boosting"
KINDS = (KIND_LINEAR, KIND_BOOSTING)
DEFAULT_MODEL_PACKAGE = "dtsen.ranking.default_model"
DEFAULT_MODEL_FILE = "alatas45_linear.json"
DEFAULT_SPEC_FILE = "alatas45.json"


@dataclass(frozen=True)
class RegionInputs:
    """Region-group indicators appended to a tree model's inputs (one 0/1 column per training group)."""

    column: str | None
    groups: tuple[str, ...] = ()

    def matrix(self, regions: Sequence[Any] | None, n: int) -> np.ndarray:
        out = np.zeros((n, len(self.groups)))
        if regions is None:
            return out
        keys = np.array([region_key(r) for r in regions], dtype=object)
        for j, g in enumerate(self.groups):
            out[:, j] = (keys == g).astype(float)
        return out

    @property
    def names(self) -> list[str]:
        return [f"region_{g}" for g in self.groups]


@dataclass(frozen=True)
class PmtModel:
    """A fitted PMT: spec, model (linear decimals or trees), provenance and metrics."""

    model_id: str
    kind: str
    spec: FeatureSpec
    created_at: datetime
    training: Mapping[str, Any]
    params: Mapping[str, Any]
    metrics: Mapping[str, Any]
    library_versions: Mapping[str, str]
    linear: LinearModel | None = None
    trees: TreeEnsemble | None = None
    region_inputs: RegionInputs = field(default_factory=lambda: RegionInputs(None))
    tree_feature_means: Mapping[str, float] = field(default_factory=dict)

    # -- scoring ------------------------------------------------------------------------------------

    def regions_of(self, frame: pd.DataFrame) -> list[Any] | None:
        """Region codes of each row, or None when the spec has no region column.

        A missing region column is an error: silently scoring everyone with the pooled model would
        change the ranking without anyone noticing.
        """
        column = self.spec.region_column
        if column is None:
            return None
        if column not in frame.columns:
            raise ColumnMissing(
                f"Kolom wilayah tidak ditemukan: {column}.",
                f"Region column not found: {column}.",
                columns=[column],
            )
        return list(frame[column])

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predicted log per-capita consumption for each row of a raw survey or registry frame."""
        features = self.spec.design_matrix(frame)
        return self.predict_features(features, self.regions_of(frame))

    def predict_features(self, features: np.ndarray, regions: Sequence[Any] | None) -> np.ndarray:
        if self.linear is not None:
            return self.linear.predict(features, regions)
        assert self.trees is not None
        return self.trees.predict(self.tree_inputs(features, regions))

    def tree_inputs(self, features: np.ndarray, regions: Sequence[Any] | None) -> np.ndarray:
        return np.column_stack([features, self.region_inputs.matrix(regions, len(features))])

    # -- decimal API for the ranking run ------------------------------------------------------------

    def group_for(self, region: Any) -> str:
        """Region group whose coefficients score `region` ('pooled' when it has none)."""
        return self._linear().group_for(region)

    def decimal_coefficients(self, region: Any = None) -> LinearCoefficients:
        """Decimal intercept and coefficients that score a family of `region` (pooled fallback)."""
        return self._linear().coefficients_for(region)

    def coefficient_rows(self) -> list[dict[str, str]]:
        """Long table for loading into SQL: one row per (region_group, term); term '(intercept)'
        carries the intercept. region_group 'pooled' is the fallback for unknown regions."""
        lin = self._linear()
        rows: list[dict[str, str]] = []
        for group, coefs in [(POOLED, lin.pooled), *sorted(lin.groups.items())]:
            rows.append({"region_group": group, "term": "(intercept)", "coefficient": str(coefs.intercept)})
            rows.extend(
                {"region_group": group, "term": name, "coefficient": str(coefs.coefficients[name])}
                for name in lin.feature_names
            )
        return rows

    def score_decimal(self, raw: Mapping[str, Any], region: Any = None) -> Decimal:
        """Exact decimal score (log per-capita consumption) of one family's raw values."""
        return self._linear().score_decimal(self.spec.feature_values(raw), region)

    def _linear(self) -> LinearModel:
        if self.linear is None:
            raise ArtefactInvalid(
                "Model ini bukan model linear; koefisien desimal tidak tersedia.",
                "This model is not linear; decimal coefficients are not available.",
            )
        return self.linear

    # -- serialisation ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema": ARTEFACT_SCHEMA,
            "schema_version": ARTEFACT_SCHEMA_VERSION,
            "model_id": self.model_id,
            "kind": self.kind,
            "created_at": self.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "target": {
                "column": self.spec.target_column,
                "transform": self.spec.target_transform,
                "unit_id": self.spec.target_unit_id,
                "unit_en": self.spec.target_unit_en,
            },
            "spec": self.spec.to_dict(),
            "training": dict(self.training),
            "params": dict(self.params),
            "metrics": dict(self.metrics),
            "library_versions": dict(self.library_versions),
        }
        if self.linear is not None:
            out["linear"] = self.linear.to_dict()
        if self.trees is not None:
            out["trees"] = {
                **self.trees.to_dict(),
                "region_inputs": {
                    "column": self.region_inputs.column,
                    "groups": list(self.region_inputs.groups),
                },
                "feature_means": dict(self.tree_feature_means),
            }
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1, allow_nan=False) + "\n"

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.to_json(), encoding="utf-8")
        return target

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON: the id a ranking run records for the model it used."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @classmethod
    def from_dict(cls, data: Any) -> PmtModel:
        if not isinstance(data, dict) or data.get("schema") != ARTEFACT_SCHEMA:
            raise ArtefactInvalid("Berkas bukan model PMT dtsen.", "The file is not a dtsen PMT model.")
        if int(data.get("schema_version", 0)) > ARTEFACT_SCHEMA_VERSION:
            raise ArtefactInvalid(
                "Versi skema model lebih baru dari program ini.",
                "The model's schema version is newer than this program.",
            )
        kind = data.get("kind")
        if kind not in KINDS:
            raise ArtefactInvalid(f"Jenis model tidak dikenal: {kind}.", f"Unknown model kind: {kind}.")
        try:
            spec = FeatureSpec.from_dict(data["spec"])
            created_at = datetime.strptime(data["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            linear = LinearModel.from_dict(data["linear"]) if kind == KIND_LINEAR else None
            trees = region_inputs = None
            means: dict[str, float] = {}
            if kind == KIND_BOOSTING:
                trees = TreeEnsemble.from_dict(data["trees"])
                ri = data["trees"].get("region_inputs", {})
                region_inputs = RegionInputs(ri.get("column"), tuple(str(g) for g in ri.get("groups", [])))
                means = {str(k): float(v) for k, v in data["trees"].get("feature_means", {}).items()}
            model = cls(
                model_id=str(data["model_id"]),
                kind=kind,
                spec=spec,
                created_at=created_at,
                training=dict(data.get("training", {})),
                params=dict(data.get("params", {})),
                metrics=dict(data.get("metrics", {})),
                library_versions=dict(data.get("library_versions", {})),
                linear=linear,
                trees=trees,
                region_inputs=region_inputs or RegionInputs(None),
                tree_feature_means=means,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtefactInvalid(
                f"Model PMT rusak: {exc!r}.", f"The PMT model is corrupt: {exc!r}."
            ) from exc
        expected = spec.feature_names
        if linear is not None and list(linear.feature_names) != expected:
            raise ArtefactInvalid(
                "Fitur model tidak cocok dengan spesifikasi.", "Model features do not match its spec."
            )
        if trees is not None and list(trees.input_names) != expected + model.region_inputs.names:
            raise ArtefactInvalid(
                "Fitur model tidak cocok dengan spesifikasi.", "Model features do not match its spec."
            )
        return model


def load_model(path: str | Path) -> PmtModel:
    """Read a model artefact; an absent, unreadable or malformed file raises ArtefactInvalid."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ArtefactInvalid(
            f"Berkas model tidak dapat dibaca: {source} ({exc.strerror}).",
            f"Cannot read the model file: {source} ({exc.strerror}).",
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArtefactInvalid(
            f"Berkas model bukan JSON yang sah: {source}.", f"The model file is not valid JSON: {source}."
        ) from exc
    return PmtModel.from_dict(data)


def load_default_model() -> PmtModel:
    """The model the product ships (fitted on the Alatas et al. 2012 training extract)."""
    try:
        text = resources.files(DEFAULT_MODEL_PACKAGE).joinpath(DEFAULT_MODEL_FILE).read_text(encoding="utf-8")
    except OSError as exc:
        raise ArtefactInvalid(
            f"Model bawaan tidak ditemukan ({DEFAULT_MODEL_FILE}); instalasi tidak lengkap.",
            f"The default model is missing ({DEFAULT_MODEL_FILE}); the installation is incomplete.",
        ) from exc
    return PmtModel.from_dict(json.loads(text))


def default_spec_path() -> Path:
    """Path of the default feature spec shipped with the product (alatas45.json)."""
    return Path(str(resources.files(DEFAULT_MODEL_PACKAGE).joinpath(DEFAULT_SPEC_FILE)))


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in ("numpy", "pandas", "scipy", "scikit-learn", "dtsen"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "unknown"
    return versions


def make_model_id(spec_name: str, kind: str, sha256: str, created_at: datetime) -> str:
    return f"{spec_name}-{kind}-{sha256[:12]}-{created_at.astimezone(UTC):%Y%m%dT%H%M%SZ}"
