"""Why this desil: per-family contribution of each feature to its PMT score.

* **Linear model (exact, decimal)**: with the coefficients c of the family's region group and the
  national training means m of the features,
  ``contribution_j = c_j * (x_j - m_j)`` and ``baseline = intercept + sum_j c_j * m_j``, so
  ``score = baseline + sum_j contribution_j`` exactly, in decimal arithmetic. This is also the exact
  Shapley value of a linear model against the average family. The ranking run computes the same
  numbers in SQL from the artefact's decimal coefficients and ``feature_means``.
* **Tree model**: path-dependent TreeSHAP (trees.py), exact Shapley values of ``E[f(x) | x_S]``
  under the training cover; the baseline is the cover-weighted mean prediction and the values sum to
  ``score - baseline`` up to float rounding. Region indicators are reported as one "region" entry.

A contribution is in log points of per-capita consumption: -0.12 means about 11 % lower predicted
consumption than the average family, all else equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from dtsen.ranking.pmt.artefact import PmtModel
from dtsen.ranking.pmt.linear import POOLED
from dtsen.ranking.pmt.spec import FeatureSpec

Number = Decimal | float
MINUS = "\u2212"
REGION_ENTRY = "region"


@dataclass(frozen=True)
class Contribution:
    """One feature's (or feature group's) share of the family's score relative to the baseline."""

    name: str
    value: Number | None
    contribution: Number
    label_id: str
    label_en: str
    binary: bool = False

    def label(self, lang: str = "id") -> str:
        return self.label_id if lang == "id" else self.label_en

    def text(self, lang: str = "id", digits: int = 2) -> str:
        """'lantai tanah: −0.12'; a non-binary feature shows its value:
        'jumlah anggota rumah tangga (6): −0.25'."""
        label = self.label(lang)
        if not self.binary and self.value is not None:
            label = f"{label} ({_plain(self.value)})"
        return f"{label}: {signed(self.contribution, digits)}"


@dataclass(frozen=True)
class Explanation:
    """Score = baseline + sum of contributions (exactly for a linear model)."""

    model_id: str
    method: str
    region_group: str
    score: Number
    baseline: Number
    contributions: tuple[Contribution, ...]

    @property
    def exact(self) -> bool:
        return isinstance(self.score, Decimal)

    def difference(self) -> Number:
        """score - baseline (exact Decimal for a linear model)."""
        if isinstance(self.score, Decimal) and isinstance(self.baseline, Decimal):
            return self.score - self.baseline
        return float(self.score) - float(self.baseline)

    def total(self) -> Number:
        if self.exact:
            return sum((Decimal(c.contribution) for c in self.contributions), Decimal(0))
        return float(sum(float(c.contribution) for c in self.contributions))

    def grouped(self, spec: FeatureSpec) -> Explanation:
        """Features sharing a spec `group` summed into one entry; the total is unchanged.

        A group of numeric transforms (hhsize, log hhsize, hhsize²) shows the group label and the raw
        value; a group of dummies of one categorical variable (education levels) shows the label of
        the dummy that is 1, or the group's 'none' label (the reference category) when none is."""
        sums: dict[str, Number] = {}
        order: list[str] = []
        for c in self.contributions:
            group = _group_of(spec, c.name)
            key = c.name if group is None else f"group:{group}"
            if key not in sums:
                order.append(key)
                sums[key] = c.contribution
            else:
                sums[key] = _add(sums[key], c.contribution)
        by_name = {c.name: c for c in self.contributions}
        out = []
        for key in order:
            if not key.startswith("group:"):
                out.append(by_name[key])
                continue
            group = key.removeprefix("group:")
            out.append(_group_entry(spec, group, by_name, sums[key]))
        return Explanation(
            self.model_id, self.method, self.region_group, self.score, self.baseline, tuple(out)
        )

    def top(self, n: int = 5) -> list[Contribution]:
        """The n largest contributions in absolute value."""
        return sorted(self.contributions, key=lambda c: -abs(float(c.contribution)))[:n]

    def lines(self, lang: str = "id", n: int = 5, digits: int = 2) -> list[str]:
        return [c.text(lang, digits) for c in self.top(n)]


