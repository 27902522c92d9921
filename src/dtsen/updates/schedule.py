"""The monthly calendar of the update channels (dtsen-domain.md §1.4, §4.3): village meetings on days 1-14,
village input to Dinsos by day 11, cut-off on the 17th, pull by the centre on the 18th. Every day is
configurable per month (`MonthSchedule`); months without a row use `settings.DTSEN_SCHEDULE`."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from dtsen.accounts.permissions import USULAN_CUTOFF
from dtsen.accounts.selectors import Actor, require_scope
from dtsen.audit.services import audit_record
from dtsen.core.errors import PermissionDenied, ValidationFailed
from dtsen.updates.models import MonthSchedule, UsulanStatus

DEFAULTS = {"musdes_until": 14, "input_until": 11, "cutoff_day": 17, "pull_day": 18}
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
DAY_FIELDS = ("musdes_until", "input_until", "cutoff_day", "pull_day")


@dataclass(frozen=True)
class Schedule:
    month: str
    musdes_until: dt.date
    input_until: dt.date
    cutoff: dt.date
    pull: dt.date
    configured: bool  # a MonthSchedule row exists (else the defaults)


def month_check(month: str) -> tuple[int, int]:
    m = _MONTH.fullmatch(month or "")
    if not m:
        raise ValidationFailed(
            "Bulan harus ditulis YYYY-MM, misalnya 2026-11.", "The month must be written YYYY-MM, e.g. 2026-11.",
            field="month",
        )
    return int(m.group(1)), int(m.group(2))


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def next_month(month: str) -> str:
    y, m = month_check(month)
    return f"{y + (m == 12):04d}-{m % 12 + 1:02d}"


def _defaults() -> dict[str, int]:
    return {**DEFAULTS, **getattr(settings, "DTSEN_SCHEDULE", {})}


def schedule_for(month: str) -> Schedule:
    y, m = month_check(month)
    row = MonthSchedule.objects.filter(month=month).first()
    days: dict[str, Any] = {f: getattr(row, f) for f in DAY_FIELDS} if row else _defaults()
    last = calendar.monthrange(y, m)[1]

    def day(n: int) -> dt.date:
        return dt.date(y, m, min(int(n), last))

    return Schedule(
        month=month,
        musdes_until=day(days["musdes_until"]),
        input_until=day(days["input_until"]),
        cutoff=day(days["cutoff_day"]),
        pull=day(days["pull_day"]),
        configured=row is not None,
    )


def current_schedule(today: dt.date) -> Schedule:
    """This month's schedule, or next month's once this month's cut-off has passed."""
    sched = schedule_for(month_of(today))
    return sched if today <= sched.cutoff else schedule_for(next_month(sched.month))


# What an item in each status waits for, and so its deadline: the next such day on or after it entered it.
_WAITS_FOR: dict[str, str] = {
    UsulanStatus.DRAFT: "musdes_until",
    UsulanStatus.TO_MUSDES: "musdes_until",
    UsulanStatus.MUSDES_APPROVED: "input_until",
    UsulanStatus.RETURNED: "input_until",
    UsulanStatus.DINSOS_CHECK: "cutoff",
    UsulanStatus.FIELD_CHECK: "cutoff",
    UsulanStatus.VERIFIED: "cutoff",
    UsulanStatus.RATIFIED: "cutoff",
}


def deadline_for(status: str, since: dt.date) -> dt.date | None:
    """The day by which an item in `status` since `since` should have moved on (None for final states)."""
    name = _WAITS_FOR.get(status)
    if name is None:
        return None
    sched = schedule_for(month_of(since))
    day = getattr(sched, name)
    if day < since:
        day = getattr(schedule_for(next_month(sched.month)), name)
    return day


@transaction.atomic
def schedule_set(*, actor: Actor, month: str, reason: str, **days: int) -> MonthSchedule:
    """Set one month's deadlines (national data administrator); audited with the values before."""
    scope = require_scope(actor, USULAN_CUTOFF)
    if not scope.national:
        raise PermissionDenied(
            "Jadwal bulanan hanya dapat diatur di tingkat nasional.", "Monthly deadlines are set nationally.",
        )
    y, m = month_check(month)
    if not reason.strip():
        raise ValidationFailed("Alasan perubahan wajib diisi.", "A reason is required.", field="reason")
    last = calendar.monthrange(y, m)[1]
    current = {f: getattr(schedule_for(month), f).day for f in ("musdes_until", "input_until")}
    current |= {"cutoff_day": schedule_for(month).cutoff.day, "pull_day": schedule_for(month).pull.day}
    values = {**current, **{k: v for k, v in days.items() if v is not None}}
    unknown = set(days) - set(DAY_FIELDS)
    if unknown:
        raise ValidationFailed(f"Isian tidak dikenal: {sorted(unknown)}", f"Unknown fields: {sorted(unknown)}")
    for name, value in values.items():
        if not 1 <= int(value) <= last:
            raise ValidationFailed(
                f"{name}: hari harus antara 1 dan {last}.", f"{name}: the day must be 1 to {last}.", field=name
            )
    if not values["input_until"] <= values["cutoff_day"] <= values["pull_day"]:
        raise ValidationFailed(
            "Urutan tanggal harus: batas input ≤ cut-off ≤ tarik data.",
            "The days must be ordered: input deadline ≤ cut-off ≤ pull.",
            field="cutoff_day",
        )
    row = MonthSchedule.objects.select_for_update().filter(month=month).first()
    before = {f: getattr(row, f) for f in DAY_FIELDS} if row else None
    if row is None:
        row = MonthSchedule(month=month, changed_by=actor)  # type: ignore[misc]
    for name, value in values.items():
        setattr(row, name, int(value))
    row.changed_by = actor  # type: ignore[assignment]
    row.note = reason[:200]
    row.save()
    audit_record(actor=actor, action="schedule_set", object_type="month_schedule", object_id=month,
                 before=before, after={f: getattr(row, f) for f in DAY_FIELDS}, reason=reason)
    return row
