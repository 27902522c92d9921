"""API v1: verification tasks (visits) of field workers.

- `GET /visits`: the tasks assigned to the token's user (open ones; `include_done=true` adds the finished);
- `GET /visits/{visit_id}`: one task - the user's own, or any in a Dinsos or ratifier scope;
- `POST /visits/{visit_id}/result`: the assigned worker records the visit (outcome, date, interview, housing
  condition, photos as base64 JPEG with their EXIF GPS), through `dtsen.updates.visits.visit_submit` with the
  same validation and evidence rules as the phone pages. Needs an `Idempotency-Key`.

Reads through `dtsen.updates.selectors` (audited there), writes through the visit service, with the token's
user as the actor.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest
from ninja import Field, Header, Path, Query, Router, Schema, Status

from dtsen.accounts.permissions import USULAN_CHECK, USULAN_RATIFY, VISIT_DO
from dtsen.api.auth import TokenAuth
from dtsen.api.idempotency import HEADER, KEY_DESCRIPTION, KEY_PATTERN, idempotent
from dtsen.api.schemas import ErrorOut
from dtsen.core.errors import ValidationFailed
from dtsen.updates import selectors
from dtsen.updates.models import Visit, VisitOutcome
from dtsen.updates.visits import MAX_PHOTOS, PHOTO_KINDS, visit_submit

REFUSALS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}
MAX_VISIT_ID = 2**62
MAX_PHOTO_BYTES = 3 * 1024 * 1024  # the request body is at most 10 MB (DATA_UPLOAD_MAX_MEMORY_SIZE), base64 is 4/3
OUTCOME = "^(" + "|".join(VisitOutcome.values) + ")$"
PHOTO_KIND = "^(" + "|".join(str(k) for k in PHOTO_KINDS) + ")$"

router = Router(tags=["visits"])


class VisitOut(Schema):
    id: int
    village_code: str
    status: str
    due_on: dt.date
    assigned_at: dt.datetime
    instructions: str
    family_code: str | None
    usulan_reference: str | None
    outcome: str
    visited_on: dt.date | None
    flags: list[str]
    submitted_at: dt.datetime | None


class VisitListOut(Schema):
    count: int
    results: list[VisitOut]


class PhotoIn(Schema):
    kind: str = Field(..., pattern=PHOTO_KIND, description="house_front, house_inside or kk")
    filename: str = Field(..., max_length=100, pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    content_base64: str = Field(..., max_length=MAX_PHOTO_BYTES * 4 // 3 + 4, description="The JPEG, base64")


class VisitResultIn(Schema):
    outcome: str = Field(..., pattern=OUTCOME, description="ditemukan, tidak_ditemukan, pindah or meninggal")
    visited_on: dt.date
    interview: dict[str, Any] = {}
    condition: dict[str, Any] | None = None
    photos: list[PhotoIn] = Field(..., max_length=MAX_PHOTOS)


def _only_parameters(request: HttpRequest, *names: str) -> None:
    from dtsen.api.api import _only_parameters as only  # api.py mounts this router: imported at call time

    only(request, *names)


def _out(v: Visit) -> VisitOut:
    return VisitOut(
        id=v.pk, village_code=v.village_code, status=v.status, due_on=v.due_on, assigned_at=v.assigned_at,
        instructions=v.instructions, family_code=v.family.family_code if v.family_id else None,  # type: ignore[union-attr]
        usulan_reference=v.usulan.reference if v.usulan_id else None,  # type: ignore[union-attr]
        outcome=v.outcome, visited_on=v.visited_on, flags=list(v.flags or []), submitted_at=v.submitted_at,
    )  # fmt: skip


def _photo(item: PhotoIn) -> tuple[str, SimpleUploadedFile]:
    try:
        content = base64.b64decode(item.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("Foto bukan base64 yang sah.", "The photo is not valid base64.",
                               field="photos") from None
    if not content or len(content) > MAX_PHOTO_BYTES:
        raise ValidationFailed("Ukuran foto tidak sah (paling besar 3 MB).", "Invalid photo size (at most 3 MB).",
                               field="photos")
    return item.kind, SimpleUploadedFile(item.filename, content, content_type="image/jpeg")


VisitId = Path(..., ge=1, le=MAX_VISIT_ID, description="Visit (task) id")


@router.get("/visits", response={200: VisitListOut, **REFUSALS}, auth=TokenAuth(VISIT_DO),
            operation_id="visit_list", summary="Verification tasks assigned to the token's user",
            description="Needs the scope `visit.do`. Due date first; `include_done=true` adds finished tasks.")
def visit_list(request: HttpRequest, include_done: bool = Query(False)) -> VisitListOut:
    _only_parameters(request, "include_done")
    rows = selectors.my_visits(actor=request.auth.user, include_done=include_done)  # type: ignore[attr-defined]
    return VisitListOut(count=len(rows), results=[_out(v) for v in rows])


@router.get("/visits/{visit_id}", response={200: VisitOut, **REFUSALS},
            auth=TokenAuth((VISIT_DO, USULAN_CHECK, USULAN_RATIFY)), operation_id="visit_get",
            summary="One verification task",
            description=(
                "Needs the scope `visit.do` (own tasks), `usulan.check` or `usulan.ratify` (tasks in the user's "
                "regions). Any other task is 404."
            ))
def visit_get(request: HttpRequest, visit_id: int = VisitId) -> VisitOut:
    _only_parameters(request)
    return _out(selectors.visit_get(actor=request.auth.user, visit_id=visit_id))  # type: ignore[attr-defined]


WRITE_REFUSALS: dict[int, Any] = {400: ErrorOut, 409: ErrorOut, 413: ErrorOut, 415: ErrorOut, **REFUSALS}


@router.post("/visits/{visit_id}/result", response={200: VisitOut, **WRITE_REFUSALS},
             auth=TokenAuth(VISIT_DO), operation_id="visit_submit",
             summary="Record the result of a verification visit (assigned worker only)",
             description=(
                 "Needs the scope `visit.do` and an `Idempotency-Key`. Same rules as the phone pages: at least one "
                 "photo (the front of the house when the family was found) with its EXIF GPS position, a visit date "
                 "not in the future nor before the assignment; a photo far from the village is flagged. Photos: "
                 "JPEG, base64, at most 3 MB each and 8 in all (413 larger, 415 not a photo)."
             ))
def visit_result(
    request: HttpRequest,
    data: VisitResultIn,
    visit_id: int = VisitId,
    key: str = Header(..., alias=HEADER, pattern=KEY_PATTERN, description=KEY_DESCRIPTION),
) -> Status[Any]:
    _only_parameters(request)
    actor = request.auth.user  # type: ignore[attr-defined]

    def write() -> tuple[int, Any]:
        visit = selectors.visit_get(actor=actor, visit_id=visit_id)
        photos = [_photo(p) for p in data.photos]
        done = visit_submit(actor=actor, visit=visit, outcome=data.outcome, visited_on=data.visited_on,
                            interview=data.interview, condition=data.condition, photos=photos)
        return 200, _out(selectors.visit_get(actor=actor, visit_id=done.pk))

    return Status(*idempotent(request, key, {"visit": visit_id, **data.model_dump(mode="json")}, write))
