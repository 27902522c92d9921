"""Reads of the register. Every selector takes the acting user and returns only what that user may see:
a family outside the actor's regions is reported as "not found", exactly like a missing one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from dtsen.accounts.permissions import REGISTRY_VIEW
from dtsen.accounts.selectors import Actor, require_scope
from dtsen.core.errors import NotFound
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_decrypt, nik_hash
from dtsen.registry.models import Condition, Event, ExclusionFlag, Family, FamilyKkNumber, Person
from dtsen.registry.nik import InvalidNik, parse_nik

_NOT_FOUND = ("Keluarga tidak ditemukan.", "Family not found.")


def family_qs(*, actor: Actor) -> QuerySet[Family]:
    scope = require_scope(actor, REGISTRY_VIEW)
    return Family.objects.filter(scope.q("village_code"))


def person_qs(*, actor: Actor) -> QuerySet[Person]:
    scope = require_scope(actor, REGISTRY_VIEW)
    return Person.objects.filter(scope.q("family__village_code"))


def family_list(
    *,
    actor: Actor,
    query: str = "",
    region_code: str = "",
    status: str = c.RecordStatus.ACTIVE,
    limit: int = 50,
    offset: int = 0,
) -> list[Family]:
    """Families the actor may see, newest first, optionally filtered by region and by a search text that is a
    family code, a KK number (current or earlier), or a NIK of a member."""
    qs = family_qs(actor=actor).select_related("head")
    if status:
        qs = qs.filter(status=status)
    if region_code:
        qs = qs.filter(Q(village_code=region_code) | Q(village_code__startswith=region_code + "."))
    text = query.strip()
    if text:
        if len(text) == 16 and text.isdigit():
            by_kk = FamilyKkNumber.objects.filter(kk_number=text).values("family_id")
            by_nik = Person.objects.filter(nik_hash=nik_hash(text)).values("family_id")
            qs = qs.filter(Q(kk_number=text) | Q(pk__in=by_kk) | Q(pk__in=by_nik))
        else:
            qs = qs.filter(Q(family_code__iexact=text) | Q(head__name__icontains=text.upper()))
    return list(qs.order_by("-pk")[offset : offset + limit])


def family_get(*, actor: Actor, family_id: int) -> Family:
    try:
        return family_qs(actor=actor).select_related("head", "pengurus", "dwelling").get(pk=family_id)
    except (Family.DoesNotExist, ValueError, TypeError):
        raise NotFound(*_NOT_FOUND) from None


def family_get_by_code(*, actor: Actor, family_code: str) -> Family:
    try:
        return family_qs(actor=actor).select_related("head", "pengurus").get(family_code=family_code)
    except Family.DoesNotExist:
        raise NotFound(*_NOT_FOUND) from None


def family_members(*, actor: Actor, family: Family, include_removed: bool = False) -> list[Person]:
    qs = person_qs(actor=actor).filter(family_id=family.pk)
    if not include_removed:
        qs = qs.filter(status=c.RecordStatus.ACTIVE)
    order: dict[str, int] = {c.Relationship.HEAD: 0, c.Relationship.SPOUSE: 1}
    return sorted(qs, key=lambda p: (order.get(p.relationship, 2), p.birth_date, p.pk))


def family_latest_condition(
    *, actor: Actor, family: Family, as_of: dt.datetime | None = None
) -> Condition | None:
    qs = Condition.objects.filter(family_id=family_get(actor=actor, family_id=family.pk).pk)
    if as_of is not None:
        qs = qs.filter(recorded_at__lte=as_of)
    return qs.order_by("-observed_on", "-recorded_at", "-pk").first()


def family_kk_history(*, actor: Actor, family: Family) -> list[FamilyKkNumber]:
    return list(
        FamilyKkNumber.objects.filter(family_id=family_get(actor=actor, family_id=family.pk).pk).order_by(
            "valid_from", "pk"
        )
    )


def family_exclusions(*, actor: Actor, family: Family) -> list[ExclusionFlag]:
    family_get(actor=actor, family_id=family.pk)
    return list(
        ExclusionFlag.objects.filter(person__family_id=family.pk)
        .select_related("person")
        .order_by("-observed_on")
    )


@dataclass
class Version:
    """One entry of a family's history: what changed, when, who, why and through which channel."""

    when: dt.datetime
    subject: str  # "family", "person:<code>", "condition", "event"
    kind: str  # "+" created, "~" changed, or an event kind
    actor: str
    channel: str
    reason: str
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)


