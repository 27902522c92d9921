"""Feature spec: how raw survey or registry columns become the features of a PMT model.

A spec is a JSON file::

    {
      "schema": "dtsen.pmt.spec", "schema_version": 1,
      "name": "alatas45", "description": "...",
      "target": {"column": "consumption", "transform": "log", "unit_id": "...", "unit_en": "..."},
      "region_column": "province",      # region group of the regional linear models (optional)
      "group_column": "ea",             # cluster for grouped cross-validation (village / EA; optional)
      "scale": 6,                        # decimal places of feature values and coefficients
      "groups": {"hhsize": {"label_id": "...", "label_en": "..."},     # display groups (optional)
                 "hheduc": {"label_id": "...", "label_en": "...",
                            "label_id_none": "...", "label_en_none": "..."}},
      "features": [
        {"name": "tfloor", "transform": "identity", "column": "tfloor",
         "label_id": "lantai bukan tanah", "label_en": "non-earth floor",
         "label_id_off": "lantai tanah", "label_en_off": "earth floor"},
        {"name": "log_pcfloor", "transform": "log", "column": "pcfloor", "floor": 1, "group": "pcfloor", ...},
        {"name": "hhage_sq", "transform": "square", "column": "hhage", "divisor": 100, ...},
        {"name": "prov_33", "transform": "indicator", "column": "province", "category": 33, ...},
        {"name": "child_share", "transform": "ratio", "columns": ["age04", "hhsize"], ...},
        {"name": "male_married", "transform": "product", "columns": ["hhmale", "hhmarried"], ...}
      ]
    }

Transforms (x, a, b are raw column values; every result is then rounded to ``scale`` decimals):

============  =====================================  ===========================================
transform     value                                  SQL (``sql_expression``)
============  =====================================  ===========================================
identity      x                                      x
log           ln(max(x, floor)), floor > 0           LN(GREATEST(x, floor))
square        x * x / divisor                        (x * x) / divisor
indicator     1 if x == category else 0              CASE WHEN x = category THEN 1 ELSE 0 END
ratio         a / b  (b must not be 0)               a / b
product       a * b                                  a * b
============  =====================================  ===========================================

Rounding feature values to ``scale`` decimals is part of the model's definition: the decimal scoring
of the ranking run (SQL ``DECIMAL``) and the float scoring in Python then use the same numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dtsen.ranking.pmt.errors import ColumnMissing, SpecInvalid, ValueInvalid

SPEC_SCHEMA = "dtsen.pmt.spec"
SPEC_SCHEMA_VERSION = 1
DEFAULT_SCALE = 6
TRANSFORMS = ("identity", "log", "square", "indicator", "ratio", "product")
_UNARY = ("identity", "log", "square", "indicator")
_BINARY = ("ratio", "product")


@dataclass(frozen=True)
class FeatureDef:
    """One model feature computed from one or two raw columns, with its labels."""

    name: str
    transform: str
    columns: tuple[str, ...]
    label_id: str
    label_en: str
    label_id_off: str | None = None
    label_en_off: str | None = None
    group: str | None = None
    floor: float | None = None
    divisor: float = 1.0
    category: float | None = None

    @property
    def is_binary(self) -> bool:
        """True when the feature only takes 0 or 1 (an indicator, or a raw dummy with an 'off' label)."""
        return self.transform == "indicator" or self.label_id_off is not None

    def label(self, lang: str = "id", value: float | Decimal | None = None) -> str:
        """Label in `lang` ('id' or 'en'); for a binary feature whose value is 0, the 'off' label."""
        off = self.label_id_off if lang == "id" else self.label_en_off
        if value is not None and off is not None and float(value) == 0.0:
            return off
        return self.label_id if lang == "id" else self.label_en

    def compute(self, data: Mapping[str, np.ndarray]) -> np.ndarray:
        """The raw (unrounded) feature values from column arrays."""
        a = np.asarray(data[self.columns[0]], dtype=float)
        if self.transform == "identity":
            return a
        if self.transform == "log":
            assert self.floor is not None
            return np.log(np.maximum(a, self.floor))
        if self.transform == "square":
            return a * a / self.divisor
        if self.transform == "indicator":
            return (a == self.category).astype(float)
        b = np.asarray(data[self.columns[1]], dtype=float)
        if self.transform == "ratio":
            if np.any(b == 0):
                raise ValueInvalid(
                    f"Kolom '{self.columns[1]}' bernilai 0 sehingga fitur '{self.name}' tidak terdefinisi.",
                    f"Column '{self.columns[1]}' is 0, so feature '{self.name}' is undefined.",
                    column=self.columns[1],
                )
            return a / b
        return a * b

    def sql_expression(self, quote: Callable[[str], str] = lambda c: f'"{c}"') -> str:
        """The feature as a portable SQL expression over the raw columns (before rounding)."""
        a = quote(self.columns[0])
        if self.transform == "identity":
            return a
        if self.transform == "log":
            return f"LN(GREATEST({a}, {_num(self.floor)}))"
        if self.transform == "square":
            return f"(({a}) * ({a})) / {_num(self.divisor)}"
        if self.transform == "indicator":
            return f"CASE WHEN {a} = {_num(self.category)} THEN 1 ELSE 0 END"
        b = quote(self.columns[1])
        return f"({a}) / ({b})" if self.transform == "ratio" else f"({a}) * ({b})"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "transform": self.transform}
        if len(self.columns) == 1:
            out["column"] = self.columns[0]
        else:
            out["columns"] = list(self.columns)
        if self.transform == "log":
            out["floor"] = self.floor
        if self.transform == "square":
            out["divisor"] = self.divisor
        if self.transform == "indicator":
            out["category"] = self.category
        out["label_id"] = self.label_id
        out["label_en"] = self.label_en
        if self.label_id_off is not None:
            out["label_id_off"] = self.label_id_off
            out["label_en_off"] = self.label_en_off
        if self.group is not None:
            out["group"] = self.group
        return out


def _num(value: float | None) -> str:
    assert value is not None
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class FeatureGroup:
    """Display group: features summed into one line of an explanation (e.g. hhsize, log hhsize,
    hhsize²; or the dummies of one categorical variable, whose 'none' label names the reference
    category, shown when no dummy of the group is 1)."""

    label_id: str
    label_en: str
    label_id_none: str | None = None
    label_en_none: str | None = None

    def to_dict(self) -> dict[str, str]:
        out = {"label_id": self.label_id, "label_en": self.label_en}
        if self.label_id_none is not None and self.label_en_none is not None:
            out["label_id_none"] = self.label_id_none
            out["label_en_none"] = self.label_en_none
        return out


@dataclass(frozen=True)
class FeatureSpec:
    """The feature spec of a model: target, region column, grouping column and ordered features."""

    name: str
    features: tuple[FeatureDef, ...]
    target_column: str = "consumption"
    target_transform: str = "log"
    target_unit_id: str = ""
    target_unit_en: str = ""
    region_column: str | None = None
    group_column: str | None = None
    scale: int = DEFAULT_SCALE
    description: str = ""
    groups: Mapping[str, FeatureGroup] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def feature(self, name: str) -> FeatureDef:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def input_columns(self) -> list[str]:
        """Raw columns the features read, in first-use order."""
        seen: dict[str, None] = {}
        for f in self.features:
            for c in f.columns:
                seen.setdefault(c, None)
        return list(seen)

    def group_label(self, group: str, lang: str = "id") -> str:
        g = self.groups.get(group, FeatureGroup(group, group))
        return g.label_id if lang == "id" else g.label_en

    def group_members(self, group: str) -> list[FeatureDef]:
        return [f for f in self.features if f.group == group]

    # -- computing features -------------------------------------------------------------------------

    def design_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Feature matrix (rows x features), each value rounded to `scale` decimals.

        Raises ColumnMissing when a raw column is absent and ValueInvalid on empty or non-numeric cells.
        """
        data = {c: numeric_column(frame, c) for c in self.input_columns}
        out = np.empty((len(frame), len(self.features)), dtype=float)
        for j, f in enumerate(self.features):
            out[:, j] = f.compute(data)
        return np.round(out, self.scale)

    def feature_values(self, raw: Mapping[str, Any]) -> dict[str, Decimal]:
        """One family's features as exact decimals (the numbers the decimal scoring multiplies)."""
        missing = [c for c in self.input_columns if c not in raw]
        if missing:
            raise _missing(missing)
        frame = pd.DataFrame({c: [raw[c]] for c in self.input_columns})
        row = self.design_matrix(frame)[0]
        return {name: to_decimal(v, self.scale) for name, v in zip(self.feature_names, row, strict=True)}

    def target(self, frame: pd.DataFrame) -> np.ndarray:
        """The model target: log of the per-capita consumption column (which must be > 0)."""
        y = numeric_column(frame, self.target_column)
        if np.any(y <= 0):
            raise ValueInvalid(
                f"Kolom '{self.target_column}' harus lebih besar dari 0 (dipakai logaritmanya).",
                f"Column '{self.target_column}' must be greater than 0 (its logarithm is used).",
                column=self.target_column,
            )
        return np.log(y)

    # -- serialisation ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SPEC_SCHEMA,
            "schema_version": SPEC_SCHEMA_VERSION,
            "name": self.name,
            "description": self.description,
            "target": {
                "column": self.target_column,
                "transform": self.target_transform,
                "unit_id": self.target_unit_id,
                "unit_en": self.target_unit_en,
            },
            "region_column": self.region_column,
            "group_column": self.group_column,
            "scale": self.scale,
            "groups": {k: v.to_dict() for k, v in self.groups.items()},
            "features": [f.to_dict() for f in self.features],
        }

    @classmethod
    def from_dict(cls, data: Any) -> FeatureSpec:
        return _parse_spec(data)


