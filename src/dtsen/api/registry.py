"""API v1: the register (families, their members and conditions) beyond the one-family read of api.py.

- `GET /families`: the families in the regions of the token's user, by family code, filtered by `region` (any
  level), `status` and `desil` (latest finished ranking run), paginated;
- `GET /families/{family_code}/members`: the members (NIK masked), removed ones on request;
- `GET /families/{family_code}/conditions`: the current housing and asset condition first, then every earlier one;
- `GET /persons` with the NIK in the `X-NIK` header (never in the address, which ends up in access logs).

Every endpoint needs the scope `registry.view`, reads through the registry selectors (api/selectors.py for the
lists they lack) with the token's user as the actor, and audits the read (channel "api").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Header, Path, Query, Router, Schema

from dtsen.accounts.permissions import REGISTRY_VIEW
from dtsen.api import selectors as api_selectors
from dtsen.api.auth import TokenAuth
from dtsen.api.schemas import (
    DEFAULT_LIMIT,
    FAMILY_CODE,
    MAX_LIMIT,
    MAX_OFFSET,
    REGION,
    ErrorOut,
    MemberOut,
    PageOut,
    PersonListOut,
    PersonOut,
    page,
)
from dtsen.audit.services import audit_read
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_decrypt, nik_mask
from dtsen.registry.models import Condition, Family, Person
from dtsen.registry.selectors import family_get_by_code, family_members, person_find_by_nik

NIK = r"^[0-9]{16}$"
STATUS = "^(" + "|".join(c.RecordStatus.values) + ")$"
REFUSALS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut}
ASSETS = tuple(f.name for f in Condition._meta.get_fields() if f.name.startswith("asset_"))

router = Router(tags=["registry"])


# ------------------------------------------------------------------------------------------ schemas


class FamilySummaryOut(Schema):
    family_code: str
    kk_number: str
    village_code: str
    rw: str
    rt: str
    status: str
    head_person_code: str | None
    head_name: str | None


class FamilyPageOut(PageOut):
    results: list[FamilySummaryOut]


class MemberDetailOut(MemberOut):
    status: str
    life_status: str
    marital_status: str
    education: str
    disability: str


class MemberListOut(Schema):
    family_code: str
    count: int
    results: list[MemberDetailOut]


class ConditionOut(Schema):
    observed_on: dt.date
    recorded_at: dt.datetime
    channel: str
    tenure: str
    floor_area_m2: Decimal
    floor_material: str
    wall_material: str
    roof_material: str
    toilet: str
    drinking_water: str
    lighting: str
    power_va: int | None
    cooking_fuel: str
    received_credit: bool
    assets: list[str]


class ConditionListOut(Schema):
    family_code: str
    current: ConditionOut | None
    history: list[ConditionOut]


# ------------------------------------------------------------------------------------------ helpers


def _only_parameters(request: HttpRequest, *names: str) -> None:
    from dtsen.api.api import _only_parameters as only  # api.py mounts this router: imported at call time

    only(request, *names)


def masked_nik(person: Person) -> str:
    return nik_mask(nik_decrypt(person.nik_enc))


def visible_family(request: HttpRequest, family_code: str) -> Family:
    """The family through the registry selector (404 outside the regions of the token's user)."""
    return family_get_by_code(actor=request.auth.user, family_code=family_code)  # type: ignore[attr-defined]


def _condition(row: Condition) -> ConditionOut:
    return ConditionOut(
        observed_on=row.observed_on, recorded_at=row.recorded_at, channel=row.channel, tenure=row.tenure,
        floor_area_m2=row.floor_area_m2, floor_material=row.floor_material, wall_material=row.wall_material,
        roof_material=row.roof_material, toilet=row.toilet, drinking_water=row.drinking_water,
        lighting=row.lighting, power_va=row.power_va, cooking_fuel=row.cooking_fuel,
        received_credit=row.received_credit,
        assets=[name.removeprefix("asset_") for name in ASSETS if getattr(row, name)],
    )  # fmt: skip


FamilyCode = Path(..., pattern=FAMILY_CODE, description="Registry family code, e.g. F3401012001A1B2C3")


# --------------------------------------------------------------------------------------- endpoints


@router.get(
    "/families",
    response={200: FamilyPageOut, **REFUSALS},
    auth=TokenAuth(REGISTRY_VIEW),
    operation_id="family_list",
    summary="Families in the regions of the token's user, by family code",
    description=(
        "Needs the scope `registry.view`. `region`: a region code (the family's village or any level above it); "
        "`desil`: the desil in the latest finished ranking run. Paginated with `limit` and `offset`."
    ),
)
def family_list(
    request: HttpRequest,
    *,
    region: str | None = Query(None, pattern=REGION, description="Region code, e.g. 34.01 or 34.01.01.2001"),
    status: str | None = Query(None, pattern=STATUS, description="aktif or nonaktif"),
    desil: int | None = Query(None, ge=1, le=10, description="Desil 1-10 in the latest finished ranking run"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    _only_parameters(request, "region", "status", "desil", "limit", "offset")
    actor = request.auth.user  # type: ignore[attr-defined]
    rows = api_selectors.family_page(actor=actor, region=region or "", status=status or "", desil=desil,
                                     limit=limit + 1, offset=offset)
    rows, meta = page(rows, limit, offset)
    if rows:
        audit_read(actor=actor, object_type="family", object_id="daftar", action="list",
                   person_ids=sorted({f.head_id for f in rows if f.head_id}) or None)
    results = [
        FamilySummaryOut(family_code=f.family_code, kk_number=f.kk_number, village_code=f.village_code, rw=f.rw,
                         rt=f.rt, status=f.status, head_person_code=f.head.person_code if f.head else None,
                         head_name=f.head.name if f.head else None)
        for f in rows
    ]
    return {**meta, "results": results}


@router.get(
    "/families/{family_code}/members",
    response={200: MemberListOut, 404: ErrorOut, **REFUSALS},
    auth=TokenAuth(REGISTRY_VIEW),
    operation_id="family_members",
    summary="The members of a family (NIK masked)",
    description="Needs the scope `registry.view`. `include_removed=true` adds members who left or died.",
)
def members(
    request: HttpRequest,
    family_code: str = FamilyCode,
    include_removed: bool = Query(False, description="Also members no longer active"),
) -> MemberListOut:
    _only_parameters(request, "include_removed")
    actor = request.auth.user  # type: ignore[attr-defined]
    family = visible_family(request, family_code)
    people = family_members(actor=actor, family=family, include_removed=include_removed)
    audit_read(actor=actor, object_type="family", object_id=family.pk, action="members",
               person_ids=[p.pk for p in people] or None)
    results = [
        MemberDetailOut(person_code=p.person_code, name=p.name, sex=p.sex, birth_date=p.birth_date,
                        relationship=p.relationship, nik_masked=masked_nik(p), status=p.status,
                        life_status=p.life_status, marital_status=p.marital_status, education=p.education,
                        disability=p.disability)
        for p in people
    ]  # fmt: skip
    return MemberListOut(family_code=family.family_code, count=len(results), results=results)


@router.get(
    "/families/{family_code}/conditions",
    response={200: ConditionListOut, 404: ErrorOut, **REFUSALS},
    auth=TokenAuth(REGISTRY_VIEW),
    operation_id="family_conditions",
    summary="Housing and assets of a family: the current condition and every earlier one",
    description="Needs the scope `registry.view`. `assets`: the names of the assets the family owns.",
)
def conditions(request: HttpRequest, family_code: str = FamilyCode) -> ConditionListOut:
    _only_parameters(request)
    actor = request.auth.user  # type: ignore[attr-defined]
    family = visible_family(request, family_code)
    rows = api_selectors.family_conditions(actor=actor, family=family)
    audit_read(actor=actor, object_type="family", object_id=family.pk, action="conditions")
    out = [_condition(r) for r in rows]
    return ConditionListOut(family_code=family.family_code, current=out[0] if out else None, history=out[1:])


@router.get(
    "/persons",
    response={200: PersonListOut, **REFUSALS},
    auth=TokenAuth(REGISTRY_VIEW),
    operation_id="person_find",
    summary="Persons with this NIK (exact match through the blind index); the NIK goes in the X-NIK header",
    description=(
        "Needs the scope `registry.view`. The NIK is sent in the `X-NIK` header, never in the address (addresses "
        "are written to access logs). Only persons in the regions of the token's user; a NIK that cannot exist "
        "(unknown region, impossible date) matches nobody."
    ),
)
def person_find(
    request: HttpRequest, nik: str = Header(..., alias="X-NIK", pattern=NIK, description="16-digit NIK")
) -> PersonListOut:
    _only_parameters(request)
    actor = request.auth.user  # type: ignore[attr-defined]
    persons = person_find_by_nik(actor=actor, nik=nik)
    for person in persons:
        audit_read(actor=actor, object_type="person", object_id=person.pk, person_ids=[person.pk])
    results = [
        PersonOut(person_code=p.person_code, name=p.name, sex=p.sex, birth_date=p.birth_date,
                  relationship=p.relationship, nik_masked=masked_nik(p), status=p.status, life_status=p.life_status,
                  family_code=p.family.family_code, village_code=p.family.village_code)
        for p in persons
    ]  # fmt: skip
    return PersonListOut(count=len(results), results=results)
