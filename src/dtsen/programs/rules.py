"""Program rules as data: which families or persons a program reaches, for how much, and with what else.

A rule set ("edition") is a JSON document shipped in `rules/` (the default: Kepmensos 79/HUK/2025) or stored
in the database as a `RuleEdition` row with the date it takes effect. Every eligibility run copies the edition
it used (text and sha256), so a past period's list can be recomputed after the rules change.

Schema (checked by `rules_parse`; sources per value in the edition's `sources`):
- programs: code, name, unit ("family" | "person"), desil_min, desil_max, priority (lower decides first when
  two programs may not overlap), schedule {kind: "tahap", months: [...]}, amount:
    {kind: "components", max_components, components: [{code, annual, cap (per family, null = none), who}]}
    {kind: "monthly", monthly}           (per family, or per person for unit "person")
    {kind: "by_level", annual: {sd, smp, sma}}   (per pupil)
    {kind: "in_kind"}                    (no cash)
  requires_quota (default false): the program has a fixed number of places per kabupaten/kota; without a quota
  row nobody is selected there (the valid candidates wait, numbered).
  and for person programs `who`: everyone | pupil_6_21 | pupil_6_18.
- overlap: [{a, b, level ("family" | "person"), why}]: a and b may not both reach the same family (person);
  the program with the lower priority number keeps it.
- exclusion_categories: "all" or a list of ExclusionCategory values that exclude the whole family.
- pengurus_min_age: the youngest age at which a member can take over as pengurus.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from dtsen.core.errors import ValidationFailed
from dtsen.registry import choices as c

DEFAULT_EDITION = "kepmensos-79-huk-2025"
UNITS = ("family", "person")
AMOUNT_KINDS = ("components", "monthly", "by_level", "in_kind")
COMPONENT_WHO = ("pregnant", "age_0_6", "school_sd", "school_smp", "school_sma", "severe_disability", "age_70_plus")
PERSON_WHO = ("everyone", "pupil_6_21", "pupil_6_18")
TAHAP_PER_YEAR = 4


@dataclass(frozen=True)
class Component:
    code: str
    annual: int
    cap: int | None
    who: str


@dataclass(frozen=True)
class ProgramRule:
    code: str
    name: str
    unit: str
    desil_min: int
    desil_max: int
    priority: int
    months: tuple[int, ...]
    amount_kind: str
    monthly: int = 0
    max_components: int = 0
    components: tuple[Component, ...] = ()
    by_level: dict[str, int] = field(default_factory=dict)
    who: str = "everyone"
    requires_quota: bool = False  # places are counted (a boarding school): no quota row = no place

    def per_tahap_months(self) -> int:
        return 12 // len(self.months)


@dataclass(frozen=True)
class Overlap:
    a: str
    b: str
    level: str
    why: str


@dataclass(frozen=True)
class RuleSet:
    edition: str
    valid_from: str
    legal_basis: str
    programs: tuple[ProgramRule, ...]
    overlap: tuple[Overlap, ...]
    exclusion_categories: tuple[str, ...]
    pengurus_min_age: int
    text: str  # the canonical JSON the set was parsed from
    sha256: str

    def program(self, code: str) -> ProgramRule:
        for p in self.programs:
            if p.code == code:
                return p
        raise ValidationFailed(f"Program '{code}' tidak ada dalam aturan {self.edition}.",
                               f"Program '{code}' is not in the rules {self.edition}.", field="program")

    def by_priority(self) -> list[ProgramRule]:
        return sorted(self.programs, key=lambda p: (p.priority, p.code))


def _bad(message_id: str, message_en: str) -> ValidationFailed:
    return ValidationFailed(message_id, message_en, code="rules_invalid", field="rules")


def _int(value: Any, name: str, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise _bad(f"{name}: harus bilangan bulat {lo}-{hi}.", f"{name}: must be an integer {lo}-{hi}.")
    return value


def _program(raw: dict[str, Any]) -> ProgramRule:
    code = str(raw.get("code", ""))
    if not code.isidentifier():
        raise _bad(f"Kode program tidak valid: {code!r}.", f"Invalid program code: {code!r}.")
    unit = raw.get("unit")
    if unit not in UNITS:
        raise _bad(f"{code}: unit harus family atau person.", f"{code}: unit must be family or person.")
    dmin = _int(raw.get("desil_min"), f"{code}.desil_min", 1, 10)
    dmax = _int(raw.get("desil_max"), f"{code}.desil_max", dmin, 10)
    months = tuple(raw.get("schedule", {}).get("months") or ())
    if not months or 12 % len(months) or any(not isinstance(m, int) or not 1 <= m <= 12 for m in months):
        raise _bad(f"{code}: jadwal tahap tidak valid.", f"{code}: invalid payment schedule.")
    amount = raw.get("amount") or {}
    kind = amount.get("kind")
    if kind not in AMOUNT_KINDS:
        raise _bad(f"{code}: jenis nilai bantuan tidak dikenal.", f"{code}: unknown amount kind.")
    rule: dict[str, Any] = {}
    if kind == "components":
        comps = []
        for comp in amount.get("components") or []:
            if comp.get("who") not in COMPONENT_WHO:
                raise _bad(f"{code}: komponen {comp.get('code')} tidak dikenal.",
                           f"{code}: unknown component {comp.get('code')}.")
            cap = comp.get("cap")
            comps.append(Component(str(comp["code"]), _int(comp.get("annual"), f"{code}.annual", 0, 10**9),
                                   None if cap is None else _int(cap, f"{code}.cap", 1, 20), comp["who"]))
        if not comps:
            raise _bad(f"{code}: tidak ada komponen.", f"{code}: no components.")
        rule |= {"components": tuple(comps),
                 "max_components": _int(amount.get("max_components"), f"{code}.max_components", 1, 20)}
    elif kind == "monthly":
        rule["monthly"] = _int(amount.get("monthly"), f"{code}.monthly", 0, 10**8)
    elif kind == "by_level":
        levels = amount.get("annual") or {}
        if set(levels) != {"sd", "smp", "sma"}:
            raise _bad(f"{code}: nilai per jenjang harus sd, smp, sma.", f"{code}: amounts per level: sd, smp, sma.")
        rule["by_level"] = {k: _int(v, f"{code}.{k}", 0, 10**9) for k, v in levels.items()}
    who = raw.get("who", "everyone")
    if unit == "person" and who not in PERSON_WHO:
        raise _bad(f"{code}: sasaran tidak dikenal.", f"{code}: unknown target group.")
    return ProgramRule(code=code, name=str(raw.get("name", code)), unit=unit, desil_min=dmin, desil_max=dmax,
                       priority=_int(raw.get("priority"), f"{code}.priority", 0, 1000), months=months,
                       amount_kind=kind, who=who, requires_quota=bool(raw.get("requires_quota", False)), **rule)


def rules_parse(text: str) -> RuleSet:
    """Parse and check an edition (JSON text); its sha256 is of the canonical form (sorted keys)."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(f"Aturan bukan JSON yang valid: {exc}", f"The rules are not valid JSON: {exc}") from None
    programs = tuple(_program(p) for p in raw.get("programs") or [])
    codes = [p.code for p in programs]
    if not programs or len(set(codes)) != len(codes):
        raise _bad("Daftar program kosong atau ada kode ganda.", "No programs, or a program code repeats.")
    overlap = []
    for o in raw.get("overlap") or []:
        if o.get("a") not in codes or o.get("b") not in codes or o.get("a") == o.get("b") or \
                o.get("level") not in UNITS:
            raise _bad(f"Aturan tumpang tindih tidak valid: {o}.", f"Invalid overlap rule: {o}.")
        overlap.append(Overlap(o["a"], o["b"], o["level"], str(o.get("why", ""))))
    cats = raw.get("exclusion_categories", "all")
    categories = tuple(c.ExclusionCategory.values) if cats == "all" else tuple(cats)
    if set(categories) - set(c.ExclusionCategory.values):
        raise _bad("Kategori pengecualian tidak dikenal.", "Unknown exclusion category.")
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return RuleSet(
        edition=str(raw.get("edition", "")), valid_from=str(raw.get("valid_from", "")),
        legal_basis=str(raw.get("legal_basis", "")), programs=programs, overlap=tuple(overlap),
        exclusion_categories=categories, pengurus_min_age=_int(raw.get("pengurus_min_age", 17), "pengurus_min_age",
                                                               14, 25),
        text=canonical, sha256=hashlib.sha256(canonical.encode()).hexdigest(),
    )


def shipped_text(edition: str = DEFAULT_EDITION) -> str:
    return resources.files("dtsen.programs").joinpath("rules", f"{edition}.json").read_text(encoding="utf-8")


def rules_default() -> RuleSet:
    return rules_parse(shipped_text())


def with_changes(rules: RuleSet, changes: dict[str, dict[str, Any]]) -> RuleSet:
    """A copy of `rules` with some programs' fields replaced (a policy simulation's "what if"), e.g.
    {"pkh": {"desil_max": 3}} or {"pkh": {"amount": {...}}}."""
    raw = json.loads(rules.text)
    known = {p["code"] for p in raw["programs"]}
    for code, fields in changes.items():
        if code not in known:
            raise _bad(f"Program '{code}' tidak ada.", f"No program '{code}'.")
        for p in raw["programs"]:
            if p["code"] == code:
                p.update(fields)
    raw["edition"] = f"{rules.edition}+simulasi"
    return rules_parse(json.dumps(raw))
