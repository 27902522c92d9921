"""Reading an ODK Central (or KoboToolbox) export of the visit form: the zip "All data and media" (or the folder
it unpacks to) with `<form_id>.csv` and the attachments under `media/` (or `attachments/`), or the JSON of
Central's OData feed (`Submissions` with `__id`, `__system`) saved to a file beside the attachments.

Each row becomes a `FieldSubmission`: the answers by question name (group prefixes removed: Central joins
groups with "-", Kobo with "/"), each photo's geopoint, the metadata (instanceID, submitter, dates, review
state) and the attachment file names. Nothing here touches the database.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from dtsen.core.errors import ValidationFailed
from dtsen.fieldforms.xlsform import TASK_FIELD, location_name
from dtsen.updates import visit_questions as vq

MEDIA_FOLDERS = ("media", "attachments", "files")
GEO_PARTS = ("Latitude", "Longitude", "Altitude", "Accuracy")
META_KEYS = {
    "instance_id": ("meta-instanceID", "meta/instanceID", "instanceID", "KEY", "__id", "_uuid"),
    "submitter": ("SubmitterName", "__system-submitterName", "_submitted_by", "username"),
    "submitted_at": ("SubmissionDate", "__system-submissionDate", "_submission_time"),
    "review_state": ("ReviewState", "__system-reviewState", "_validation_status"),
    "form_version": ("FormVersion", "__system-formVersion", "__version__"),
    "start": ("start",),
}
MAX_ROWS = 100_000


@dataclass
class Geo:
    lat: Decimal
    lon: Decimal
    accuracy: Decimal | None = None


@dataclass
class FieldSubmission:
    row: int
    instance_id: str
    submitter: str
    task: str
    answers: dict[str, str]
    locations: dict[str, Geo | None] = field(default_factory=dict)
    submitted_at: str = ""
    review_state: str = ""
    form_version: str = ""
    start: str = ""


class Attachments:
    """The export's attachment files by base name (ODK names them uniquely, e.g. 1732781234567.jpg)."""

    def __init__(self) -> None:
        self._zip: zipfile.ZipFile | None = None
        self._names: dict[str, Any] = {}

    @classmethod
    def of_zip(cls, archive: zipfile.ZipFile) -> Attachments:
        out = cls()
        out._zip = archive
        for info in archive.infolist():
            if not info.is_dir() and not info.filename.lower().endswith((".csv", ".json")):
                out._names.setdefault(Path(info.filename).name, info)
        return out

    @classmethod
    def of_folder(cls, folder: Path) -> Attachments:
        out = cls()
        for sub in (*MEDIA_FOLDERS, "."):
            base = folder / sub
            if base.is_dir():
                for item in sorted(base.iterdir()):
                    if item.is_file() and item.suffix.lower() not in (".csv", ".json"):
                        out._names.setdefault(item.name, item)
        return out

    def read(self, name: str) -> bytes | None:
        item = self._names.get(Path(name).name)
        if item is None:
            return None
        if self._zip is not None:
            return self._zip.read(item)
        return Path(item).read_bytes()


def _bad_export(message_id: str, message_en: str) -> ValidationFailed:
    return ValidationFailed(message_id, message_en, code="odk_export_invalid", field="export")


def _flatten(value: Any, prefix: str, out: dict[str, str]) -> None:
    """A JSON submission as the CSV's flat columns (groups joined with "-", a GeoJSON point split like Central)."""
    if isinstance(value, dict) and value.get("type") == "Point" and isinstance(value.get("coordinates"), list):
        coords = value["coordinates"]
        out[f"{prefix}-Longitude"] = str(coords[0]) if len(coords) > 0 else ""
        out[f"{prefix}-Latitude"] = str(coords[1]) if len(coords) > 1 else ""
        out[f"{prefix}-Altitude"] = str(coords[2]) if len(coords) > 2 else ""
        accuracy = (value.get("properties") or {}).get("accuracy")
        out[f"{prefix}-Accuracy"] = "" if accuracy is None else str(accuracy)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}-{key}" if prefix else str(key), out)
        return
    if isinstance(value, list):  # a repeat (the visit form has none) is left out
        return
    out[prefix] = "" if value is None else str(value)


def _lookup(row: dict[str, str], name: str, section: str = "") -> str:
    for key in (f"{section}-{name}", f"{section}/{name}", name) if section else (name,):
        if key in row:
            return (row[key] or "").strip()
    return ""


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text.strip() else None
    except InvalidOperation:
        return None


