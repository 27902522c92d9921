"""Writes to the register. Each service is atomic, checks the actor's scope, validates, stamps the version
(actor, channel, reason) and never deletes: removal is a status with a reason, corrections are new versions.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from dtsen.accounts.permissions import REGISTRY_CHANGE
from dtsen.accounts.selectors import Actor, author_of, require_scope
from dtsen.audit.services import audit_record
from dtsen.core.errors import NotFound, PermissionDenied, ValidationFailed
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_encrypt, nik_hash
from dtsen.registry.history import stamp
from dtsen.registry.models import Condition, Event, ExclusionFlag, Family, FamilyKkNumber, Person
from dtsen.registry.nik import InvalidNik, nik_matches, parse_nik

_KK = re.compile(r"[0-9]{16}")
_SLS = re.compile(r"[0-9]{1,3}")

PERSON_FIELDS = (
    "name",
    "sex",
    "birth_date",
    "birth_place",
    "relationship",
    "marital_status",
    "education",
    "school_level",
    "sector",
    "employment_type",
    "occupation",
    "disability",
    "disability_severity",
    "pregnant",
)
FAMILY_ADDRESS_FIELDS = ("village_code", "rw", "rt", "address")


@dataclass
class PersonData:
    nik: str
    name: str
    sex: str
    birth_date: dt.date
    relationship: str
    marital_status: str = c.MaritalStatus.SINGLE
    education: str = c.Education.NONE
    school_level: str = c.SchoolLevel.NOT_ENROLLED
    sector: str = c.Sector.NONE
    employment_type: str = c.EmploymentType.NONE
    occupation: str = ""
    disability: str = c.Disability.NONE
    disability_severity: str = c.DisabilitySeverity.NONE
    pregnant: bool = False
    birth_place: str = ""


@dataclass
class ConditionData:
    observed_on: dt.date
    tenure: str
    floor_area_m2: Decimal
    floor_material: str
    wall_material: str
    roof_material: str
    toilet: str
    drinking_water: str
    lighting: str
    cooking_fuel: str
    power_va: int | None = None
    received_credit: bool = False
    assets: set[str] = field(default_factory=set)
    officer: str = ""
    source_ref: str = ""
    evidence: list[str] = field(default_factory=list)


def snapshot(obj: Any) -> dict[str, Any]:
    """An audit-safe picture of a row: every concrete field except the NIK ciphertext (the blind index stays)."""
    out: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        if f.attname in {"nik_enc", "created_at", "updated_at"}:
            continue
        out[f.attname] = getattr(obj, f.attname)
    return out


def _audit(
    action: str,
    *,
    actor: Actor,
    obj: Any,
    before: dict[str, Any] | None,
    reason: str,
    channel: str,
    persons: list[int] | None = None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type=obj._meta.model_name,
        object_id=obj.pk,
        before=before,
        after=snapshot(obj),
        reason=reason,
        channel=channel,
        person_ids=persons,
    )


def _save_version(
    action: str,
    obj: Any,
    *,
    actor: Actor,
    channel: str,
    reason: str,
    before: dict[str, Any] | None,
    update_fields: list[str] | None = None,
    persons: list[int] | None = None,
) -> None:
    """Save `obj` as a new version (stamped with who, channel and why) and audit it with its before/after."""
    stamp(obj, actor=actor, channel=channel, reason=reason)
    obj.save(update_fields=update_fields)
    _audit(action, actor=actor, obj=obj, before=before, reason=reason, channel=channel, persons=persons)



def _invalid(field_name: str, message_id: str, message_en: str) -> ValidationFailed:
    return ValidationFailed(message_id, message_en, field=field_name)


def _check_choice(field_name: str, value: str, choices: type) -> None:
    if value not in choices.values:  # type: ignore[attr-defined]
        raise _invalid(
            field_name,
            f"Nilai '{value}' tidak dikenal untuk {field_name}.",
            f"Unknown value '{value}' for {field_name}.",
        )


def _check_reason(reason: str) -> None:
    if not reason or not reason.strip():
        raise _invalid("reason", "Alasan perubahan wajib diisi.", "A reason for the change is required.")


def _check_channel(channel: str) -> None:
    _check_choice("channel", channel, c.Channel)


def _check_village(village_code: str) -> None:
    from dtsen.regions.selectors import region_get

    region = None
    try:
        region = region_get(village_code)
    except Exception:
        region = None
    if region is None or region.level != 4:
        raise _invalid(
            "village_code",
            f"Kode desa/kelurahan '{village_code}' tidak dikenal.",
            f"Unknown village code '{village_code}'.",
        )


def _check_kk(kk_number: str) -> None:
    if not _KK.fullmatch(kk_number or ""):
        raise _invalid("kk_number", "Nomor KK harus 16 digit angka.", "The KK number must be 16 digits.")


def _check_scope(actor: Actor, village_code: str) -> None:
    scope = require_scope(actor, REGISTRY_CHANGE)
    if not scope.covers(village_code):
        raise PermissionDenied("Wilayah ini di luar kewenangan Anda.", "This region is outside your scope.")


def _locked_family(family: Family) -> Family:
    try:
        return Family.objects.select_for_update().get(pk=family.pk)
    except Family.DoesNotExist:
        raise NotFound("Keluarga tidak ditemukan.", "Family not found.") from None


def _new_code(prefix: str, village_code: str, model: type[Family] | type[Person], field_name: str) -> str:
    digits = village_code.replace(".", "")
    for _ in range(10):
        code = f"{prefix}{digits}{secrets.token_hex(3).upper()}"
        if not model.objects.filter(**{field_name: code}).exists():
            return code
    raise RuntimeError("could not allocate a unique code")


def _validated_person(data: PersonData, *, today: dt.date) -> tuple[str, str, bool]:
    """Validate a person's data; return (nik_hash, nik_enc, nik_consistent)."""
    try:
        parsed = parse_nik(data.nik)
    except InvalidNik as exc:
        raise ValidationFailed(exc.error.message_id, exc.error.message_en, code=exc.code, field="nik") from None
    if not data.name or not data.name.strip():
        raise _invalid("name", "Nama wajib diisi.", "Name is required.")
    _check_choice("sex", data.sex, c.Sex)
    _check_choice("relationship", data.relationship, c.Relationship)
    _check_choice("marital_status", data.marital_status, c.MaritalStatus)
    _check_choice("education", data.education, c.Education)
    _check_choice("school_level", data.school_level, c.SchoolLevel)
    _check_choice("sector", data.sector, c.Sector)
    _check_choice("employment_type", data.employment_type, c.EmploymentType)
    _check_choice("disability", data.disability, c.Disability)
    _check_choice("disability_severity", data.disability_severity, c.DisabilitySeverity)
    if data.birth_date > today:
        raise _invalid("birth_date", "Tanggal lahir tidak boleh di masa depan.", "Birth date cannot be in the future.")
    if data.pregnant and data.sex != c.Sex.FEMALE:
        raise _invalid("pregnant", "Hanya perempuan yang dapat berstatus hamil.", "Only women can be pregnant.")
    consistent = nik_matches(parsed, birth_date=data.birth_date, sex=data.sex)
    return nik_hash(parsed.nik), nik_encrypt(parsed.nik), consistent