def to_decimal(value: float, scale: int) -> Decimal:
    """A float already rounded to `scale` decimals as the exact decimal it stands for."""
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-scale))


def numeric_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as float64, refusing absent columns, non-numeric and empty cells (bilingual errors)."""
    if column not in frame.columns:
        raise _missing([column])
    series = frame[column]
    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna() & series.notna()
    if bad.any():
        first = series[bad].iloc[0]
        raise ValueInvalid(
            f"Kolom '{column}' berisi nilai bukan angka ({int(bad.sum())} baris, mis. {first!r}).",
            f"Column '{column}' holds non-numeric values ({int(bad.sum())} rows, e.g. {first!r}).",
            column=column,
        )
    if values.isna().any():
        n = int(values.isna().sum())
        raise ValueInvalid(
            f"Kolom '{column}' kosong di {n} baris.",
            f"Column '{column}' is empty in {n} rows.",
            column=column,
        )
    return values.to_numpy(dtype=float)


def _missing(columns: list[str]) -> ColumnMissing:
    names = ", ".join(columns)
    return ColumnMissing(
        f"Kolom tidak ditemukan: {names}.", f"Column(s) not found: {names}.", columns=list(columns)
    )


def load_spec(path: str | Path) -> FeatureSpec:
    """Read and validate a spec file; a missing, unreadable or malformed file raises SpecInvalid."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecInvalid(
            f"Berkas spesifikasi fitur tidak dapat dibaca: {path} ({exc.strerror}).",
            f"Cannot read the feature spec file: {path} ({exc.strerror}).",
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecInvalid(
            f"Spesifikasi fitur bukan JSON yang sah: {path} (baris {exc.lineno}).",
            f"The feature spec is not valid JSON: {path} (line {exc.lineno}).",
        ) from exc
    return _parse_spec(data)