def _geo(row: dict[str, str], name: str, section: str) -> Geo | None:
    """Central's split columns (<name>-Latitude ...), else ODK's raw text "lat lon alt accuracy"."""
    parts = {p: _lookup(row, f"{name}-{p}", section) for p in GEO_PARTS}
    if not parts["Latitude"]:  # Kobo: _<name>_latitude
        parts |= {p: _lookup(row, f"_{name}_{p.lower()}", section) for p in GEO_PARTS if not parts[p]}
    if not parts["Latitude"]:
        raw = _lookup(row, name, section).split()
        if len(raw) >= 2:
            parts = dict(zip(GEO_PARTS, [*raw, "", "", ""][:4], strict=True))
    lat, lon = _decimal(parts["Latitude"]), _decimal(parts["Longitude"])
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return Geo(lat=lat, lon=lon, accuracy=_decimal(parts.get("Accuracy", "")))


def _meta(row: dict[str, str], what: str) -> str:
    for key in META_KEYS[what]:
        if row.get(key):
            return str(row[key]).strip()
    return ""


def submission_of(row: dict[str, str], number: int) -> FieldSubmission:
    answers = {q.name: _lookup(row, q.name, q.section) for q in vq.QUESTIONS}
    locations = {q.name: _geo(row, location_name(q), q.section) for q in vq.photo_questions()}
    instance_id = _meta(row, "instance_id")
    if instance_id and not instance_id.startswith("uuid:") and "KEY" not in row and "__id" not in row:
        instance_id = f"uuid:{instance_id}"  # Kobo's _uuid has no prefix
    return FieldSubmission(
        row=number, instance_id=instance_id, submitter=_meta(row, "submitter"), task=_lookup(row, TASK_FIELD),
        answers=answers, locations=locations, submitted_at=_meta(row, "submitted_at"),
        review_state=_meta(row, "review_state"), form_version=_meta(row, "form_version"), start=_meta(row, "start"),
    )


def _rows_of_csv(text: str) -> Iterator[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    for row in reader:
        yield {k: v for k, v in row.items() if k is not None}


def _rows_of_json(text: str) -> Iterator[dict[str, str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad_export(f"Berkas JSON tidak valid: {exc}", f"Invalid JSON file: {exc}") from None
    items = data.get("value", data.get("results")) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise _bad_export("JSON tidak berisi daftar kiriman (value).", "The JSON holds no list of submissions (value).")
    for item in items:
        flat: dict[str, str] = {}
        _flatten(item, "", flat)
        yield flat


def _main_file(names: list[str]) -> str:
    """`<form_id>.csv` when present, else the only CSV that is not a repeat table, else the only JSON."""
    csvs = [n for n in names if n.lower().endswith(".csv")]
    exact = [n for n in csvs if Path(n).name == f"{vq.FORM_ID}.csv"]
    if exact:
        return exact[0]
    roots = [n for n in csvs if "-" not in Path(n).stem] or csvs
    if len(roots) == 1:
        return roots[0]
    jsons = [n for n in names if n.lower().endswith(".json")]
    if not roots and len(jsons) == 1:
        return jsons[0]
    raise _bad_export(
        f"Tidak menemukan {vq.FORM_ID}.csv (atau satu-satunya CSV/JSON) di ekspor.",
        f"Could not find {vq.FORM_ID}.csv (or a single CSV/JSON) in the export.",
    )


def _parse(name: str, text: str) -> list[FieldSubmission]:
    rows = _rows_of_json(text) if name.lower().endswith(".json") else _rows_of_csv(text)
    out = []
    for number, row in enumerate(rows, start=1):
        if number > MAX_ROWS:
            raise _bad_export(f"Paling banyak {MAX_ROWS} kiriman per impor.", f"At most {MAX_ROWS} rows per import.")
        out.append(submission_of(row, number))
    return out


def read_export(path: Path) -> tuple[list[FieldSubmission], Attachments]:
    """The submissions and attachments of an export zip, a folder, or a single CSV/JSON file."""
    if path.is_dir():
        names = [str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()]
        main = _main_file(names)
        return _parse(main, (path / main).read_text(encoding="utf-8")), Attachments.of_folder(path)
    if zipfile.is_zipfile(path):
        archive = zipfile.ZipFile(path)
        main = _main_file(archive.namelist())
        return _parse(main, archive.read(main).decode("utf-8")), Attachments.of_zip(archive)
    if path.suffix.lower() in (".csv", ".json") and path.is_file():
        return _parse(path.name, path.read_text(encoding="utf-8")), Attachments.of_folder(path.parent)
    raise _bad_export(f"Bukan ekspor ODK: {path.name}", f"Not an ODK export: {path.name}")
