"""The verification visit questionnaire, declared once (issue 8): the phone page (`visit_views`, its template)
and the ODK/KoboToolbox XLSForm (`dtsen.fieldforms.xlsform`) are both built from `QUESTIONS`.

A question has a name (the form field, the XLSForm name and the export column), a type, a label, its choices,
whether it is required, a constraint the server checks anyway (`visits.visit_submit` is the judge: the XLSForm's
constraints only save the worker a refused submission) and the section it sits in. Labels are the English
msgids of the phone page (`gettext_lazy`), so the Indonesian text comes from the same catalogue; a label given as
an (Indonesian, English) pair is data (like the registry's asset names).

Types: select_one, select_multiple, text, integer, decimal, date, boolean, image. `found_only`: asked only
when the family was found (the condition indicators). `photo_kind`: the document kind an image becomes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy

from dtsen.documents.models import DocumentKind
from dtsen.registry import choices as c
from dtsen.updates.models import Program, VisitOutcome

FORM_ID = "dtsen_kunjungan"
FORM_TITLE = ("Kunjungan verifikasi DTSEN", "DTSEN verification visit")
LANGUAGES = ("id", "en")
POWER_VA = (450, 900, 1300, 2200, 3500, 4400, 5500, 6600)
INCOME_MAX = 1_000_000_000

Label = Any  # a lazy English msgid, or an (Indonesian, English) pair


def text_in(label: Label, language: str) -> str:
    """A label in `language` ("id" or "en")."""
    if isinstance(label, tuple):
        return label[0] if language == "id" else label[1]
    with translation.override(language):
        return str(label)


def _text_choices(choices: Any) -> Callable[[], list[tuple[str, Label]]]:
    return lambda: [(str(value), label) for value, label in choices.choices]


def _asset_choices() -> list[tuple[str, Label]]:
    return [(name, (id_, en)) for name, id_, en in c.ASSETS]


def _power_choices() -> list[tuple[str, Label]]:
    return [(str(va), (f"{va} VA", f"{va} VA")) for va in POWER_VA]


@dataclass(frozen=True)
class Question:
    name: str
    type: str
    label: Label
    section: str
    required: bool = False
    choices: Callable[[], list[tuple[str, Label]]] | None = None
    list_name: str = ""
    found_only: bool = False
    photo_kind: str = ""
    empty_label: Label = None  # a select_one's "none" answer (the phone page's empty option)
    max_length: int = 0
    min_value: int | None = None
    max_value: int | None = None
    hint: Label = None
    extra: dict[str, str] = field(default_factory=dict)

    def choice_list(self) -> list[tuple[str, Label]]:
        return self.choices() if self.choices is not None else []


@dataclass(frozen=True)
class Section:
    name: str
    label: Label
    found_only: bool = False


SECTIONS: tuple[Section, ...] = (
    Section("kunjungan", ("Hasil kunjungan", "Visit result")),
    Section("wawancara", gettext_lazy("Interview")),
    Section("kondisi", gettext_lazy("House and assets (when the family was found)"), found_only=True),
    Section("foto", gettext_lazy("Photos")),
)

_CONDITION_SELECTS: tuple[tuple[str, Label, Any], ...] = (
    ("tenure", gettext_lazy("Housing tenure"), c.HousingTenure),
    ("floor_material", gettext_lazy("Floor"), c.FloorMaterial),
    ("wall_material", gettext_lazy("Walls"), c.WallMaterial),
    ("roof_material", gettext_lazy("Roof"), c.RoofMaterial),
    ("toilet", gettext_lazy("Toilet"), c.Toilet),
    ("drinking_water", gettext_lazy("Drinking water"), c.DrinkingWater),
    ("lighting", gettext_lazy("Lighting"), c.Lighting),
    ("cooking_fuel", gettext_lazy("Cooking fuel"), c.CookingFuel),
)

QUESTIONS: tuple[Question, ...] = (
    Question("outcome", "select_one", gettext_lazy("Was the family found?"), "kunjungan", required=True,
             choices=_text_choices(VisitOutcome), list_name="hasil"),
    Question("visited_on", "date", gettext_lazy("Visit date"), "kunjungan", required=True),
    Question("income_monthly", "integer", gettext_lazy("Household income per month (Rp)"), "wawancara",
             min_value=0, max_value=INCOME_MAX),
    Question("occupation", "text", gettext_lazy("Occupation of the head"), "wawancara", max_length=60),
    Question("aid_received", "select_multiple", gettext_lazy("Aid received"), "wawancara",
             choices=_text_choices(Program), list_name="bantuan"),
    Question("notes", "text", gettext_lazy("Notes"), "wawancara", max_length=1000, extra={"appearance": "multiline"}),
    *(Question(name, "select_one", label, "kondisi", choices=_text_choices(choices), list_name=name,
               found_only=True) for name, label, choices in _CONDITION_SELECTS),
    Question("floor_area_m2", "decimal", gettext_lazy("Floor area (m²)"), "kondisi", found_only=True,
             min_value=1, max_value=5000),
    Question("power_va", "select_one", gettext_lazy("Installed power (VA)"), "kondisi", found_only=True,
             choices=_power_choices, list_name="daya", empty_label=gettext_lazy("No PLN meter / unknown")),
    Question("received_credit", "boolean", gettext_lazy("Received a business credit (KUR etc.)"), "kondisi",
             found_only=True),
    Question("assets", "select_multiple", gettext_lazy("Assets"), "kondisi", choices=_asset_choices,
             list_name="aset", found_only=True),
    Question("photo_house_front", "image", gettext_lazy("Front of the house"), "foto",
             photo_kind=DocumentKind.HOUSE_FRONT),
    Question("photo_house_inside", "image", gettext_lazy("Inside the house"), "foto",
             photo_kind=DocumentKind.HOUSE_INSIDE),
    Question("photo_kk", "image", gettext_lazy("Family card (KK)"), "foto", photo_kind=DocumentKind.KK),
)

BY_NAME: dict[str, Question] = {q.name: q for q in QUESTIONS}


def questions(*, section: str | None = None, type: str | None = None) -> list[Question]:
    return [q for q in QUESTIONS if (section is None or q.section == section) and (type is None or q.type == type)]


def photo_questions() -> list[Question]:
    return questions(type="image")


def condition_selects() -> list[Question]:
    """The condition indicators chosen from a registry code list (the phone page's selects)."""
    return [q for q in QUESTIONS if q.section == "kondisi" and q.type == "select_one" and q.empty_label is None]


def definition_json(items: Sequence[Question] = QUESTIONS) -> dict[str, Any]:
    """Everything that shapes the questionnaire, in both languages: what the form version is a hash of."""
    def both(label: Label) -> list[str] | None:
        return [text_in(label, lang) for lang in LANGUAGES] if label is not None else None

    return {
        "form_id": FORM_ID, "title": list(FORM_TITLE),
        "sections": [{"name": s.name, "label": both(s.label), "found_only": s.found_only} for s in SECTIONS],
        "questions": [{
            "name": q.name, "type": q.type, "label": both(q.label), "section": q.section, "required": q.required,
            "choices": [[v, both(lab)] for v, lab in q.choice_list()], "list_name": q.list_name,
            "found_only": q.found_only, "photo_kind": q.photo_kind, "empty_label": both(q.empty_label),
            "max_length": q.max_length, "min": q.min_value, "max": q.max_value, "hint": both(q.hint),
            "extra": q.extra,
        } for q in items],
    }


def definition_hash() -> str:
    text = json.dumps(definition_json(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