def person_data_check(data: PersonData) -> None:
    """Validate a new member's data (NIK, choices, dates) without writing anything."""
    _validated_person(data, today=timezone.localdate())


def _person_from(data: PersonData, family: Family, *, today: dt.date) -> Person:
    h, enc, consistent = _validated_person(data, today=today)
    values: dict[str, Any] = {f: getattr(data, f) for f in PERSON_FIELDS}
    return Person(
        family=family,
        person_code=_new_code("P", family.village_code, Person, "person_code"),
        nik_hash=h,
        nik_enc=enc,
        nik_consistent=consistent,
        name=data.name.strip().upper(),
        **{k: v for k, v in values.items() if k != "name"},
    )


def _event(
    kind: str,
    *,
    actor: Actor,
    channel: str,
    reason: str,
    event_date: dt.date,
    family: Family | None = None,
    person: Person | None = None,
    other_family: Family | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    return Event.objects.create(
        kind=kind,
        family=family,
        person=person,
        other_family=other_family,
        event_date=event_date,
        channel=channel,
        actor=author_of(actor),
        reason=reason,
        data=data or {},
    )


@transaction.atomic
def family_register(
    *,
    actor: Actor,
    channel: str,
    reason: str,
    kk_number: str,
    village_code: str,
    head: PersonData,
    members: list[PersonData] | None = None,
    rw: str = "",
    rt: str = "",
    address: str = "",
    condition: ConditionData | None = None,
    registered_on: dt.date | None = None,
) -> Family:
    """Register a new family with its head, other members and (optionally) a first condition snapshot."""
    _check_reason(reason)
    _check_channel(channel)
    _check_village(village_code)
    _check_scope(actor, village_code)
    _check_kk(kk_number)
    for name, value in (("rw", rw), ("rt", rt)):
        if value and not _SLS.fullmatch(value):
            raise _invalid(name, f"{name.upper()} harus berupa angka 1-3 digit.", f"{name.upper()} must be 1-3 digits.")
    if head.relationship != c.Relationship.HEAD:
        raise _invalid("relationship", "Anggota pertama harus kepala keluarga.", "The first member must be the head.")
    others = members or []
    if any(m.relationship == c.Relationship.HEAD for m in others):
        raise _invalid("relationship", "Keluarga hanya boleh punya satu kepala.", "A family has exactly one head.")
    niks = [head.nik, *(m.nik for m in others)]
    if len(set(niks)) != len(niks):
        raise _invalid("nik", "NIK anggota keluarga tidak boleh sama.", "Members' NIKs must differ.")
    today = timezone.localdate()
    day = registered_on or today
    family = Family(
        family_code=_new_code("F", village_code, Family, "family_code"),
        kk_number=kk_number,
        village_code=village_code,
        rw=rw,
        rt=rt,
        address=address,
    )
    stamp(family, actor=actor, channel=channel, reason=reason)
    family.save()
    people = [
        _person_from(head, family, today=today),
        *(_person_from(m, family, today=today) for m in others),
    ]
    for person in people:
        stamp(person, actor=actor, channel=channel, reason=reason)
        person.save()
    family.head = people[0]
    family.pengurus = next((p for p in people if p.relationship == c.Relationship.SPOUSE and p.sex == "P"), people[0])
    stamp(family, actor=actor, channel=channel, reason=reason)
    family.save(update_fields=["head", "pengurus", "updated_at"])
    FamilyKkNumber.objects.create(family=family, kk_number=kk_number, valid_from=day, reason=reason)
    _event(c.EventKind.REGISTERED, actor=actor, channel=channel, reason=reason, event_date=day, family=family)
    _audit(
        "family_register",
        actor=actor,
        obj=family,
        before=None,
        reason=reason,
        channel=channel,
        persons=[p.pk for p in people],
    )
    if condition is not None:
        condition_record(actor=actor, family=family, channel=channel, data=condition)
    return family


@transaction.atomic
def family_update_address(*, actor: Actor, family: Family, channel: str, reason: str, **changes: str) -> Family:
    """Correct the address (village, RW, RT, street). A change of village must stay inside the actor's scope."""
    _check_reason(reason)
    _check_channel(channel)
    family = _locked_family(family)
    _check_scope(actor, family.village_code)
    unknown = set(changes) - set(FAMILY_ADDRESS_FIELDS)
    if unknown:
        raise _invalid(
            ",".join(sorted(unknown)),
            "Kolom tidak dapat diubah di sini.",
            "These fields cannot be changed here.",
        )
    if "village_code" in changes:
        _check_village(changes["village_code"])
        _check_scope(actor, changes["village_code"])
    changed = {k: v for k, v in changes.items() if getattr(family, k) != v}
    if not changed:
        return family
    before = snapshot(family)
    for key, value in changed.items():
        setattr(family, key, value)
    stamp(family, actor=actor, channel=channel, reason=reason)
    family.save(update_fields=[*changed, "updated_at"])
    _audit("family_update_address", actor=actor, obj=family, before=before, reason=reason, channel=channel)
    return family


@transaction.atomic
def family_change_kk(
    *, actor: Actor, family: Family, kk_number: str, valid_from: dt.date, channel: str, reason: str
) -> Family:
    """A new KK number (after a split, a move or a re-issue). The old number stays in the KK history."""
    _check_reason(reason)
    _check_channel(channel)
    _check_kk(kk_number)
    family = _locked_family(family)
    _check_scope(actor, family.village_code)
    if family.kk_number == kk_number:
        return family
    open_since = (
        FamilyKkNumber.objects.filter(family=family, valid_to__isnull=True).values_list("valid_from", flat=True).first()
    )
    if valid_from > timezone.localdate() or (open_since is not None and valid_from < open_since):
        raise _invalid(
            "valid_from",
            "Tanggal berlaku KK baru tidak valid (di masa depan atau sebelum KK lama).",
            "The new KK's start date is invalid (in the future or before the current KK).",
        )
    FamilyKkNumber.objects.filter(family=family, valid_to__isnull=True).update(valid_to=valid_from)
    FamilyKkNumber.objects.create(family=family, kk_number=kk_number, valid_from=valid_from, reason=reason)
    old = family.kk_number
    before = snapshot(family)
    family.kk_number = kk_number
    stamp(family, actor=actor, channel=channel, reason=reason)
    family.save(update_fields=["kk_number", "updated_at"])
    _audit("family_change_kk", actor=actor, obj=family, before=before, reason=reason, channel=channel)
    _event(
        c.EventKind.KK_CHANGED,
        actor=actor,
        channel=channel,
        reason=reason,
        event_date=valid_from,
        family=family,
        data={"old": old, "new": kk_number},
    )
    return family


@transaction.atomic
def family_set_pengurus(*, actor: Actor, family: Family, person: Person, channel: str, reason: str) -> Family:
    """Replace the aid recipient (pengurus) with another living member of the same KK."""
    _check_reason(reason)
    family = _locked_family(family)
    _check_scope(actor, family.village_code)
    if (
        person.family_id != family.pk
        or person.life_status != c.LifeStatus.ALIVE
        or person.status != c.RecordStatus.ACTIVE
    ):
        raise _invalid(
            "pengurus",
            "Pengurus harus anggota keluarga yang masih hidup dan aktif.",
            "The pengurus must be a living, active member of the family.",
        )
    before = snapshot(family)
    family.pengurus = person
    _save_version(
        "family_set_pengurus",
        family,
        actor=actor,
        channel=channel,
        reason=reason,
        before=before,
        update_fields=["pengurus", "updated_at"],
        persons=[person.pk],
    )
    _event(
        c.EventKind.PENGURUS_CHANGED,
        actor=actor,
        channel=channel,
        reason=reason,
        event_date=timezone.localdate(),
        family=family,
        person=person,
    )
    return family


@transaction.atomic
def family_remove(
    *,
    actor: Actor,
    family: Family,
    removal_reason: str,
    channel: str,
    reason: str,
    event_date: dt.date | None = None,
) -> Family:
    """Deactivate a family (never delete): status `nonaktif` with a reason; its history stays."""
    _check_reason(reason)
    _check_choice("removal_reason", removal_reason, c.RemovalReason)
    family = _locked_family(family)
    _check_scope(actor, family.village_code)
    before = snapshot(family)
    family.status = c.RecordStatus.REMOVED
    family.status_reason = removal_reason
    stamp(family, actor=actor, channel=channel, reason=reason)
    family.save(update_fields=["status", "status_reason", "updated_at"])
    _audit("family_remove", actor=actor, obj=family, before=before, reason=reason, channel=channel)
    _event(
        c.EventKind.REMOVED,
        actor=actor,
        channel=channel,
        reason=reason,
        event_date=event_date or timezone.localdate(),
        family=family,
        data={"removal_reason": removal_reason},
    )
    return family


@transaction.atomic
def person_add(
    *,
    actor: Actor,
    family: Family,
    data: PersonData,
    channel: str,
    reason: str,
    event_kind: str = c.EventKind.BIRTH,
) -> Person:
    """Add a member (birth or a newly recorded member) to a family."""
    _check_reason(reason)
    _check_channel(channel)
    family = _locked_family(family)
    _check_scope(actor, family.village_code)
    if data.relationship == c.Relationship.HEAD:
        raise _invalid("relationship", "Keluarga sudah punya kepala.", "The family already has a head.")
    person = _person_from(data, family, today=timezone.localdate())
    stamp(person, actor=actor, channel=channel, reason=reason)
    person.save()  # the id exists only after this save, so the audit record is written separately
    _audit("person_add", actor=actor, obj=person, before=None, reason=reason, channel=channel, persons=[person.pk])
    _event(
        event_kind,
        actor=actor,
        channel=channel,
        reason=reason,
        event_date=timezone.localdate(),
        family=family,
        person=person,
    )
    return person


@transaction.atomic
def person_update(*, actor: Actor, person: Person, channel: str, reason: str, **changes: Any) -> Person:
    """Correct a person's data; every change is a new version. A NIK correction re-encrypts and re-indexes."""
    _check_reason(reason)
    _check_channel(channel)
    person = Person.objects.select_for_update().get(pk=person.pk)
    _check_scope(actor, person.family.village_code)
    allowed = {*PERSON_FIELDS, "nik"}
    unknown = set(changes) - allowed
    if unknown:
        raise _invalid(
            ",".join(sorted(unknown)),
            "Kolom tidak dapat diubah di sini.",
            "These fields cannot be changed here.",
        )
    from dtsen.registry.crypto import nik_decrypt

    current = PersonData(nik=nik_decrypt(person.nik_enc), **{f: getattr(person, f) for f in PERSON_FIELDS})
    for key, value in changes.items():
        setattr(current, key, value)
    h, enc, consistent = _validated_person(current, today=timezone.localdate())
    updates: dict[str, Any] = {f: getattr(current, f) for f in PERSON_FIELDS}
    updates["name"] = current.name.strip().upper()
    if "nik" in changes:
        updates.update(nik_hash=h, nik_enc=enc)
    updates["nik_consistent"] = consistent
    changed = {k: v for k, v in updates.items() if getattr(person, k) != v}
    if not changed:
        return person
    before = snapshot(person)
    for key, value in changed.items():
        setattr(person, key, value)
    _save_version(
        "person_update",
        person,
        actor=actor,
        channel=channel,
        reason=reason,
        before=before,
        update_fields=[*changed, "updated_at"],
        persons=[person.pk],
    )
    return person


@transaction.atomic
def person_record_death(
    *, actor: Actor, person: Person, death_date: dt.date, source: str, channel: str, reason: str
) -> Person:
    """Record a death. If the deceased was the pengurus, another adult member takes over when there is one."""
    _check_reason(reason)
    _check_choice("source", source, c.DeathSource)
    person = Person.objects.select_for_update().get(pk=person.pk)
    family = _locked_family(person.family)
    _check_scope(actor, family.village_code)
    if death_date > timezone.localdate() or death_date < person.birth_date:
        raise _invalid("death_date", "Tanggal kematian tidak valid.", "Invalid date of death.")
    if person.life_status == c.LifeStatus.DECEASED:
        return person
    before = snapshot(person)
    person.life_status = c.LifeStatus.DECEASED
    person.death_date = death_date
    person.death_source = source
    _save_version(
        "person_record_death",
        person,
        actor=actor,
        channel=channel,
        reason=reason,
        before=before,
        update_fields=["life_status", "death_date", "death_source", "updated_at"],
        persons=[person.pk],
    )
    _event(
        c.EventKind.DEATH,
        actor=actor,
        channel=channel,
        reason=reason,
        event_date=death_date,
        family=family,
        person=person,
        data={"source": source},
    )
    if family.pengurus_id == person.pk:
        adult = (
            family.members.filter(
                life_status=c.LifeStatus.ALIVE,
                status=c.RecordStatus.ACTIVE,
                birth_date__lte=death_date.replace(year=death_date.year - 17),
            )
            .exclude(pk=person.pk)
            .order_by("birth_date", "pk")
            .first()
        )
        if adult is not None:
            family_set_pengurus(
                actor=actor,
                family=family,
                person=adult,
                channel=channel,
                reason=f"Pengganti pengurus yang meninggal / replaces deceased pengurus ({reason})",
            )
    return person


@transaction.atomic
def person_remove(
    *, actor: Actor, person: Person, removal_reason: str, channel: str, reason: str, event_date: dt.date | None = None
) -> Person:
    """Deactivate one member (never delete): e.g. not a member of this KK, not found, duplicate record."""
    _check_reason(reason)
    _check_channel(channel)
    _check_choice("removal_reason", removal_reason, c.RemovalReason)
    person = Person.objects.select_for_update().get(pk=person.pk)
    family = _locked_family(person.family)
    _check_scope(actor, family.village_code)
    if person.pk in (family.head_id, family.pengurus_id):
        raise _invalid(
            "person",
            "Kepala keluarga atau pengurus tidak dapat dinonaktifkan sendiri; ganti dulu atau nonaktifkan keluarganya.",
            "The head or pengurus cannot be removed alone; replace them first or deactivate the family.",
        )
    if person.status == c.RecordStatus.REMOVED:
        return person
    before = snapshot(person)
    person.status = c.RecordStatus.REMOVED
    person.status_reason = removal_reason
    _save_version(
        "person_remove", person, actor=actor, channel=channel, reason=reason, before=before,
        update_fields=["status", "status_reason", "updated_at"], persons=[person.pk],
    )
    _event(
        c.EventKind.REMOVED, actor=actor, channel=channel, reason=reason,
        event_date=event_date or timezone.localdate(), family=family, person=person,
        data={"removal_reason": removal_reason},
    )
    return person


@transaction.atomic
def person_move(
    *,
    actor: Actor,
    person: Person,
    to_family: Family,
    event_date: dt.date,
    channel: str,
    reason: str,
    relationship: str | None = None,
) -> Person:
    """Move a person to another family (a person belongs to exactly one family at a time)."""
    _check_reason(reason)
    person = Person.objects.select_for_update().get(pk=person.pk)
    source = _locked_family(person.family)
    target = _locked_family(to_family)
    _check_scope(actor, source.village_code)
    _check_scope(actor, target.village_code)
    if source.pk == target.pk:
        return person
    if source.head_id == person.pk:
        raise _invalid(
            "person",
            "Kepala keluarga tidak dapat dipindah; ganti kepala atau pecah KK dahulu.",
            "The head cannot be moved; change the head or split the family first.",
        )
    before = snapshot(person)
    person.family = target
    if relationship is not None:
        _check_choice("relationship", relationship, c.Relationship)
        person.relationship = relationship
    stamp(person, actor=actor, channel=channel, reason=reason)
    person.save(update_fields=["family", "relationship", "updated_at"])
    _event(
        c.EventKind.MOVE,
        actor=actor,
        channel=channel,
        reason=reason,
        event_date=event_date,
        family=target,
        person=person,
        other_family=source,
    )
    _audit(
        "person_move",
        actor=actor,
        obj=person,
        before=before,
        reason=reason,
        channel=channel,
        persons=[person.pk],
    )
    if source.pengurus_id == person.pk:
        source.pengurus = source.head
        stamp(source, actor=actor, channel=channel, reason=reason)
        source.save(update_fields=["pengurus", "updated_at"])
    return person


@transaction.atomic
def family_split(
    *,
    actor: Actor,
    family: Family,
    new_head: Person,
    members: list[Person],
    kk_number: str,
    event_date: dt.date,
    channel: str,
    reason: str,
    village_code: str | None = None,
) -> Family:
    """Pecah KK: some members leave to form a new family with its own KK number and head."""
    _check_reason(reason)
    _check_kk(kk_number)
    family = _locked_family(family)
    _check_scope(actor, family.village_code)
    target_village = village_code or family.village_code
    _check_village(target_village)
    _check_scope(actor, target_village)
    movers = [new_head, *[m for m in members if m.pk != new_head.pk]]
    if any(m.family_id != family.pk for m in movers) or family.head_id in {m.pk for m in movers}:
        raise _invalid(
            "members",
            "Anggota yang dipecah harus anggota keluarga ini dan bukan kepalanya.",
            "Members split off must belong to this family and not be its head.",
        )
    new = Family(
        family_code=_new_code("F", target_village, Family, "family_code"),
        kk_number=kk_number,
        village_code=target_village,
        rw=family.rw,
        rt=family.rt,
        address=family.address,
    )
    stamp(new, actor=actor, channel=channel, reason=reason)
    new.save()
    for person in movers:
        person.refresh_from_db()
        person.family = new
        person.relationship = c.Relationship.HEAD if person.pk == new_head.pk else person.relationship
        stamp(person, actor=actor, channel=channel, reason=reason)
        person.save(update_fields=["family", "relationship", "updated_at"])
        _event(
            c.EventKind.SPLIT,
            actor=actor,
            channel=channel,
            reason=reason,
            event_date=event_date,
            family=new,
            person=person,
            other_family=family,
        )
    new.head = new_head
    new.pengurus = new_head
    stamp(new, actor=actor, channel=channel, reason=reason)
    new.save(update_fields=["head", "pengurus", "updated_at"])
    FamilyKkNumber.objects.create(family=new, kk_number=kk_number, valid_from=event_date, reason=reason)
    if family.pengurus_id in {m.pk for m in movers}:
        family.pengurus = family.head
        stamp(family, actor=actor, channel=channel, reason=reason)
        family.save(update_fields=["pengurus", "updated_at"])
    _audit(
        "family_split",
        actor=actor,
        obj=new,
        before={"from_family": family.pk},
        reason=reason,
        channel=channel,
        persons=[m.pk for m in movers],
    )
    return new


def condition_check(data: ConditionData) -> None:
    """Validate a condition snapshot without writing it (also used for a field visit's candidate snapshot)."""
    for name, value, choices in (
        ("tenure", data.tenure, c.HousingTenure),
        ("floor_material", data.floor_material, c.FloorMaterial),
        ("wall_material", data.wall_material, c.WallMaterial),
        ("roof_material", data.roof_material, c.RoofMaterial),
        ("toilet", data.toilet, c.Toilet),
        ("drinking_water", data.drinking_water, c.DrinkingWater),
        ("lighting", data.lighting, c.Lighting),
        ("cooking_fuel", data.cooking_fuel, c.CookingFuel),
    ):
        _check_choice(name, value, choices)
    if not Decimal("1") <= Decimal(data.floor_area_m2) <= Decimal("5000"):
        raise _invalid("floor_area_m2", "Luas lantai harus antara 1 dan 5000 m².", "Floor area must be 1-5000 m².")
    if data.observed_on > timezone.localdate():
        raise _invalid(
            "observed_on",
            "Tanggal pendataan tidak boleh di masa depan.",
            "Observation date cannot be in the future.",
        )
    known = {name for name, _, _ in c.ASSETS}
    if data.assets - known:
        raise _invalid(
            "assets",
            "Aset tidak dikenal: " + ", ".join(sorted(data.assets - known)),
            "Unknown assets: " + ", ".join(sorted(data.assets - known)),
        )


@transaction.atomic
def condition_record(*, actor: Actor, family: Family, channel: str, data: ConditionData) -> Condition:
    """Append a socio-economic condition snapshot (the earlier ones stay)."""
    _check_channel(channel)
    family = _locked_family(family)
    _check_scope(actor, family.village_code)
    condition_check(data)
    cond = Condition.objects.create(
        family=family,
        observed_on=data.observed_on,
        channel=channel,
        officer=data.officer,
        recorded_by=author_of(actor),
        evidence=list(data.evidence),
        source_ref=data.source_ref,
        tenure=data.tenure,
        floor_area_m2=Decimal(data.floor_area_m2),
        floor_material=data.floor_material,
        wall_material=data.wall_material,
        roof_material=data.roof_material,
        toilet=data.toilet,
        drinking_water=data.drinking_water,
        lighting=data.lighting,
        power_va=data.power_va,
        cooking_fuel=data.cooking_fuel,
        received_credit=data.received_credit,
        **{f"asset_{name}": name in data.assets for name, _, _ in c.ASSETS},
    )
    _audit("condition_record", actor=actor, obj=cond, before=None, reason=data.source_ref, channel=channel)
    return cond


@transaction.atomic
def exclusion_flag_add(
    *,
    actor: Actor,
    person: Person,
    category: str,
    source: str,
    observed_on: dt.date,
    channel: str,
    reason: str,
    source_ref: str = "",
) -> ExclusionFlag:
    _check_reason(reason)
    _check_choice("category", category, c.ExclusionCategory)
    _check_choice("source", source, c.ExclusionSource)
    _check_scope(actor, person.family.village_code)
    flag = ExclusionFlag(
        person=person, category=category, source=source, source_ref=source_ref, observed_on=observed_on
    )
    _save_version(
        "exclusion_flag_add", flag, actor=actor, channel=channel, reason=reason, before=None, persons=[person.pk]
    )
    return flag


@transaction.atomic
def exclusion_flag_end(
    *, actor: Actor, flag: ExclusionFlag, ended_on: dt.date, channel: str, reason: str
) -> ExclusionFlag:
    """End a flag (e.g. an appeal proved it wrong); the flag and its history stay."""
    _check_reason(reason)
    flag = ExclusionFlag.objects.select_for_update().get(pk=flag.pk)
    _check_scope(actor, flag.person.family.village_code)
    if not flag.active:
        return flag
    before = snapshot(flag)
    flag.active = False
    flag.ended_on = ended_on
    flag.end_reason = reason
    _save_version(
        "exclusion_flag_end",
        flag,
        actor=actor,
        channel=channel,
        reason=reason,
        before=before,
        update_fields=["active", "ended_on", "end_reason", "updated_at"],
        persons=[flag.person_id],
    )
    return flag