def signed(value: Number, digits: int = 2) -> str:
    """'+0.12' or '−0.12' (with a real minus sign)."""
    number = float(value)
    text = f"{abs(number):.{digits}f}"
    if float(text) == 0:
        return f"{0:.{digits}f}"
    return f"{MINUS}{text}" if number < 0 else f"+{text}"


def _plain(value: Number) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return f"{value:g}"


def _add(a: Number, b: Number) -> Number:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return a + b
    return float(a) + float(b)


def _group_of(spec: FeatureSpec, name: str) -> str | None:
    try:
        return spec.feature(name).group
    except KeyError:
        return None


def _group_entry(
    spec: FeatureSpec, group: str, by_name: Mapping[str, Contribution], total: Number
) -> Contribution:
    members = [f for f in spec.group_members(group) if f.name in by_name]
    info = spec.groups[group]
    if members and all(f.is_binary for f in members):
        active = [f for f in members if float(by_name[f.name].value or 0) == 1.0]
        if active:
            first = by_name[active[0].name]
            return Contribution(group, None, total, first.label_id, first.label_en, binary=True)
        return Contribution(
            group,
            None,
            total,
            info.label_id_none or info.label_id,
            info.label_en_none or info.label_en,
            binary=True,
        )
    value = next((by_name[f.name].value for f in members if f.transform == "identity"), None)
    return Contribution(group, value, total, info.label_id, info.label_en)


def explain_features(model: PmtModel, features: Mapping[str, Any], region: Any = None) -> Explanation:
    """Contributions for one family's feature values (spec feature names -> values at spec scale)."""
    if model.linear is not None:
        return _explain_linear(model, features, region)
    return _explain_trees(model, features, region)


def explain_family(model: PmtModel, raw: Mapping[str, Any], region: Any = None) -> Explanation:
    """Contributions for one family's raw values (the spec's input columns); the region defaults to
    the raw value of the spec's region column."""
    if region is None and model.spec.region_column is not None:
        region = raw.get(model.spec.region_column)
    return explain_features(model, model.spec.feature_values(raw), region)


def _explain_linear(model: PmtModel, features: Mapping[str, Any], region: Any) -> Explanation:
    lin = model.linear
    assert lin is not None
    coefs = lin.coefficients_for(region)
    x = {
        name: Decimal(str(features[name])).quantize(Decimal(1).scaleb(-lin.scale))
        for name in lin.feature_names
    }
    items = []
    for name in lin.feature_names:
        f = model.spec.feature(name)
        items.append(
            Contribution(
                name=name,
                value=x[name],
                contribution=coefs.coefficients[name] * (x[name] - lin.feature_means[name]),
                label_id=f.label("id", x[name]),
                label_en=f.label("en", x[name]),
                binary=f.is_binary,
            )
        )
    return Explanation(
        model_id=model.model_id,
        method="linear: coefficient x (value - national mean), exact decimal",
        region_group=lin.group_for(region),
        score=lin.score_decimal(x, region),
        baseline=lin.baseline_decimal(region),
        contributions=tuple(items),
    )


def _explain_trees(model: PmtModel, features: Mapping[str, Any], region: Any) -> Explanation:
    trees = model.trees
    assert trees is not None
    names = model.spec.feature_names
    row = np.array([[float(features[n]) for n in names]])
    inputs = model.tree_inputs(row, None if region is None else [region])[0]
    phi = trees.shap_values(inputs)
    items = []
    for j, name in enumerate(names):
        f = model.spec.feature(name)
        value = float(inputs[j])
        items.append(
            Contribution(
                name, value, float(phi[j]), f.label("id", value), f.label("en", value), binary=f.is_binary
            )
        )
    region_phi = float(phi[len(names) :].sum())
    group = POOLED
    if model.region_inputs.groups:
        hits = [g for g, v in zip(model.region_inputs.groups, inputs[len(names) :], strict=True) if v == 1.0]
        group = hits[0] if hits else POOLED
        items.append(
            Contribution(REGION_ENTRY, None, region_phi, f"wilayah {group}", f"region {group}", binary=True)
        )
    return Explanation(
        model_id=model.model_id,
        method="trees: path-dependent TreeSHAP",
        region_group=group,
        score=float(trees.predict(inputs[None, :])[0]),
        baseline=trees.expected_value(),
        contributions=tuple(items),
    )
