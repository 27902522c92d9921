"""The verification visit questionnaire as an XLSForm (survey, choices, settings), built from the one definition
the phone page uses (`dtsen.updates.visit_questions`), with labels in Indonesian and English.

Beyond the phone page's questions the form has:
- `task`: the task code shown on the dtsen visit page (the visit number and a Luhn check digit, typed on the
  numeric keypad). A typed code works offline and with any server (ODK Central, KoboToolbox) with no entity list
  to keep in sync; the check digit turns a typo into a refused row instead of another task's visit.
- `<photo>_lokasi`: a geopoint taken right after each photo. The photo's own EXIF GPS wins when present
  (phones' cameras write it; ODK Collect's camera often does not); the geopoint is the evidence otherwise.
- `start` / `end`: when the form was opened and closed; `start` stands for a photo's time when EXIF has none
  (photos are camera-only, `appearance=new`, so none predates the form).

form_id is the definition's (`FORM_ID`); version is a hash of the generated sheets, so any change to the
questions, their labels, choices or constraints gives a new version ODK Central accepts as an update.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

from openpyxl import Workbook

from dtsen.updates import visit_questions as vq
from dtsen.updates.models import VisitOutcome

LANG_NAMES = {"id": "Indonesian (id)", "en": "English (en)"}
SURVEY_COLUMNS = ("type", "name", *(f"label::{LANG_NAMES[lang]}" for lang in vq.LANGUAGES),
                  *(f"hint::{LANG_NAMES[lang]}" for lang in vq.LANGUAGES), "required",
                  *(f"required_message::{LANG_NAMES[lang]}" for lang in vq.LANGUAGES), "constraint",
                  *(f"constraint_message::{LANG_NAMES[lang]}" for lang in vq.LANGUAGES), "relevant", "appearance",
                  "parameters")
CHOICE_COLUMNS = ("list_name", "name", *(f"label::{LANG_NAMES[lang]}" for lang in vq.LANGUAGES))
SETTINGS_COLUMNS = ("form_title", "form_id", "version", "default_language", "instance_name")

TASK_FIELD = "task"
LOCATION_SUFFIX = "_lokasi"
NONE_CHOICE = "tidak_ada"  # a select_one's empty answer on the phone page ("No PLN meter / unknown")
BOOLEAN_LIST = "ya_tidak"
BOOLEAN_CHOICES = (("1", ("Ya", "Yes")), ("0", ("Tidak", "No")))
FOUND = f"${{outcome}} = '{VisitOutcome.FOUND}'"

TASK_LABEL = ("Kode tugas (tertera di halaman tugas kunjungan dtsen)", "Task code (shown on the dtsen visit task page)")
TASK_HINT = ("Angka saja, termasuk digit terakhir (digit pemeriksa).", "Digits only, including the last (check) digit.")
TASK_MESSAGE = ("Kode tugas hanya berisi angka.", "The task code has digits only.")
LOCATION_LABEL = ("Lokasi pengambilan foto: {}", "Where the photo was taken: {}")
LOCATION_HINT = ("Ambil lokasi di tempat foto diambil.", "Record the location where the photo was taken.")
REQUIRED_MESSAGE = ("Wajib diisi.", "Required.")
PHOTO_REQUIRED_MESSAGE = ("Sedikitnya satu foto wajib diambil; foto depan rumah bila keluarga ditemukan.",
                          "At least one photo is required; the front of the house when the family was found.")
DATE_MESSAGE = ("Tanggal kunjungan tidak boleh di masa depan.", "The visit date cannot be in the future.")
RANGE_MESSAGE = ("Nilai di luar batas {}-{}.", "Value outside {}-{}.")
LENGTH_MESSAGE = ("Paling banyak {} karakter.", "At most {} characters.")


def _labels(prefix: str, label: vq.Label, *args: Any) -> dict[str, str]:
    if label is None:
        return {}
    texts = [vq.text_in(label, lang) for lang in vq.LANGUAGES]
    return {f"{prefix}::{LANG_NAMES[lang]}": text.format(*args) if args else text
            for lang, text in zip(vq.LANGUAGES, texts, strict=True)}


def location_name(question: vq.Question) -> str:
    return question.name + LOCATION_SUFFIX


def _constraint(q: vq.Question) -> dict[str, str]:
    if q.type == "date":
        return {"constraint": ". <= today()", **_labels("constraint_message", DATE_MESSAGE)}
    if q.min_value is not None and q.max_value is not None:
        return {"constraint": f". >= {q.min_value} and . <= {q.max_value}",
                **_labels("constraint_message", RANGE_MESSAGE, q.min_value, q.max_value)}
    if q.max_length:
        return {"constraint": f"string-length(.) <= {q.max_length}",
                **_labels("constraint_message", LENGTH_MESSAGE, q.max_length)}
    return {}


def _photo_required(q: vq.Question) -> str:
    """Front of the house when the family was found; otherwise the last photo when no other was taken."""
    photos = vq.photo_questions()
    if q.photo_kind == photos[0].photo_kind:
        return FOUND
    if q is photos[-1]:
        others = " and ".join(f"${{{p.name}}} = ''" for p in photos[:-1])
        return f"not({FOUND}) and {others}"
    return ""


def _question_rows(q: vq.Question) -> list[dict[str, str]]:
    row: dict[str, str] = {"name": q.name, **_labels("label", q.label), **_labels("hint", q.hint)}
    if q.type in ("select_one", "select_multiple"):
        row["type"] = f"{q.type} {q.list_name}"
    elif q.type == "boolean":
        row["type"] = f"select_one {BOOLEAN_LIST}"
    else:
        row["type"] = q.type
    row |= _constraint(q)
    row |= q.extra
    required = "yes" if q.required else ""
    if q.type == "image":
        required = _photo_required(q)
        row["appearance"] = "new"  # the camera only: no picture from the gallery
        row["parameters"] = "max-pixels=2048"
        if required:
            row |= _labels("required_message", PHOTO_REQUIRED_MESSAGE)
    elif required:
        row |= _labels("required_message", REQUIRED_MESSAGE)
    if required:
        row["required"] = required
    rows = [row]
    if q.type == "image":
        names = {f"label::{LANG_NAMES[lang]}": LOCATION_LABEL[i].format(vq.text_in(q.label, lang))
                 for i, lang in enumerate(vq.LANGUAGES)}  # each language's label names its own photo
        rows.append({"type": "geopoint", "name": location_name(q), **names, **_labels("hint", LOCATION_HINT),
                     "required": "yes", **_labels("required_message", REQUIRED_MESSAGE),
                     "relevant": f"${{{q.name}}} != ''"})
    return rows


def survey_rows() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = [
        {"type": "start", "name": "start"},
        {"type": "end", "name": "end"},
        {"type": "text", "name": TASK_FIELD, **_labels("label", TASK_LABEL), **_labels("hint", TASK_HINT),
         "required": "yes", **_labels("required_message", REQUIRED_MESSAGE), "appearance": "numbers",
         "constraint": "regex(., '^[0-9]{2,19}$')", **_labels("constraint_message", TASK_MESSAGE)},
    ]
    for section in vq.SECTIONS:
        group: dict[str, str] = {"type": "begin_group", "name": section.name, **_labels("label", section.label)}
        if section.found_only:
            group["relevant"] = FOUND
        rows.append(group)
        for q in vq.questions(section=section.name):
            rows.extend(_question_rows(q))
        rows.append({"type": "end_group", "name": section.name})
    return rows


def choice_rows() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for q in vq.QUESTIONS:
        if not q.list_name or q.list_name in seen:
            continue
        seen.add(q.list_name)
        rows.extend({"list_name": q.list_name, "name": value, **_labels("label", label)}
                    for value, label in q.choice_list())
        if q.empty_label is not None:
            rows.append({"list_name": q.list_name, "name": NONE_CHOICE, **_labels("label", q.empty_label)})
    rows.extend({"list_name": BOOLEAN_LIST, "name": value, **_labels("label", label)}
                for value, label in BOOLEAN_CHOICES)
    return rows


def form_sheets() -> dict[str, list[dict[str, str]]]:
    """The three sheets as lists of rows; settings carry the version (a hash of survey and choices)."""
    survey, choices = survey_rows(), choice_rows()
    body = json.dumps({"survey": survey, "choices": choices, "title": vq.FORM_TITLE, "form_id": vq.FORM_ID},
                      sort_keys=True, ensure_ascii=False)
    version = hashlib.sha256(body.encode()).hexdigest()[:12]
    settings = [{"form_title": vq.FORM_TITLE[0], "form_id": vq.FORM_ID, "version": version,
                 "default_language": LANG_NAMES["id"], "instance_name": f"concat('Tugas ', ${{{TASK_FIELD}}})"}]
    return {"survey": survey, "choices": choices, "settings": settings}


def form_version() -> str:
    return form_sheets()["settings"][0]["version"]


def xlsform_bytes() -> bytes:
    """The XLSForm workbook (.xlsx)."""
    sheets = form_sheets()
    columns = {"survey": SURVEY_COLUMNS, "choices": CHOICE_COLUMNS, "settings": SETTINGS_COLUMNS}
    book = Workbook()
    for blank in list(book.worksheets):
        book.remove(blank)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        sheet.append(list(columns[name]))
        for row in rows:
            unknown = set(row) - set(columns[name])
            if unknown:
                raise ValueError(f"columns not in the {name} sheet: {sorted(unknown)}")
            sheet.append([row.get(col, "") or None for col in columns[name]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
