"""PPKS categories of persons and empowerment activities of families (dtsen-domain.md §7, §2.5).

PPKS (Pemerlu Pelayanan Kesejahteraan Sosial, Permensos 5/2019): a person's category with its source (who
assessed it) and the date observed; a record is ended, never deleted. Empowerment: an activity of a family
(training, business capital or assets, access to markets, finance or services, P2K2 sessions) recorded by a
social pillar (Karang Taruna, pendamping PKH, TKSK, PSM, Tagana; Dinsos staff as "dinsos"), with its outcome
over time, so that progress toward graduation shows per village and per pillar (selectors.empowerment_progress).

Every service needs `empower.record` in a region covering the family's village, refuses dates in the future,
is atomic and audited.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from dtsen.accounts.models import Role, RoleAssignment
from dtsen.accounts.permissions import EMPOWER_RECORD, MATRIX
from dtsen.accounts.selectors import Actor, author_of, require_scope
from dtsen.audit.services import audit_record
from dtsen.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from dtsen.programs.models import ActivityKind, ActivityOutcome, EmpowermentActivity, PpksCategory, PpksRecord
from dtsen.registry import choices as c
from dtsen.registry.models import Family, Person

# The social pillars (dtsen-domain.md §7 "Other social pillars"), in the order a user's roles are read.
PILLARS = (Role.KARANG_TARUNA, Role.PENDAMPING_PKH, Role.TKSK, Role.PSM, Role.TAGANA)
DINSOS_PILLAR = "dinsos"
DINSOS_ROLES = (Role.DINSOS_VERIFIER, Role.DINSOS_SUPERVISOR)
SOURCE_MAX = 60
NOTE_MAX = 300
NOTES_MAX = 500


def pillar_label(code: str) -> str:
    if code == DINSOS_PILLAR:
        return "Dinsos"
    try:
        return str(Role(code).label)
    except ValueError:
        return code


def _bad(field: str, message_id: str, message_en: str) -> ValidationFailed:
    return ValidationFailed(message_id, message_en, field=field)


def _covered(actor: Actor, village_code: str) -> None:
    if not require_scope(actor, EMPOWER_RECORD).covers(village_code):
        raise PermissionDenied("Keluarga ini di luar wilayah kewenangan Anda.", "This family is outside your region.",
                               permission=EMPOWER_RECORD)


def _past(day: dt.date | None, field: str, *, not_before: dt.date | None = None) -> dt.date:
    if not isinstance(day, dt.date):
        raise _bad(field, "Tanggal wajib diisi.", "The date is required.")
    if day > timezone.localdate():
        raise _bad(field, "Tanggal tidak boleh di masa depan.", "The date cannot be in the future.")
    if not_before is not None and day < not_before:
        raise _bad(field, f"Tanggal tidak boleh sebelum {not_before:%d-%m-%Y}.",
                   f"The date cannot be before {not_before:%Y-%m-%d}.")
    return day


def _text(value: str, field: str, limit: int, *, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise _bad(field, "Isian ini wajib diisi.", "This field is required.")
    if len(text) > limit:
        raise _bad(field, f"Paling banyak {limit} karakter.", f"At most {limit} characters.")
    return text


def actor_pillar(actor: Actor, village_code: str) -> str:
    """The social pillar the actor records for in this village: their pillar role (or Dinsos role) whose
    region covers the village and that may record empowerment; PermissionDenied when there is none."""
    _covered(actor, village_code)
    roles = RoleAssignment.objects.filter(user_id=getattr(actor, "pk", 0) or 0, active=True).values_list(
        "role", "region_code")
    held = {role for role, region in roles
            if EMPOWER_RECORD in MATRIX.get(role, frozenset())
            and (not region or village_code == region or village_code.startswith(region + "."))}
    for role in PILLARS:
        if role in held:
            return str(role)
    if held & set(DINSOS_ROLES):
        return DINSOS_PILLAR
    raise PermissionDenied("Hanya pilar sosial (Karang Taruna, pendamping PKH, TKSK, PSM, Tagana) atau Dinsos "
                           "yang dapat mencatat kegiatan pemberdayaan.",
                           "Only a social pillar (Karang Taruna, PKH facilitator, TKSK, PSM, Tagana) or Dinsos can "
                           "record empowerment activities.", permission=EMPOWER_RECORD)


# -------------------------------------------------------------------------------------------------- PPKS


@transaction.atomic
def ppks_record_add(*, actor: Actor, person: Person, category: str, source: str, observed_on: dt.date,
                    note: str = "") -> PpksRecord:
    """Record that a living member of a family in scope is in a PPKS category, as observed by `source`."""
    try:
        person = Person.objects.select_related("family").get(pk=person.pk)
    except Person.DoesNotExist:
        raise NotFound("Orang tidak ditemukan.", "Person not found.") from None
    _covered(actor, person.family.village_code)
    if category not in PpksCategory.values:
        raise _bad("category", "Kategori PPKS tidak dikenal.", "Unknown PPKS category.")
    src = _text(source, "source", SOURCE_MAX, required=True)
    text = _text(note, "note", NOTE_MAX)
    day = _past(observed_on, "observed_on", not_before=person.birth_date)
    if person.life_status != c.LifeStatus.ALIVE or person.status != c.RecordStatus.ACTIVE:
        raise _bad("person", "Orang ini sudah meninggal atau tidak aktif.", "This person is deceased or inactive.")
    if PpksRecord.objects.filter(person=person, category=category, ended_on__isnull=True).exists():
        raise Conflict("Kategori PPKS ini sudah tercatat dan masih berlaku untuk orang ini.",
                       "This PPKS category is already recorded and open for this person.", code="ppks_open")
    record = PpksRecord.objects.create(person=person, category=category, source=src, observed_on=day, note=text,
                                       recorded_by=author_of(actor))
    audit_record(actor=actor, action="ppks_record_add", object_type="ppks_record", object_id=record.pk,
                 after={"person_id": person.pk, "category": category, "source": src, "observed_on": day,
                        "note": text}, reason=text, person_ids=[person.pk])
    return record


@transaction.atomic
def ppks_record_end(*, actor: Actor, record: PpksRecord, ended_on: dt.date, note: str = "") -> PpksRecord:
    """The person is no longer in that category (from `ended_on`); the record and its history stay."""
    try:
        row = PpksRecord.objects.select_for_update(of=("self",)).select_related("person__family").get(pk=record.pk)
    except PpksRecord.DoesNotExist:
        raise NotFound("Catatan PPKS tidak ditemukan.", "PPKS record not found.") from None
    _covered(actor, row.person.family.village_code)
    if row.ended_on is not None:
        raise Conflict("Catatan PPKS ini sudah diakhiri.", "This PPKS record has already ended.", code="ppks_ended")
    day = _past(ended_on, "ended_on", not_before=row.observed_on)
    text = _text(note, "note", NOTE_MAX)
    before = {"ended_on": None, "note": row.note}
    row.ended_on = day
    if text:
        row.note = text
    row.save(update_fields=["ended_on", "note"])
    audit_record(actor=actor, action="ppks_record_end", object_type="ppks_record", object_id=row.pk, before=before,
                 after={"person_id": row.person_id, "category": row.category, "ended_on": day, "note": row.note},
                 reason=text, person_ids=[row.person_id])
    return row


# ------------------------------------------------------------------------------------------ empowerment


@transaction.atomic
def empowerment_add(*, actor: Actor, family: Family, kind: str, started_on: dt.date,
                    notes: str = "") -> EmpowermentActivity:
    """An empowerment activity of an active family, under the actor's social pillar."""
    try:
        family = Family.objects.get(pk=family.pk)
    except Family.DoesNotExist:
        raise NotFound("Keluarga tidak ditemukan.", "Family not found.") from None
    pillar = actor_pillar(actor, family.village_code)
    if kind not in ActivityKind.values:
        raise _bad("kind", "Jenis kegiatan tidak dikenal.", "Unknown kind of activity.")
    day = _past(started_on, "started_on")
    text = _text(notes, "notes", NOTES_MAX)
    if family.status != c.RecordStatus.ACTIVE:
        raise _bad("family", "Keluarga ini tidak aktif lagi di registri.", "This family is no longer active.")
    activity = EmpowermentActivity.objects.create(family=family, village_code=family.village_code, pillar=pillar,
                                                  kind=kind, started_on=day, notes=text, recorded_by=author_of(actor))
    audit_record(actor=actor, action="empowerment_add", object_type="empowerment_activity", object_id=activity.pk,
                 after={"family_id": family.pk, "village_code": family.village_code, "pillar": pillar, "kind": kind,
                        "started_on": day, "notes": text})
    return activity


