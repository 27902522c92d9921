"""Request and response shapes of the API. Personal data leaves only masked (NIK) or as the staff pages
show it."""

from __future__ import annotations

import datetime as dt
from typing import Any

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


# ------------------------------------------------------------------------------------------ pagination

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
MAX_OFFSET = 1_000_000
REGION = r"^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$"
FAMILY_CODE = r"^[A-Za-z0-9]{1,24}$"


class PageOut(Schema):
    """Every list: `limit` and `offset` as asked, `count` rows in this page, `next_offset` to ask for the next
    page (null on the last one)."""

    count: int
    limit: int
    offset: int
    next_offset: int | None


def page(rows: list[Any], limit: int, offset: int) -> tuple[list[Any], dict[str, Any]]:
    """Cut `rows` (fetched with `limit + 1`) to the page and describe it (the fields of PageOut)."""
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, {"count": len(rows), "limit": limit, "offset": offset, "next_offset": offset + limit if more else None}