def _diff(new: Any, old: Any | None, skip: set[str]) -> list[tuple[str, Any, Any]]:
    if old is None:
        return []
    delta = new.diff_against(old)
    return [(ch.field, ch.old, ch.new) for ch in delta.changes if ch.field not in skip]


def family_versions(*, actor: Actor, family: Family) -> list[Version]:
    """Every version of the family, of each person who has ever been a member, condition snapshots and
    events, newest first."""
    family = family_get(actor=actor, family_id=family.pk)
    out: list[Version] = []
    skip = {"nik_enc"}
    fam_hist = list(family.history.select_related("history_user").order_by("history_date", "history_id"))
    for prev, rec in zip([None, *fam_hist[:-1]], fam_hist, strict=True):
        out.append(
            Version(
                rec.history_date,
                "family",
                rec.history_type,
                _who(rec.history_user),
                rec.history_channel,
                rec.history_change_reason or "",
                _diff(rec, prev, skip),
            )
        )
    person_ids = Person.history.filter(family_id=family.pk).values("id").distinct()
    person_hist = list(
        Person.history.filter(id__in=person_ids)
        .select_related("history_user")
        .order_by("id", "history_date", "history_id")
    )
    last: dict[int, Any] = {}
    for rec in person_hist:
        prev = last.get(rec.id)
        out.append(
            Version(
                rec.history_date,
                f"person:{rec.person_code}",
                rec.history_type,
                _who(rec.history_user),
                rec.history_channel,
                rec.history_change_reason or "",
                _diff(rec, prev, skip),
            )
        )
        last[rec.id] = rec
    for cond in Condition.objects.filter(family_id=family.pk).select_related("recorded_by"):
        out.append(
            Version(
                cond.recorded_at,
                "condition",
                "+",
                _who(cond.recorded_by) or cond.officer,
                cond.channel,
                cond.source_ref,
                [],
            )
        )
    for ev in Event.objects.filter(Q(family_id=family.pk) | Q(other_family_id=family.pk)).select_related(
        "actor"
    ):
        when = (
            dt.datetime.combine(ev.event_date, dt.time(), tzinfo=dt.UTC)
            if ev.recorded_at is None
            else ev.recorded_at
        )
        out.append(Version(when, "event", ev.kind, _who(ev.actor), ev.channel, ev.reason, []))
    out.sort(key=lambda v: v.when, reverse=True)
    return out


def _who(user: Any) -> str:
    if user is None:
        return ""
    return str(user.get_username())


@dataclass
class FamilyState:
    """A family reconstructed as it was at `when`."""

    when: dt.datetime
    family: Family
    members: list[Person]
    condition: Condition | None
    kk_number: str


def family_as_of(*, actor: Actor, family_id: int, when: dt.datetime) -> FamilyState:
    """The family, its members and its condition snapshot as recorded at `when` (an aware datetime)."""
    current = family_get(actor=actor, family_id=family_id)
    try:
        past_family = current.history.as_of(when)
    except Family.DoesNotExist:
        raise NotFound(
            "Keluarga belum terdaftar pada tanggal itu.", "The family was not registered at that time."
        ) from None
    ever = Person.history.filter(family_id=family_id).values("id").distinct()
    records = Person.history.filter(id__in=ever, history_date__lte=when).latest_of_each()
    members = [r.instance for r in records if r.family_id == family_id and r.history_type != "-"]
    members = [m for m in members if m.status == c.RecordStatus.ACTIVE]
    members.sort(key=lambda p: (p.relationship != c.Relationship.HEAD, p.birth_date, p.pk))
    condition = (
        Condition.objects.filter(family_id=family_id, recorded_at__lte=when)
        .order_by("-observed_on", "-recorded_at", "-pk")
        .first()
    )
    return FamilyState(
        when=when, family=past_family, members=members, condition=condition, kk_number=past_family.kk_number
    )


def person_get(*, actor: Actor, person_id: int) -> Person:
    try:
        return person_qs(actor=actor).select_related("family").get(pk=person_id)
    except (Person.DoesNotExist, ValueError, TypeError):
        raise NotFound("Orang tidak ditemukan.", "Person not found.") from None


def person_find_by_nik(*, actor: Actor, nik: str) -> list[Person]:
    """Exact lookup through the keyed blind index (the NIK itself is never stored in clear)."""
    try:
        parsed = parse_nik(nik)
    except InvalidNik:
        return []
    return list(person_qs(actor=actor).filter(nik_hash=nik_hash(parsed.nik)).select_related("family"))


def person_nik(*, actor: Actor, person: Person) -> str:
    """The clear NIK of a person the actor may see."""
    visible = person_get(actor=actor, person_id=person.pk)
    return nik_decrypt(visible.nik_enc)