@transaction.atomic
def empowerment_outcome(*, actor: Actor, activity: EmpowermentActivity, outcome: str,
                        outcome_on: dt.date) -> EmpowermentActivity:
    """Record how an activity went (completed, business running, income up, ready to graduate, stopped); a
    later outcome may follow an earlier one, not precede it; a stopped activity stays stopped."""
    try:
        row = EmpowermentActivity.objects.select_for_update(of=("self",)).get(pk=activity.pk)
    except EmpowermentActivity.DoesNotExist:
        raise NotFound("Kegiatan tidak ditemukan.", "Activity not found.") from None
    _covered(actor, row.village_code)
    if outcome not in ActivityOutcome.values or outcome == ActivityOutcome.ONGOING:
        raise _bad("outcome", "Hasil kegiatan tidak dikenal.", "Unknown outcome.")
    if row.outcome == ActivityOutcome.STOPPED:
        raise Conflict("Kegiatan ini sudah berhenti.", "This activity has stopped.", code="activity_stopped")
    day = _past(outcome_on, "outcome_on", not_before=max(row.started_on, row.outcome_on or row.started_on))
    before = {"outcome": row.outcome, "outcome_on": row.outcome_on}
    row.outcome = outcome
    row.outcome_on = day
    row.save(update_fields=["outcome", "outcome_on"])
    audit_record(actor=actor, action="empowerment_outcome", object_type="empowerment_activity", object_id=row.pk,
                 before=before, after={"family_id": row.family_id, "outcome": outcome, "outcome_on": day})
    return row
