"""Request and response shapes of the API. Personal data leaves only masked (NIK) or as the staff pages
show it."""

from __future__ import annotations

import datetime as dt

from ninja import Schema


class FieldErrorOut(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    """Every refusal: a stable code and the message in Indonesian and English."""

    code: str
    message_id: str
    message_en: str
    field: str | None = None
    retry_after: int | None = None
    errors: list[FieldErrorOut] | None = None


class MemberOut(Schema):
    person_code: str
    name: str
    sex: str
    birth_date: dt.date
    relationship: str
    nik_masked: str


class FamilyOut(Schema):
    family_code: str
    kk_number: str
    village_code: str
    rw: str
    rt: str
    address: str
    status: str
    head_person_code: str | None
    members: list[MemberOut]


class PersonOut(Schema):
    person_code: str
    name: str
    sex: str
    birth_date: dt.date
    relationship: str
    nik_masked: str
    status: str
    life_status: str
    family_code: str
    village_code: str


class PersonListOut(Schema):
    count: int
    results: list[PersonOut]