def _bad(message_id: str, message_en: str) -> SpecInvalid:
    return SpecInvalid(f"Spesifikasi fitur salah: {message_id}", f"Bad feature spec: {message_en}")


def _parse_spec(data: Any) -> FeatureSpec:
    if not isinstance(data, dict):
        raise _bad("isi berkas harus objek JSON.", "the file must hold a JSON object.")
    if data.get("schema", SPEC_SCHEMA) != SPEC_SCHEMA:
        raise _bad(f"skema '{data.get('schema')}' tidak dikenal.", f"unknown schema '{data.get('schema')}'.")
    if int(data.get("schema_version", SPEC_SCHEMA_VERSION)) > SPEC_SCHEMA_VERSION:
        raise _bad("versi skema lebih baru dari program ini.", "schema version is newer than this program.")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise _bad("'name' wajib diisi.", "'name' is required.")
    target = data.get("target", {})
    if not isinstance(target, dict):
        raise _bad("'target' harus objek.", "'target' must be an object.")
    if target.get("transform", "log") != "log":
        raise _bad(
            "target hanya mendukung transformasi 'log'.", "the target only supports the 'log' transform."
        )
    scale = data.get("scale", DEFAULT_SCALE)
    if not isinstance(scale, int) or not 0 < scale <= 9:
        raise _bad("'scale' harus bilangan bulat 1..9.", "'scale' must be an integer 1..9.")
    raw_features = data.get("features")
    if not isinstance(raw_features, list) or not raw_features:
        raise _bad("'features' harus daftar yang tidak kosong.", "'features' must be a non-empty list.")
    features = tuple(_parse_feature(i, f) for i, f in enumerate(raw_features))
    names = [f.name for f in features]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise _bad(f"nama fitur ganda: {', '.join(dupes)}.", f"duplicate feature names: {', '.join(dupes)}.")
    raw_groups = data.get("groups", {}) or {}
    if not isinstance(raw_groups, dict):
        raise _bad("'groups' harus objek.", "'groups' must be an object.")
    groups: dict[str, FeatureGroup] = {}
    for key, value in raw_groups.items():
        if not isinstance(value, dict) or not value.get("label_id") or not value.get("label_en"):
            raise _bad(
                f"grup '{key}' perlu label_id dan label_en.", f"group '{key}' needs label_id and label_en."
            )
        none_id, none_en = value.get("label_id_none"), value.get("label_en_none")
        if (none_id is None) != (none_en is None):
            raise _bad(
                f"grup '{key}': label_id_none dan label_en_none harus diisi berdua.",
                f"group '{key}': label_id_none and label_en_none go together.",
            )
        groups[str(key)] = FeatureGroup(str(value["label_id"]), str(value["label_en"]), none_id, none_en)
    for f in features:
        if f.group is not None and f.group not in groups:
            raise _bad(
                f"fitur '{f.name}' memakai grup '{f.group}' yang tidak didefinisikan.",
                f"feature '{f.name}' uses undefined group '{f.group}'.",
            )
    return FeatureSpec(
        name=name,
        description=str(data.get("description", "")),
        features=features,
        target_column=str(target.get("column", "consumption")),
        target_transform="log",
        target_unit_id=str(target.get("unit_id", "")),
        target_unit_en=str(target.get("unit_en", "")),
        region_column=data.get("region_column"),
        group_column=data.get("group_column"),
        scale=scale,
        groups=groups,
    )


