"""The person-linkage model: its definition in code, trained parameters carried as data.

Splink writes dialect-specific SQL into a saved model, so a model saved from DuckDB does not load into Spark.
The definition (comparisons, levels, blocking rules) therefore lives here, and a trained model is only its
parameters: m and u per comparison level and the prior (`probability_two_random_records_match`), as a JSON
artefact with a version and a checksum (`ModelParams`). `settings(params)` builds the Splink settings for
any engine with those parameters filled in.

Comparisons (columns from `dtsen.linkage.prepare`):
- NIK: equal; one edit apart outside the serial (a changed digit or two adjacent digits swapped, same serial
  and same sex digit); same first 12 digits (region, birth date and sex) with another serial — persons born on
  one day in one kecamatan get consecutive serials, so this is weak evidence; else.
- Name: equal (canonical form); Jaro-Winkler >= 0.95 (a typo); same phonetic skeleton; compatible
  abbreviation (same first word and last initial, or same last word and first initial, or one name is the
  other without its last word); same first initial and a last word with a typo; different last words written
  out (two persons sharing a given name); different first words written out (siblings); Jaro-Winkler >= 0.85;
  else. Similarity is measured without a leading common given name (Muhammad, Siti, Nur...).
- Birth date: equal; day and month swapped; same year and month; same year; else.
- Residence: same village; same kecamatan; same kabupaten/kota; else.
- Birth place: equal (weighted by how common the place is); else.
- Sex: equal; else.

Blocking rules, each an equality of columns, so that the number of pairs it yields can be counted before it
runs (`dtsen.linkage.engine.pair_counts`): NIK; NIK head (region and birth-date digits) + first initial;
birth date + village; birth date + phonetic skeleton; one's swapped birth date = the other's birth date +
first word; name + village; first word + last word + birth year.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

MODEL_NAME = "dtsen-person-v1"

# Equi-join blocking rules (column tuples). Prediction uses all; EM training uses `TRAINING_RULES`.
PREDICTION_RULES: tuple[tuple[str, ...], ...] = (
    ("nik",),
    ("nik_head", "first_initial"),
    ("birth_date", "village_code"),
    ("birth_date", "name_phon"),
    ("birth_swap=birth_date", "first_word"),
    ("name_norm", "village_code"),
    ("first_word", "last_word", "birth_year"),
)
TRAINING_RULES: tuple[tuple[str, ...], ...] = (
    ("nik",),
    ("birth_date", "village_code"),
    ("name_norm", "kab_code"),
)
# A pair counted by the deterministic rule below is almost surely a match; used for the prior.
DETERMINISTIC_RULE = "l.nik = r.nik AND l.birth_date = r.birth_date"
DETERMINISTIC_RECALL = 0.7

_COMPATIBLE = (
    "(first_word_l = first_word_r AND last_initial_l = last_initial_r)"
    " OR (last_word_l = last_word_r AND first_initial_l = first_initial_r)"
    " OR (first_word_l = first_word_r AND (last_word_l IS NULL OR last_word_r IS NULL))"
)


def _nik() -> list[Any]:
    return [
        cll.NullLevel("nik"),
        cll.ExactMatchLevel("nik"),
        cll.ElseLevel(),
    ]


def _name() -> list[Any]:
    return [
        cll.NullLevel("name_norm"),
        cll.ExactMatchLevel("name_norm", term_frequency_adjustments=True),
        cll.JaroWinklerLevel("name_core", 0.95),
        cll.ExactMatchLevel("name_phon"),
        cll.CustomLevel(_COMPATIBLE, label_for_charts="abbreviation compatible", base_dialect_str="duckdb"),
        cll.And(cll.ExactMatchLevel("first_initial"), cll.JaroWinklerLevel("last_word", 0.9)).configure(
            label_for_charts="same first initial, last word with a typo"
        ),
        # Both names have a last word written out and they are different words: two persons who share a
        # given name ("Cagak Gunawan", "Cagak Rayasa"), not a spelling of one.
        cll.And(
            cll.CustomLevel("length(last_word_l) > 1 AND length(last_word_r) > 1"),
            cll.Not(cll.JaroWinklerLevel("last_word", 0.8)),
        ).configure(label_for_charts="different last words"),
        # ... or different given names with one family name ("Purwadi Hidayanto", "Dimaz Hidayanto"): siblings.
        cll.And(
            cll.CustomLevel("length(first_word_l) > 1 AND length(first_word_r) > 1"),
            cll.Not(cll.JaroWinklerLevel("first_word", 0.8)),
        ).configure(label_for_charts="different first words"),
        cll.JaroWinklerLevel("name_core", 0.85),
        cll.ElseLevel(),
    ]


def _birth() -> list[Any]:
    return [
        cll.NullLevel("birth_date"),
        cll.ExactMatchLevel("birth_date"),
        cll.CustomLevel("birth_date_l = birth_swap_r", label_for_charts="day and month swapped"),
        cll.CustomLevel("substr(birth_date_l, 1, 7) = substr(birth_date_r, 1, 7)", label_for_charts="same month"),
        cll.ExactMatchLevel("birth_year"),
        cll.ElseLevel(),
    ]


def _residence() -> list[Any]:
    return [
        cll.NullLevel("village_code"),
        cll.ExactMatchLevel("village_code"),
        cll.ExactMatchLevel("kec_code"),
        cll.ExactMatchLevel("kab_code"),
        cll.ElseLevel(),
    ]


def _birth_place() -> list[Any]:
    return [
        cll.NullLevel("birth_place"),
        cll.ExactMatchLevel("birth_place", term_frequency_adjustments=True),
        cll.ElseLevel(),
    ]


def _sex() -> list[Any]:
    return [cll.NullLevel("sex"), cll.ExactMatchLevel("sex"), cll.ElseLevel()]


COMPARISONS = {"nik": _nik, "name": _name, "birth_date": _birth, "residence": _residence,
               "birth_place": _birth_place, "sex": _sex}


@dataclass
class ModelParams:
    """Trained parameters of `MODEL_NAME`: the prior and, per comparison, m and u of each non-null level in
    order (None where training left a level without an estimate)."""

    prior: float
    levels: dict[str, list[dict[str, float | None]]]
    trained_on: dict[str, Any] = field(default_factory=dict)
    model: str = MODEL_NAME

    def as_json(self) -> str:
        body = {"model": self.model, "prior": self.prior, "levels": self.levels, "trained_on": self.trained_on}
        return json.dumps(body, indent=2, sort_keys=True)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.as_json().encode()).hexdigest()

    @classmethod
    def from_json(cls, text: str) -> ModelParams:
        body = json.loads(text)
        if body.get("model") != MODEL_NAME:
            raise ValueError(f"parameters of model {body.get('model')!r}, expected {MODEL_NAME!r}")
        return cls(prior=float(body["prior"]), levels=body["levels"], trained_on=body.get("trained_on", {}))


def _sides(column: str) -> tuple[str, str]:
    left, _, right = column.partition("=")
    return left, right or left


def blocking_rule(rule: tuple[str, ...]) -> Any:
    """A Splink blocking rule of `rule`: equal columns, or "a=b" for l.a = r.b (a symmetric relation such as
    a swapped date: l.birth_swap = r.birth_date holds exactly when r.birth_swap = l.birth_date)."""
    if all("=" not in c for c in rule):
        return block_on(*rule)
    return " AND ".join(f"l.{left} = r.{right}" for left, right in map(_sides, rule))


def settings(params: ModelParams | None = None) -> SettingsCreator:
    """The Splink settings of the model, for any engine; with `params`, the trained m/u filled in."""
    comparisons: list[Any] = []
    for name, make in COMPARISONS.items():
        levels = make()
        if params is not None:
            trained = list(params.levels[name])
            scored = [lv for lv in levels if not isinstance(lv, cll.NullLevel)]
            if len(trained) != len(scored):
                raise ValueError(f"parameters of {name!r} have {len(trained)} levels, the model {len(scored)}")
            for level, values in zip(scored, trained, strict=True):
                options = {f"{k}_probability": v for k, v in values.items() if k in ("m", "u") and v is not None}
                if options:
                    level.configure(**options)
        comparisons.append(cl.CustomComparison(levels, output_column_name=name))
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[blocking_rule(rule) for rule in PREDICTION_RULES],
        probability_two_random_records_match=params.prior if params else 0.0001,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


# The synthetic faults never change a birth place or a sex, so EM learns m ~ 0 for those disagreements and a
# penalty of 40+ bits; registers do hold such slips. No level's m goes below this floor (about -10 bits at most
# for a disagreement), so one slipped field cannot veto a pair that agrees on everything else.
M_FLOOR = 0.001


def params_from_linker(linker: Any, trained_on: dict[str, Any]) -> ModelParams:
    """Read the trained parameters out of a Splink linker (m floored at `M_FLOOR`)."""
    s = linker._settings_obj  # Splink keeps the trained model there; there is no public getter of m/u
    levels: dict[str, list[dict[str, float | None]]] = {}
    for comparison in s.comparisons:
        rows = []
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            m = level.m_probability
            u = level.u_probability
            rows.append({
                "label": level.label_for_charts,
                "m": None if m is None or isinstance(m, str) else max(float(m), M_FLOOR),
                "u": None if u is None or isinstance(u, str) else float(u),
            })
        levels[comparison.output_column_name] = rows
    return ModelParams(prior=float(s._probability_two_random_records_match), levels=levels, trained_on=trained_on)
