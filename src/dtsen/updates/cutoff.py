"""The monthly cut-off: ratified usulan become new versions in the registry.

`cutoff_run(month=…)` takes every usulan ratified with a decree dated on or before the month's cut-off day
and applies each one in its own transaction (savepoint): either the whole change is written (new versions,
events, audit records, the usulan `diterapkan`) or nothing of it is, and the usulan goes back to the
village (`dikembalikan`) with the reason, e.g. a NIK registered meanwhile. Running it again is harmless:
applied usulan are no longer `disahkan`. The next ranking run picks the changes up; until then the family
page shows a provisional desil (ranking.services.ranking_provisional).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from dtsen.accounts.permissions import USULAN_CUTOFF
from dtsen.accounts.selectors import Actor, require_scope
from dtsen.audit.services import audit_record
from dtsen.core.errors import ApplicationError, PermissionDenied
from dtsen.registry import choices as c
from dtsen.registry import services as reg
from dtsen.registry.models import Family, Person
from dtsen.updates import machine
from dtsen.updates.models import DeactivationReason, Origin, Usulan, UsulanKind, UsulanStatus, Visit, VisitStatus
from dtsen.updates.payloads import member_data
from dtsen.updates.schedule import schedule_for
from dtsen.updates.visits import candidate_condition


@dataclass
class CutoffResult:
    month: str
    cutoff: dt.date
    applied: list[str] = field(default_factory=list)
    returned: list[tuple[str, str]] = field(default_factory=list)
    by_kind: Counter[str] = field(default_factory=Counter)


def _channel(usulan: Usulan) -> str:
    return c.Channel.USUL_SANGGAH if usulan.origin == Origin.CITIZEN else c.Channel.MUSDES


def _visit(usulan: Usulan) -> Visit | None:
    visit = usulan.visits.filter(status=VisitStatus.DONE).order_by("-submitted_at").first()
    if visit is None and usulan.submission_id:
        visit = usulan.submission.visits.filter(status=VisitStatus.DONE).order_by("-submitted_at").first()  # type: ignore[union-attr]
    return visit


def _record_condition(usulan: Usulan, family: Family, actor: Actor, reason: str) -> None:
    visit = _visit(usulan)
    data = candidate_condition(visit) if visit is not None else None
    if data is None:
        raise ApplicationError("Kunjungan tidak mencatat kondisi rumah.", "The visit recorded no housing data.",
                               code="no_condition")
    data.source_ref = usulan.reference
    data.officer = visit.assigned_to.get_full_name() or visit.assigned_to.get_username()  # type: ignore[union-attr]
    data.evidence = [str(p.pk) for p in visit.photos.all()]  # type: ignore[union-attr]
    reg.condition_record(actor=actor, family=family, channel=c.Channel.GROUND_CHECK, data=data)


def _not_registered_yet(hashes: list[str]) -> None:
    """A NIK may have been registered since the usulan was drafted (another usulan, an import)."""
    if Person.objects.filter(nik_hash__in=hashes, status=c.RecordStatus.ACTIVE).exists():
        raise ApplicationError(
            "NIK anggota sudah terdaftar di registri sejak usulan dibuat.",
            "A member's NIK was registered since the proposal was made.",
            code="nik_already_registered",
        )


def _active(family: Family, person: Person | None) -> None:
    if family.status != c.RecordStatus.ACTIVE or (person is not None and (
            person.status != c.RecordStatus.ACTIVE or person.life_status != c.LifeStatus.ALIVE)):
        raise ApplicationError(
            "Keluarga atau anggota ini sudah tidak aktif di registri.",
            "This family or member is no longer active in the registry.",
            code="already_inactive",
        )


def _apply_new_family(usulan: Usulan, actor: Actor, reason: str) -> Family:
    p = usulan.payload
    _not_registered_yet([m["nik_hash"] for m in p["members"]])
    members = [member_data(m) for m in p["members"]]
    family = reg.family_register(
        actor=actor, channel=_channel(usulan), reason=reason, kk_number=p["kk_number"],
        village_code=usulan.village_code, head=members[0], members=members[1:], rw=p.get("rw", ""),
        rt=p.get("rt", ""), address=p.get("address", ""),
    )
    _record_condition(usulan, family, actor, reason)
    return family


def _apply_correction(usulan: Usulan, actor: Actor, reason: str) -> Family:
    family = usulan.family
    assert family is not None
    p = usulan.payload
    channel = _channel(usulan)
    if p.get("address"):
        changes = {k: v for k, v in p["address"].items() if getattr(family, k) != v}
        if changes:
            reg.family_update_address(actor=actor, family=family, channel=channel, reason=reason, **changes)
    for item in p.get("members_update", []):
        person = Person.objects.get(pk=item["person_id"])
        changes = dict(item["changes"])
        if "birth_date" in changes:
            changes["birth_date"] = dt.date.fromisoformat(str(changes["birth_date"]))
        reg.person_update(actor=actor, person=person, channel=channel, reason=reason, **changes)
    if p.get("members_add"):
        _not_registered_yet([m["nik_hash"] for m in p["members_add"]])
    for member in p.get("members_add", []):
        reg.person_add(actor=actor, family=family, data=member_data(member), channel=channel, reason=reason,
                       event_kind=c.EventKind.REGISTERED)
    for item in p.get("members_remove", []):
        reg.person_remove(actor=actor, person=Person.objects.get(pk=item["person_id"]),
                          removal_reason=item["removal_reason"], channel=channel, reason=reason)
    if p.get("condition_from_visit"):
        _record_condition(usulan, family, actor, reason)
    return family


def _apply_deactivation(usulan: Usulan, actor: Actor, reason: str) -> Family:
    family = usulan.family
    assert family is not None
    p = usulan.payload
    channel = _channel(usulan)
    why = p["reason"]
    person = usulan.person
    _active(family, person)
    visit = _visit(usulan)
    day = dt.date.fromisoformat(p["death_date"]) if p.get("death_date") else (
        visit.visited_on if visit is not None and visit.visited_on else timezone.localdate())
    if why == DeactivationReason.EXCLUDED:
        assert person is not None
        source = c.ExclusionSource.SANGGAH if usulan.origin == Origin.CITIZEN else c.ExclusionSource.FIELD
        reg.exclusion_flag_add(actor=actor, person=person, category=p["category"], source=source, observed_on=day,
                               channel=channel, reason=reason, source_ref=usulan.reference)
        return family
    if why == DeactivationReason.DECEASED and person is not None:
        death_source = c.DeathSource.SANGGAH if usulan.origin == Origin.CITIZEN else c.DeathSource.FIELD
        reg.person_record_death(actor=actor, person=person, death_date=day, source=death_source, channel=channel,
                                reason=reason)
        living = family.members.filter(life_status=c.LifeStatus.ALIVE, status=c.RecordStatus.ACTIVE).exists()
        if not living:
            reg.family_remove(actor=actor, family=family, removal_reason=c.RemovalReason.DECEASED, channel=channel,
                              reason=reason, event_date=day)
        return family
    removal = {DeactivationReason.DECEASED: c.RemovalReason.DECEASED, DeactivationReason.MOVED: c.RemovalReason.MOVED,
               DeactivationReason.NOT_FOUND: c.RemovalReason.NOT_FOUND,
               DeactivationReason.WELL_OFF: c.RemovalReason.WELL_OFF,
               DeactivationReason.DUPLICATE: c.RemovalReason.DUPLICATE}[why]
    if person is not None and person.pk not in (family.head_id, family.pengurus_id):
        reg.person_remove(actor=actor, person=person, removal_reason=removal, channel=channel, reason=reason,
                          event_date=day)
    else:
        reg.family_remove(actor=actor, family=family, removal_reason=removal, channel=channel, reason=reason,
                          event_date=day)
    return family


def _apply_program(usulan: Usulan, actor: Actor, reason: str) -> Family:
    # The registry itself does not change: the ratified proposal is what the program layer reads.
    assert usulan.family is not None
    return usulan.family


APPLY: dict[str, Callable[[Usulan, Actor, str], Family]] = {
    UsulanKind.NEW_FAMILY: _apply_new_family,
    UsulanKind.CORRECTION: _apply_correction,
    UsulanKind.DEACTIVATION: _apply_deactivation,
    UsulanKind.PROGRAM: _apply_program,
}


def usulan_apply(usulan: Usulan, *, actor: Actor, month: str) -> Usulan:
    """Apply one ratified usulan (inside the caller's transaction)."""
    penetapan = usulan.penetapan
    reason = f"Usulan {usulan.reference}, SK {penetapan.decree_number if penetapan else '-'}"
    family = APPLY[usulan.kind](usulan, actor, reason)
    return machine.advance(usulan, UsulanStatus.APPLIED, actor=actor, reason=f"Cut-off {month}",
                           evidence={"applied": family}, fields={"applied_at": timezone.now(),
                                                                  "applied_family": family, "cutoff_month": month})


def cutoff_run(*, actor: Actor, month: str, today: dt.date | None = None,
               progress: Callable[[int, int], None] | None = None) -> CutoffResult:
    """Apply the month's ratified usulan; refuses to run before the month's cut-off day."""
    scope = require_scope(actor, USULAN_CUTOFF)
    if not scope.national:
        raise PermissionDenied("Cut-off hanya dijalankan di tingkat nasional.", "The cut-off is run nationally.")
    sched = schedule_for(month)
    today = today or timezone.localdate()
    if today < sched.cutoff:
        raise ApplicationError(
            f"Cut-off bulan {month} baru dapat dijalankan pada {sched.cutoff:%d-%m-%Y}.",
            f"The cut-off of {month} can run from {sched.cutoff:%Y-%m-%d} only.",
            code="cutoff_too_early",
        )
    result = CutoffResult(month=month, cutoff=sched.cutoff)
    ids = list(
        Usulan.objects.filter(status=UsulanStatus.RATIFIED, penetapan__decree_date__lte=sched.cutoff)
        .order_by("penetapan__decree_date", "pk").values_list("pk", flat=True)
    )
    for i, usulan_id in enumerate(ids, 1):
        try:
            with transaction.atomic():
                usulan = Usulan.objects.select_for_update(of=("self",)).select_related("penetapan").get(pk=usulan_id)
                if usulan.status != UsulanStatus.RATIFIED:
                    continue
                usulan_apply(usulan, actor=actor, month=month)
            result.applied.append(usulan.reference)
            result.by_kind[usulan.kind] += 1
        except ApplicationError as exc:
            with transaction.atomic():
                usulan = Usulan.objects.select_for_update().get(pk=usulan_id)
                text = f"Gagal diterapkan pada cut-off {month}: {exc.message_id} / {exc.message_en}"
                machine.advance(usulan, UsulanStatus.RETURNED, actor=actor, reason=text, fields={"return_reason": text})
            result.returned.append((usulan.reference, text))
        if progress is not None:
            progress(i, len(ids))
    with transaction.atomic():
        audit_record(actor=actor, action="cutoff_run", object_type="cutoff", object_id=month,
                     after={"cutoff": sched.cutoff.isoformat(), "applied": len(result.applied),
                            "returned": len(result.returned)})
    return result


__all__: list[Any] = ["CutoffResult", "cutoff_run", "usulan_apply"]
