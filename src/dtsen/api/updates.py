"""API v1: the usulan of the update channels (read only), mounted at /api/v1/usulan.

- `GET /usulan`: the usulan in the regions of the token's user, newest status change first, filtered by
  status, kind and region (`village`: a region code, the village or any level above it);
- `GET /usulan/laporan`: counts by status, by region, by age of the open ones and per month;
- `GET /usulan/{reference}`: one usulan with its status history. Proposed members appear with the masked NIK
  only (never the encrypted value or the blind index).

Every endpoint needs the scope `registry.view` and reads through `dtsen.updates.selectors` with the token's
user as the actor: an usulan outside the user's regions is 404, and the report counts only what the user
may see. Refusals have the API's one error body (`ErrorOut`, see api.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema

from dtsen.accounts.permissions import REGISTRY_VIEW
from dtsen.api.auth import TokenAuth
from dtsen.api.schemas import ErrorOut
from dtsen.audit.services import audit_read
from dtsen.core.errors import ApplicationError
from dtsen.regions.selectors import region_get
from dtsen.updates import selectors
from dtsen.updates.models import Usulan, UsulanKind, UsulanStatus

REFERENCE = r"^[A-Za-z0-9-]{1,32}$"
REGION = r"^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$"
STATUS = "^(" + "|".join(UsulanStatus.values) + ")$"
KIND = "^(" + "|".join(UsulanKind.values) + ")$"
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000
REFUSALS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut}
# Payload keys that must never leave: the clear NIK (drafts before cleaning), its ciphertext, its blind index.
_NIK_KEYS = frozenset({"nik", "nik_enc", "nik_hash"})

router = Router(tags=["usulan"])


# ------------------------------------------------------------------------------------------ schemas


class TransitionOut(Schema):
    from_status: str
    to_status: str
    at: dt.datetime
    actor: str | None
    permission: str
    reason: str


class MusdesOut(Schema):
    kind: str
    held_on: dt.date


class PenetapanOut(Schema):
    region_code: str
    decree_number: str
    decree_date: dt.date


class UsulanOut(Schema):
    reference: str
    kind: str
    origin: str
    status: str
    version: int
    village_code: str
    family_code: str | None
    summary: str
    created_at: dt.datetime
    status_changed_at: dt.datetime
    submitted_to_dinsos_at: dt.datetime | None
    applied_at: dt.datetime | None
    cutoff_month: str


class UsulanListOut(Schema):
    count: int
    limit: int
    offset: int
    results: list[UsulanOut]


class UsulanDetailOut(UsulanOut):
    person_code: str | None
    applied_family_code: str | None
    submission_reference: str | None
    payload: dict[str, Any]
    return_reason: str
    decision_reason: str
    musdes: MusdesOut | None
    penetapan: PenetapanOut | None
    history: list[TransitionOut]


class ReportRegionOut(Schema):
    code: str
    name: str
    total: int
    by_status: dict[str, int]


class ReportMonthOut(Schema):
    month: str
    created: int
    applied: int


class ReportOut(Schema):
    region: str
    level: int
    by_status: dict[str, int]
    by_region: list[ReportRegionOut]
    by_age: dict[str, int]
    throughput: list[ReportMonthOut]


# ------------------------------------------------------------------------------------------ helpers


def _only_parameters(request: HttpRequest, *names: str) -> None:
    from dtsen.api.api import _only_parameters as only  # api.py mounts this router: imported at call time

    only(request, *names)


def public_payload(value: Any) -> Any:
    """The payload without any NIK value (members keep `nik_masked`)."""
    if isinstance(value, dict):
        return {k: public_payload(v) for k, v in value.items() if k not in _NIK_KEYS}
    if isinstance(value, list):
        return [public_payload(v) for v in value]
    return value


def _region_name(code: str) -> str:
    try:
        return region_get(code).name
    except ApplicationError:
        return ""


def _summary(u: Usulan) -> dict[str, Any]:
    return {
        "reference": u.reference, "kind": u.kind, "origin": u.origin, "status": u.status, "version": u.version,
        "village_code": u.village_code, "family_code": u.family.family_code if u.family_id else None,  # type: ignore[union-attr]
        "summary": u.summary, "created_at": u.created_at, "status_changed_at": u.status_changed_at,
        "submitted_to_dinsos_at": u.submitted_to_dinsos_at, "applied_at": u.applied_at,
        "cutoff_month": u.cutoff_month,
    }  # fmt: skip


def _actor_name(user: Any) -> str | None:
    if user is None:
        return None
    return str(user.get_full_name() or user.get_username())


# --------------------------------------------------------------------------------------- endpoints


@router.get(
    "",
    response={200: UsulanListOut, **REFUSALS},
    auth=TokenAuth(REGISTRY_VIEW),
    operation_id="usulan_list",
    summary="Usulan in the regions of the token's user, latest status change first",
    description="Needs the scope `registry.view`. `village` is a region code: the village or any level above it.",
)
def usulan_list(
    request: HttpRequest,
    *,
    status: str | None = Query(None, pattern=STATUS, description="Status, e.g. terverifikasi"),
    kind: str | None = Query(None, pattern=KIND, description="Kind: keluarga_baru, perbaikan, program, penonaktifan"),
    village: str | None = Query(None, pattern=REGION, description="Region code, e.g. 34.01 or 34.01.01.2001"),
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> UsulanListOut:
    _only_parameters(request, "status", "kind", "village", "limit", "offset")
    actor = request.auth.user  # type: ignore[attr-defined]
    rows = selectors.usulan_list(actor=actor, status=status or "", kind=kind or "", village_code=village or "",
                                 limit=limit, offset=offset)
    if rows:
        audit_read(actor=actor, object_type="usulan", object_id="daftar", action="list",
                   person_ids=sorted({u.person_id for u in rows if u.person_id}) or None)
    return UsulanListOut(count=len(rows), limit=limit, offset=offset,
                         results=[UsulanOut(**_summary(u)) for u in rows])


@router.get(
    "/laporan",
    response={200: ReportOut, 404: ErrorOut, **REFUSALS},
    auth=TokenAuth(REGISTRY_VIEW),
    operation_id="usulan_report",
    summary="Counts of usulan by status, region, age of the open ones and month",
    description=(
        "Needs the scope `registry.view`. Counts only the usulan in the regions of the token's user. "
        "`level`: 1 province, 2 regency/city (default), 3 district, 4 village. An unknown `region` is 404."
    ),
)
def usulan_report(
    request: HttpRequest,
    region: str | None = Query(None, pattern=REGION, description="Limit to this region, e.g. 34.01"),
    level: int = Query(2, ge=1, le=4, description="Region level of the breakdown"),
) -> ReportOut:
    _only_parameters(request, "region", "level")
    actor = request.auth.user  # type: ignore[attr-defined]
    code = region_get(region).code if region else ""
    rep = selectors.report(actor=actor, region_code=code, level=level)
    return ReportOut(
        region=code,
        level=level,
        by_status={s: rep.by_status.get(s, 0) for s in UsulanStatus.values},
        by_region=[ReportRegionOut(code=code, name=_region_name(code), total=sum(n.values()),
                                   by_status=dict(sorted(n.items()))) for code, n in rep.by_region.items()],
        by_age={label: rep.by_age.get(label, 0) for _, label in selectors.AGE_BUCKETS},
        throughput=[ReportMonthOut(month=m, created=created, applied=applied)
                    for m, created, applied in rep.throughput],
    )  # fmt: skip


@router.get(
    "/{reference}",
    response={200: UsulanDetailOut, 404: ErrorOut, **REFUSALS},
    auth=TokenAuth(REGISTRY_VIEW),
    operation_id="usulan_get",
    summary="One usulan with its status history (NIK masked)",
    description="Needs the scope `registry.view`. An usulan outside the regions of the token's user is 404.",
)
def usulan_get(
    request: HttpRequest,
    reference: str = Path(..., pattern=REFERENCE, description="Usulan reference, e.g. USL-202611-7KQ2MX"),
) -> UsulanDetailOut:
    _only_parameters(request)
    actor = request.auth.user  # type: ignore[attr-defined]
    u = selectors.usulan_by_reference(actor=actor, reference=reference)  # audited by the selector
    musdes = u.musdes
    penetapan = u.penetapan
    return UsulanDetailOut(
        **_summary(u),
        person_code=u.person.person_code if u.person_id else None,  # type: ignore[union-attr]
        applied_family_code=u.applied_family.family_code if u.applied_family_id else None,  # type: ignore[union-attr]
        submission_reference=u.submission.reference if u.submission_id else None,  # type: ignore[union-attr]
        payload=public_payload(u.payload),
        return_reason=u.return_reason,
        decision_reason=u.decision_reason,
        musdes=MusdesOut(kind=musdes.kind, held_on=musdes.held_on) if musdes is not None else None,
        penetapan=PenetapanOut(region_code=penetapan.region_code, decree_number=penetapan.decree_number,
                               decree_date=penetapan.decree_date) if penetapan is not None else None,
        history=[TransitionOut(from_status=t.from_status, to_status=t.to_status, at=t.at, actor=_actor_name(t.actor),
                               permission=t.role, reason=t.reason) for t in selectors.history(u)],
    )  # fmt: skip
