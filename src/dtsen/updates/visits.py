"""Field verification visits (dtsen-domain.md §4.4): the social worker's side.

Dinsos assigns a visit (`services.usulan_order_visit`, `submissions.submission_order_visit`) to a worker
holding `visit.do` in a region covering the family. The worker records whether the family was found, the
interview (income, occupation, aid received), the condition indicators, and photos (house front, inside, KK).
Each photo's GPS position and time are kept as evidence (read from EXIF before it is stripped); a photo
without a GPS position is refused. The visit is flagged, not refused, when a photo was taken far from the
family's village or before the task was assigned: a verifier decides. The condition found is a *candidate*:
it reaches the registry only when the usulan is applied at the cut-off.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Avg
from django.utils import timezone

from dtsen.accounts.selectors import Actor
from dtsen.core.errors import NotFound, ValidationFailed
from dtsen.documents.models import Document, DocumentKind
from dtsen.documents.services import Upload, document_store
from dtsen.registry.models import Dwelling
from dtsen.registry.services import ConditionData, condition_check
from dtsen.updates import machine
from dtsen.updates.models import Program, Visit, VisitFlag, VisitOutcome, VisitStatus
from dtsen.updates.services import region_or_none

PHOTO_KINDS = (DocumentKind.HOUSE_FRONT, DocumentKind.HOUSE_INSIDE, DocumentKind.KK)
MAX_PHOTOS = 8
MARGIN_KM = 2.0  # beyond the village's equivalent radius
DEFAULT_RADIUS_KM = 5.0  # when the village's area is unknown
CLOCK_TOLERANCE = dt.timedelta(minutes=5)  # a phone's clock may run a little behind the server's
CONDITION_FIELDS = ("tenure", "floor_area_m2", "floor_material", "wall_material", "roof_material", "toilet",
                    "drinking_water", "lighting", "cooking_fuel", "power_va", "received_credit", "assets")


def _bad(field: str, message_id: str, message_en: str) -> ValidationFailed:
    return ValidationFailed(message_id, message_en, field=field)


def _luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def task_code(visit: Visit) -> str:
    """The task's code for a form filled outside dtsen (ODK Collect): its number and a Luhn check digit, so a
    mistyped code is refused instead of landing on another task."""
    return f"{visit.pk}{_luhn_digit(str(visit.pk))}"


def task_id_from_code(code: str) -> int | None:
    """The visit id of a task code, or None when the code is malformed or its check digit is wrong."""
    text = "".join(str(code or "").split())
    if not text.isdigit() or len(text) < 2 or len(text) > 19:
        return None
    number, check = text[:-1], text[-1]
    if _luhn_digit(number) != check or int(number) == 0:
        return None
    return int(number)


@dataclass(frozen=True)
class PhotoFix:
    """Where and when a form recorded a photo (an ODK geopoint beside the image question): the photo's evidence
    when the image itself carries no GPS in EXIF. EXIF, when present, always wins."""

    lat: Decimal
    lon: Decimal
    accuracy_m: Decimal | None = None
    taken_at: dt.datetime | None = None


def condition_from(raw: dict[str, Any], observed_on: dt.date) -> ConditionData:
    """A candidate condition (form or JSON) as the registry's ConditionData, checked by the registry's rules."""
    try:
        area = Decimal(str(raw.get("floor_area_m2", "")).replace(",", "."))
    except ArithmeticError:
        raise _bad("floor_area_m2", "Luas lantai harus berupa angka.", "Floor area must be a number.") from None
    power: Any = raw.get("power_va")
    try:
        power_va = int(power) if power not in (None, "") else None
    except (TypeError, ValueError):
        raise _bad("power_va", "Daya listrik harus berupa angka (VA).",
                   "Installed power must be a number (VA).") from None
    data = ConditionData(
        observed_on=observed_on,
        tenure=raw.get("tenure", ""), floor_area_m2=area, floor_material=raw.get("floor_material", ""),
        wall_material=raw.get("wall_material", ""), roof_material=raw.get("roof_material", ""),
        toilet=raw.get("toilet", ""), drinking_water=raw.get("drinking_water", ""), lighting=raw.get("lighting", ""),
        cooking_fuel=raw.get("cooking_fuel", ""), power_va=power_va, received_credit=bool(raw.get("received_credit")),
        assets=set(raw.get("assets") or ()),
    )
    condition_check(data)
    return data


def condition_json(data: ConditionData) -> dict[str, Any]:
    out = {f: getattr(data, f) for f in CONDITION_FIELDS}
    out["floor_area_m2"] = str(data.floor_area_m2)
    out["assets"] = sorted(data.assets)
    out["observed_on"] = data.observed_on.isoformat()
    return out


def reference_position(visit: Visit) -> tuple[float, float] | None:
    """Where the family should be: its dwelling's geotag, else the mean of the village's geotagged dwellings."""
    family = visit.family
    if family is not None and family.dwelling_id:
        d = family.dwelling
        if d is not None and d.latitude is not None and d.longitude is not None:
            return float(d.latitude), float(d.longitude)
    agg = Dwelling.objects.filter(village_code=visit.village_code, latitude__isnull=False).aggregate(
        lat=Avg("latitude"), lon=Avg("longitude")
    )
    if agg["lat"] is None:
        return None
    return float(agg["lat"]), float(agg["lon"])


def village_radius_km(village_code: str) -> float:
    region = region_or_none(village_code)
    area = getattr(region, "area_km2", None)
    if area:
        return math.sqrt(float(area) / math.pi) + MARGIN_KM
    return DEFAULT_RADIUS_KM


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _interview(raw: dict[str, Any]) -> dict[str, Any]:
    income = raw.get("income_monthly")
    try:
        income_value = int(str(income).replace(".", "").replace(",", "")) if income not in (None, "") else None
    except ValueError:
        raise _bad("income_monthly", "Penghasilan harus berupa angka rupiah.",
                   "Income must be a rupiah amount.") from None
    if income_value is not None and not 0 <= income_value <= 1_000_000_000:
        raise _bad("income_monthly", "Penghasilan per bulan tidak masuk akal.", "Implausible monthly income.")
    aid = [a for a in raw.get("aid_received") or () if a]
    unknown = set(aid) - set(Program.values)
    if unknown:
        raise _bad("aid_received", "Bantuan tidak dikenal: " + ", ".join(sorted(unknown)),
                   "Unknown aid: " + ", ".join(sorted(unknown)))
    return {"income_monthly": income_value, "occupation": str(raw.get("occupation", "")).strip()[:60],
            "aid_received": sorted(set(aid)), "notes": str(raw.get("notes", "")).strip()[:1000]}


def visit_locked(visit_id: int) -> Visit:
    try:
        return Visit.objects.select_for_update(of=("self",)).select_related("family__dwelling").get(pk=visit_id)
    except Visit.DoesNotExist:
        raise NotFound("Tugas kunjungan tidak ditemukan.", "Visit task not found.") from None


@transaction.atomic
def visit_submit(
    *,
    actor: Actor,
    visit: Visit,
    outcome: str,
    visited_on: dt.date,
    interview: dict[str, Any],
    condition: dict[str, Any] | None,
    photos: Iterable[tuple[str, Upload]],
    photo_fixes: Sequence[PhotoFix | None] = (),
) -> Visit:
    """The assigned worker records the visit. All or nothing: a refused photo leaves the task open.
    `photo_fixes` (aligned with `photos`): the position a field form recorded for each photo, used only for a
    photo without EXIF GPS."""
    visit = visit_locked(visit.pk)
    if visit.assigned_to_id != getattr(actor, "pk", None):
        raise NotFound("Tugas kunjungan tidak ditemukan.", "Visit task not found.")
    if outcome not in VisitOutcome.values:
        raise _bad("outcome", "Pilih hasil kunjungan.", "Choose the outcome of the visit.")
    today = timezone.localdate()
    if visited_on > today:
        raise _bad("visited_on", "Tanggal kunjungan tidak boleh di masa depan.",
                   "The visit date cannot be in the future.")
    if visited_on < timezone.localtime(visit.assigned_at).date():
        raise _bad("visited_on", "Tanggal kunjungan sebelum tugas diberikan.",
                   "The visit date is before the task was assigned.")
    answers = _interview(interview)
    candidate = None
    if outcome == VisitOutcome.FOUND and condition:
        candidate = condition_json(condition_from(condition, visited_on))
    uploads = list(photos)
    if not uploads:
        raise _bad("photos", "Sedikitnya satu foto (depan rumah) wajib diunggah.",
                   "At least one photo (front of the house) is required.")
    if len(uploads) > MAX_PHOTOS:
        raise _bad("photos", f"Paling banyak {MAX_PHOTOS} foto.", f"At most {MAX_PHOTOS} photos.")
    if outcome == VisitOutcome.FOUND and DocumentKind.HOUSE_FRONT not in {k for k, _ in uploads}:
        raise _bad("photos", "Foto depan rumah wajib diunggah.", "A photo of the front of the house is required.")
    stored: list[Document] = []
    sources: list[str] = []
    for index, (kind, upload) in enumerate(uploads):
        if kind not in PHOTO_KINDS:
            raise _bad("photos", "Jenis foto tidak dikenal.", "Unknown kind of photo.")
        # Not tied to the family row (the worker may not change the registry): readable through the visit.
        doc = document_store(actor=actor, uploaded_file=upload, kind=kind, keep_evidence_exif=True,
                             reason=f"Foto kunjungan verifikasi {visit.pk}")
        fix = photo_fixes[index] if index < len(photo_fixes) else None
        sources.append("exif")
        if (doc.gps_lat is None or doc.gps_lon is None) and fix is not None:
            doc.gps_lat, doc.gps_lon, doc.gps_accuracy_m = fix.lat, fix.lon, fix.accuracy_m
            doc.taken_at = doc.taken_at or fix.taken_at
            doc.save(update_fields=["gps_lat", "gps_lon", "gps_accuracy_m", "taken_at"])
            sources[-1] = "form"
        if doc.gps_lat is None or doc.gps_lon is None:
            raise ValidationFailed(
                "Foto tidak memuat lokasi GPS. Aktifkan lokasi pada kamera ponsel lalu ambil foto lagi.",
                "The photo has no GPS position. Turn on location for the phone's camera and take it again.",
                code="photo_without_gps", field="photos",
            )
        stored.append(doc)
    flags: list[str] = []
    reference = reference_position(visit)
    farthest = None
    if reference is None:
        flags.append(VisitFlag.NO_REFERENCE)
    else:
        farthest = max(haversine_km(reference, (float(d.gps_lat), float(d.gps_lon))) for d in stored)  # type: ignore[arg-type]
        if farthest > village_radius_km(visit.village_code):
            flags.append(VisitFlag.FAR)
    if any(d.taken_at is not None and d.taken_at < visit.assigned_at - CLOCK_TOLERANCE for d in stored):
        flags.append(VisitFlag.PHOTO_BEFORE_TASK)
    first = stored[0]
    visit = machine.advance(
        visit, VisitStatus.DONE, actor=actor, reason=f"Hasil: {outcome}",
        evidence={"photos": [d.pk for d in stored], "flags": flags}
        | ({"gps_source": sources} if photo_fixes else {}),
        fields={"outcome": outcome, "visited_on": visited_on, "interview": answers, "candidate_condition": candidate,
                "gps_lat": first.gps_lat, "gps_lon": first.gps_lon, "flags": flags, "submitted_at": timezone.now(),
                "distance_km": Decimal(f"{farthest:.2f}") if farthest is not None else None},
    )
    visit.photos.add(*stored)
    return visit


@transaction.atomic
def visit_cancel(*, actor: Actor, visit: Visit, reason: str) -> Visit:
    visit = visit_locked(visit.pk)
    return machine.advance(visit, VisitStatus.CANCELLED, actor=actor, reason=reason)


def candidate_condition(visit: Visit) -> ConditionData | None:
    raw = visit.candidate_condition
    if not raw:
        return None
    return condition_from(raw, dt.date.fromisoformat(raw["observed_on"]))