def _parse_feature(index: int, raw: Any) -> FeatureDef:
    where_id, where_en = f"fitur ke-{index + 1}", f"feature #{index + 1}"
    if not isinstance(raw, dict):
        raise _bad(f"{where_id} harus objek.", f"{where_en} must be an object.")
    name = raw.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        raise _bad(f"{where_id}: 'name' harus nama pengenal.", f"{where_en}: 'name' must be an identifier.")
    where_id, where_en = f"fitur '{name}'", f"feature '{name}'"
    transform = raw.get("transform", "identity")
    if transform not in TRANSFORMS:
        raise _bad(
            f"{where_id}: transformasi '{transform}' tidak dikenal (pilihan: {', '.join(TRANSFORMS)}).",
            f"{where_en}: unknown transform '{transform}' (choices: {', '.join(TRANSFORMS)}).",
        )
    if transform in _UNARY:
        column = raw.get("column")
        if not isinstance(column, str) or not column:
            raise _bad(f"{where_id}: 'column' wajib diisi.", f"{where_en}: 'column' is required.")
        columns: tuple[str, ...] = (column,)
    else:
        cols = raw.get("columns")
        if not isinstance(cols, list) or len(cols) != 2 or not all(isinstance(c, str) and c for c in cols):
            raise _bad(
                f"{where_id}: 'columns' harus berisi dua nama kolom.",
                f"{where_en}: 'columns' must hold two names.",
            )
        columns = (cols[0], cols[1])
    label_id, label_en = raw.get("label_id"), raw.get("label_en")
    if not isinstance(label_id, str) or not label_id or not isinstance(label_en, str) or not label_en:
        raise _bad(f"{where_id}: perlu label_id dan label_en.", f"{where_en}: needs label_id and label_en.")
    off_id, off_en = raw.get("label_id_off"), raw.get("label_en_off")
    if (off_id is None) != (off_en is None):
        raise _bad(
            f"{where_id}: label_id_off dan label_en_off harus diisi berdua.",
            f"{where_en}: label_id_off and label_en_off go together.",
        )
    floor = _opt_float(raw.get("floor"), where_id, where_en, "floor")
    if transform == "log" and (floor is None or floor <= 0):
        raise _bad(f"{where_id}: log perlu 'floor' > 0.", f"{where_en}: log needs 'floor' > 0.")
    divisor = _opt_float(raw.get("divisor", 1.0), where_id, where_en, "divisor")
    if divisor is None or divisor == 0:
        raise _bad(f"{where_id}: 'divisor' tidak boleh 0.", f"{where_en}: 'divisor' must not be 0.")
    category = _opt_float(raw.get("category"), where_id, where_en, "category")
    if transform == "indicator" and category is None:
        raise _bad(f"{where_id}: indikator perlu 'category'.", f"{where_en}: an indicator needs 'category'.")
    group = raw.get("group")
    return FeatureDef(
        name=name,
        transform=transform,
        columns=columns,
        label_id=label_id,
        label_en=label_en,
        label_id_off=off_id,
        label_en_off=off_en,
        group=str(group) if group is not None else None,
        floor=floor,
        divisor=divisor,
        category=category,
    )


def _opt_float(value: Any, where_id: str, where_en: str, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(f"{where_id}: '{key}' harus angka.", f"{where_en}: '{key}' must be a number.")
    return float(value)
