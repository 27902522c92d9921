"""Fixtures of the ODK bridge tests: the update tests' Kulon Progo staff and families, visit tasks ordered through
the services (family A in Temon for the Temon facilitator, family B in Wates for the Wates facilitator), and an
ODK Central export built like Central builds it ("All data and media": `<form_id>.csv` with the group-prefixed
columns, split geopoints and Central's metadata columns, plus `media/` with the photos)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from dtsen.fieldforms.xlsform import LOCATION_SUFFIX, form_sheets
from dtsen.registry.models import Family
from dtsen.updates import services as svc
from dtsen.updates.models import MusdesKind, UsulanKind, Visit
from dtsen.updates.visits import task_code
from tests.updates.conftest import (  # noqa: F401 - fixtures re-exported for this package
    CONDITION,
    HOME,
    VILLAGE_A,
    VILLAGE_B,
    _citizen_settings,
    active,
    awaiting,
    dinsos,
    family_a,
    family_b,
    geotagged_a,
    gps_photo,
    member,
    minutes_pdf,
    operator_a,
    operator_b,
    system,
    verifier,
    worker,
    worker_wates,
)

# Central's metadata columns after the form's own (CSV export of ODK Central 2024.x).
CENTRAL_TAIL = ("meta-instanceID", "KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent",
                "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits", "FormVersion")
GEO_PARTS = ("Latitude", "Longitude", "Altitude", "Accuracy")


def today() -> dt.date:
    return timezone.localdate()


def order_visit(operator: Any, dinsos_user: Any, worker_user: Any, family: Family, village: str) -> Visit:
    """A deactivation usulan ("well-off") past its village meeting, with a visit task for the worker."""
    usulan = svc.usulan_create(actor=operator, kind=UsulanKind.DEACTIVATION, village_code=village,
                               family=family, payload={"reason": "mampu"})
    svc.usulan_to_musdes(actor=operator, usulan=usulan)
    svc.musdes_record(actor=operator, village_code=village, kind=MusdesKind.MUSDES, held_on=today(),
                      signed_by="Kepala Desa", minutes=minutes_pdf(), decisions={usulan.pk: (True, "")})
    svc.usulan_send_to_dinsos(actor=operator, usulan=usulan)
    return svc.usulan_order_visit(actor=dinsos_user, usulan=usulan, worker=worker_user,
                                  due_on=today() + dt.timedelta(days=3), instructions="Cek aset kendaraan")


@pytest.fixture
def task(operator_a, dinsos, worker, geotagged_a) -> Visit:  # noqa: F811
    return order_visit(operator_a, dinsos, worker, geotagged_a, VILLAGE_A)


@pytest.fixture
def task_wates(operator_b, dinsos, worker_wates, family_b) -> Visit:  # noqa: F811
    return order_visit(operator_b, dinsos, worker_wates, family_b, VILLAGE_B)


def central_columns() -> list[str]:
    """The CSV header ODK Central writes for the generated form: SubmissionDate, every field by its group path
    joined with "-", a geopoint split into four columns, then Central's metadata."""
    columns = ["SubmissionDate"]
    groups: list[str] = []
    for row in form_sheets()["survey"]:
        kind, name = row["type"], row["name"]
        if kind == "begin_group":
            groups.append(name)
        elif kind == "end_group":
            groups.pop()
        elif kind == "geopoint":
            columns += ["-".join([*groups, f"{name}-{p}"]) for p in GEO_PARTS]
        else:
            columns.append("-".join([*groups, name]))
    return columns + list(CENTRAL_TAIL)


def answers(visit: Visit, submitter: str, *, outcome: str = "ditemukan", photos: dict[str, str] | None = None,
            locations: dict[str, tuple[Decimal, Decimal] | None] | None = None, code: str | None = None,
            **extra: str) -> dict[str, str]:
    """One row of the export: a found family, its condition, photos by file name, each photo's geopoint."""
    instance = f"uuid:{uuid.uuid4()}"
    now = timezone.localtime()
    row = {
        "SubmissionDate": now.isoformat(timespec="milliseconds"), "start": now.isoformat(timespec="milliseconds"),
        "end": now.isoformat(timespec="milliseconds"), "task": code if code is not None else task_code(visit),
        "kunjungan-outcome": outcome, "kunjungan-visited_on": today().isoformat(),
        "wawancara-income_monthly": "1500000", "wawancara-occupation": "Buruh tani",
        "wawancara-aid_received": "pkh sembako", "wawancara-notes": "Rumah semi permanen",
        "meta-instanceID": instance, "KEY": instance, "SubmitterID": "17", "SubmitterName": submitter,
        "Status": "", "ReviewState": "", "DeviceID": "collect:Xk3s9QpL2", "Edits": "0", "FormVersion": "",
    }
    if outcome == "ditemukan":
        row |= {f"kondisi-{k}": (" ".join(v) if isinstance(v, list) else str(v)) for k, v in CONDITION.items()}
        row["kondisi-received_credit"] = "0"
    for field, filename in (photos or {}).items():
        row[f"foto-{field}"] = filename
        where = (locations or {}).get(field, HOME)
        if where is not None:
            prefix = f"foto-{field}{LOCATION_SUFFIX}"
            row |= {f"{prefix}-Latitude": str(where[0]), f"{prefix}-Longitude": str(where[1]),
                    f"{prefix}-Altitude": "12.3", f"{prefix}-Accuracy": "4.8"}
    row["AttachmentsPresent"] = row["AttachmentsExpected"] = str(len(photos or {}))
    return row | extra


def central_zip(path: Path, rows: list[dict[str, str]], media: dict[str, bytes]) -> Path:
    columns = central_columns()
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, extrasaction="raise")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns} | {k: v for k, v in row.items() if k in columns})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("dtsen_kunjungan.csv", text.getvalue())
        for name, data in media.items():
            archive.writestr(f"media/{name}", data)
    return path


def odata_json(rows: list[dict[str, str]]) -> str:
    """The same rows as Central's OData feed (nested groups, GeoJSON points, __id and __system)."""
    items = []
    for row in rows:
        item: dict[str, Any] = {"__id": row["meta-instanceID"], "__system": {
            "submissionDate": row["SubmissionDate"], "submitterId": row["SubmitterID"],
            "submitterName": row["SubmitterName"], "reviewState": None, "formVersion": row["FormVersion"]},
            "meta": {"instanceID": row["meta-instanceID"]}, "start": row["start"], "end": row["end"],
            "task": row["task"]}
        for key, value in row.items():
            if key.count("-") == 1 and key.split("-")[0] in ("kunjungan", "wawancara", "kondisi", "foto"):
                group, name = key.split("-")
                item.setdefault(group, {})[name] = value or None
        for key, value in row.items():
            if key.endswith("-Latitude"):
                group, name, _ = key.split("-")
                base = f"{group}-{name}"
                item[group][name] = {"type": "Point", "coordinates": [
                    float(row[f"{base}-Longitude"]), float(value), float(row[f"{base}-Altitude"])],
                    "properties": {"accuracy": float(row[f"{base}-Accuracy"])}}
        items.append(item)
    return json.dumps({"@odata.context": "https://central.example/v1/projects/3/forms/dtsen_kunjungan.svc/$metadata"
                       "#Submissions", "value": items})


__all__ = ["HOME", "gps_photo"]
