"""API v1: the usulan of the update channels (read only), mounted at /api/v1/usulan.

- `GET /usulan`: the usulan in the regions of the token's user, newest status change first, filtered by
  status, kind and region (`village`: a region code, the village or any level above it);
- `GET /usulan/laporan`: counts by status, by region, by age of the open ones and per month;
- `GET /usulan/{reference}`: one usulan with its status history. Proposed members appear with the masked NIK
  only (never the encrypted value or the blind index).

Writes (each needs an `Idempotency-Key` header, see idempotency.py):

- `POST /usulan`: draft an usulan (scope `usulan.draft`), through `dtsen.updates.services.usulan_create`;
- `POST /usulan/{reference}/transitions`: move it to another status through the same services as the pages
  (`to`: diajukan_musdes, diperiksa_dinsos, dikembalikan, terverifikasi, tidak_layak, dibatalkan). The token
  must carry the permission the transition table (`dtsen.updates.machine`) names for that step, and the user
  must hold it for the usulan's village; the evidence rules are the services'. The village meeting (signed
  minutes), ordering a visit and ratification (a decree) stay on the pages.

Reads need the scope `registry.view` and go through `dtsen.updates.selectors` with the token's user as the
actor: an usulan outside the user's regions is 404, and the report counts only what the user may see.
Refusals have the API's one error body (`ErrorOut`, see api.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Header, Path, Query, Router, Schema, Status

from dtsen.accounts.permissions import REGISTRY_VIEW, USULAN_DRAFT
from dtsen.api.auth import TokenAuth, require_token_scope
from dtsen.api.idempotency import HEADER, KEY_DESCRIPTION, KEY_PATTERN, idempotent
from dtsen.api.schemas import ErrorOut, page
from dtsen.audit.services import audit_read
from dtsen.core.errors import ApplicationError, ValidationFailed
from dtsen.regions.selectors import region_get
from dtsen.registry.selectors import family_get_by_code, family_members
from dtsen.updates import machine, selectors
from dtsen.updates import services as svc
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
    next_offset: int | None
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


def _detail(u: Usulan) -> UsulanDetailOut:
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
                                 limit=limit + 1, offset=offset)
    rows, meta = page(rows, limit, offset)
    if rows:
        audit_read(actor=actor, object_type="usulan", object_id="daftar", action="list",
                   person_ids=sorted({u.person_id for u in rows if u.person_id}) or None)
    return UsulanListOut(**meta, results=[UsulanOut(**_summary(u)) for u in rows])


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
    return _detail(selectors.usulan_by_reference(actor=actor, reference=reference))  # audited by the selector


# ------------------------------------------------------------------------------------------- writes

VILLAGE = r"^[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{4}$"
FAMILY_CODE = r"^[A-Za-z0-9]{1,24}$"
WRITE_REFUSALS: dict[int, Any] = {400: ErrorOut, 404: ErrorOut, 409: ErrorOut, **REFUSALS}
U = UsulanStatus
# The steps a system may take through the API: target status -> the service of the pages that takes it.
TRANSITIONS = (U.TO_MUSDES, U.DINSOS_CHECK, U.RETURNED, U.VERIFIED, U.NOT_ELIGIBLE, U.CANCELLED)
TARGET = "^(" + "|".join(UsulanStatus.values) + ")$"


class UsulanCreateIn(Schema):
    kind: str = Field(..., pattern=KIND, description="keluarga_baru, perbaikan, program or penonaktifan")
    village_code: str | None = Field(None, pattern=VILLAGE, description="The village (keluarga_baru)")
    family_code: str | None = Field(None, pattern=FAMILY_CODE, description="The family (other kinds)")
    person_code: str | None = Field(None, pattern=FAMILY_CODE, description="One member (penonaktifan of a person)")
    payload: dict[str, Any] = Field(..., description="What the kind carries: see docs/workflows.md")


class TransitionIn(Schema):
    to: str = Field(..., pattern=TARGET, description="The new status, e.g. diajukan_musdes")
    reason: str = Field("", max_length=500, description="Required to return, cancel or refuse")
    visit_id: int | None = Field(None, ge=1, le=2**62, description="The finished visit the decision rests on")


def _person(actor: Any, family: Any, person_code: str) -> Any:
    for person in family_members(actor=actor, family=family, include_removed=True):
        if person.person_code == person_code:
            return person
    raise ValidationFailed("Anggota keluarga tidak ditemukan.", "Family member not found.", field="person_code")


def _take(actor: Any, usulan: Usulan, data: TransitionIn) -> None:
    if data.to == U.TO_MUSDES:
        svc.usulan_to_musdes(actor=actor, usulan=usulan)
    elif data.to == U.DINSOS_CHECK:
        svc.usulan_send_to_dinsos(actor=actor, usulan=usulan)
    elif data.to == U.RETURNED:
        svc.usulan_return(actor=actor, usulan=usulan, reason=data.reason)
    elif data.to == U.VERIFIED:
        svc.usulan_verify(actor=actor, usulan=usulan, visit_id=data.visit_id)
    elif data.to == U.NOT_ELIGIBLE:
        svc.usulan_not_eligible(actor=actor, usulan=usulan, reason=data.reason, visit_id=data.visit_id)
    else:
        svc.usulan_cancel(actor=actor, usulan=usulan, reason=data.reason)


@router.post(
    "",
    response={201: UsulanDetailOut, **WRITE_REFUSALS},
    auth=TokenAuth(USULAN_DRAFT),
    operation_id="usulan_create",
    summary="Draft an usulan (status draf)",
    description=(
        "Needs the scope `usulan.draft` and an `Idempotency-Key`. `keluarga_baru` names the village; the other "
        "kinds name the family (and `person_code` for one member). The payload is checked with the registry's "
        "rules as on the pages; NIKs in it are stored encrypted and answered masked."
    ),
)
def usulan_create(
    request: HttpRequest,
    data: UsulanCreateIn,
    key: str = Header(..., alias=HEADER, pattern=KEY_PATTERN, description=KEY_DESCRIPTION),
) -> Status[Any]:
    _only_parameters(request)
    actor = request.auth.user  # type: ignore[attr-defined]

    def write() -> tuple[int, Any]:
        family = family_get_by_code(actor=actor, family_code=data.family_code) if data.family_code else None
        person = _person(actor, family, data.person_code) if family is not None and data.person_code else None
        if family is None and not data.village_code:
            raise ValidationFailed("Sebutkan desa atau keluarga.", "Name the village or the family.",
                                   field="village_code")
        created = svc.usulan_create(actor=actor, kind=data.kind, village_code=data.village_code or "",
                                    payload=data.payload, family=family, person=person)
        return 201, _detail(selectors.usulan_get(actor=actor, usulan_id=created.pk))

    return Status(*idempotent(request, key, data.model_dump(mode="json"), write))


@router.post(
    "/{reference}/transitions",
    response={200: UsulanDetailOut, **WRITE_REFUSALS},
    auth=TokenAuth(REGISTRY_VIEW),
    operation_id="usulan_transition",
    summary="Move an usulan to another status",
    description=(
        "Needs the scope `registry.view`, the permission of the step (`usulan.draft` to send to the village "
        "meeting, to Dinsos or to withdraw; `usulan.check` to return, verify or refuse) and an "
        "`Idempotency-Key`. A step the transition table does not allow from the current status is 409 "
        "`illegal_transition`; missing evidence (a reason, a finished visit) is 400 `evidence_missing`. "
        "The village meeting, ordering a visit and ratification are done on the pages (422 `not_in_api`)."
    ),
)
def usulan_transition(
    request: HttpRequest,
    data: TransitionIn,
    reference: str = Path(..., pattern=REFERENCE, description="Usulan reference, e.g. USL-202611-7KQ2MX"),
    key: str = Header(..., alias=HEADER, pattern=KEY_PATTERN, description=KEY_DESCRIPTION),
) -> Status[Any]:
    _only_parameters(request)
    actor = request.auth.user  # type: ignore[attr-defined]

    def write() -> tuple[int, Any]:
        usulan = selectors.usulan_by_reference(actor=actor, reference=reference)
        rule = machine.rule_for(machine.workflow_of(usulan), usulan.status, data.to)
        require_token_scope(request.auth, rule.permission)  # type: ignore[attr-defined]
        if data.to not in TRANSITIONS:
            raise NotInApi(
                "Langkah ini dilakukan di halaman (berita acara, penugasan kunjungan, SK penetapan).",
                "This step is taken on the pages (meeting minutes, visit assignment, decree).",
                field="to",
            )
        _take(actor, usulan, data)
        return 200, _detail(selectors.usulan_get(actor=actor, usulan_id=usulan.pk))

    return Status(*idempotent(request, key, {"reference": reference.upper(), **data.model_dump(mode="json")}, write))


class NotInApi(ApplicationError):
    code = "not_in_api"
    status = 422
