"""The participation channel (Usul Sanggah, dtsen-domain.md §3 and C): a verified citizen proposes a family
for registration or a program, contests (sanggah) a family of their own village, or corrects their own
family's data; Dinsos verifies (with a field visit) and either rejects with a reason or accepts, which turns
the submission into an usulan of the formal channel. A sanggah never deletes anything.

Automatic checks at submission (NIK valid, NIK known or not yet registered, the same submission already being
processed, already proposed for or receiving the program, an active exclusion flag) reject at once with the
reason; the rejected submission is kept, with its reference number, so the citizen sees why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from dtsen.accounts.citizen_selectors import citizen_own_family
from dtsen.accounts.permissions import USULAN_CHECK
from dtsen.accounts.selectors import Actor, author_of
from dtsen.core.errors import NotFound, PermissionDenied, ValidationFailed
from dtsen.documents.models import DocumentKind
from dtsen.documents.services import Upload, document_store
from dtsen.linkage.door import door_check_system
from dtsen.regions.selectors import region_code_is_known
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_decrypt, nik_encrypt, nik_hash, nik_mask
from dtsen.registry.models import ExclusionFlag, Family, Person
from dtsen.registry.nik import InvalidNik, parse_nik
from dtsen.updates import machine
from dtsen.updates.models import (
    AutoRejectReason,
    DeactivationReason,
    Origin,
    Program,
    ProposedWho,
    SanggahReason,
    Submission,
    SubmissionKind,
    SubmissionStatus,
    Usulan,
    UsulanKind,
    UsulanStatus,
    Visit,
    VisitStatus,
)
from dtsen.updates.payloads import payload_clean
from dtsen.updates.services import _door_check, _require_in_scope, new_reference, region_or_none, visit_create

S = SubmissionStatus
OPEN = (S.SUBMITTED, S.FIELD_CHECK, S.VERIFIED)
EVIDENCE_KINDS = (DocumentKind.HOUSE_FRONT, DocumentKind.HOUSE_INSIDE, DocumentKind.KK, DocumentKind.LETTER,
                  DocumentKind.OTHER)
MAX_DOCUMENTS = 6
# Sanggah reasons about one member (a member must be chosen) vs about the whole family.
PERSON_REASONS = frozenset({
    SanggahReason.DECEASED, SanggahReason.PERSON_NOT_FOUND, SanggahReason.ASN_TNI_POLRI, SanggahReason.STATE_INCOME,
    SanggahReason.CERTIFIED_TEACHER, SanggahReason.VILLAGE_OFFICIAL, SanggahReason.SOCIAL_WORKER,
    SanggahReason.COMPANY_MANAGER, SanggahReason.NOT_MY_KK,
})
EXCLUSION_OF: dict[str, str] = {
    SanggahReason.ASN_TNI_POLRI: c.ExclusionCategory.ASN_FAMILY,
    SanggahReason.STATE_INCOME: c.ExclusionCategory.STATE_INCOME,
    SanggahReason.CERTIFIED_TEACHER: c.ExclusionCategory.CERTIFIED_TEACHER,
    SanggahReason.VILLAGE_OFFICIAL: c.ExclusionCategory.VILLAGE_OFFICIAL,
    SanggahReason.SOCIAL_WORKER: c.ExclusionCategory.SOCIAL_WORKER,
    SanggahReason.COMPANY_MANAGER: c.ExclusionCategory.COMPANY_MANAGER,
}
DEACTIVATION_OF: dict[str, str] = {
    SanggahReason.DECEASED: DeactivationReason.DECEASED,
    SanggahReason.MOVED: DeactivationReason.MOVED,
    SanggahReason.PERSON_NOT_FOUND: DeactivationReason.NOT_FOUND,
    SanggahReason.WELL_OFF: DeactivationReason.WELL_OFF,
    SanggahReason.DUPLICATE: DeactivationReason.DUPLICATE,
    **dict.fromkeys(EXCLUSION_OF, DeactivationReason.EXCLUDED),
}


def _bad(field: str, message_id: str, message_en: str, **extra: Any) -> ValidationFailed:
    return ValidationFailed(message_id, message_en, field=field, **extra)


@dataclass
class Draft:
    """What the citizen sent, before the automatic checks."""

    kind: str
    village_code: str
    family: Family | None = None
    person: Person | None = None
    proposed_who: str = ""
    program: str = ""
    sanggah_reason: str = ""
    nik: str = ""
    payload: dict[str, Any] | None = None
    description: str = ""


def _store(actor: Actor, draft: Draft, documents: Iterable[tuple[str, Upload]], reject: str = "") -> Submission:
    now = timezone.now()
    account = citizen_own_family(actor=actor).account
    payload = dict(draft.payload or {})
    if draft.nik:
        payload |= {"nik_enc": nik_encrypt(draft.nik), "nik_masked": nik_mask(draft.nik)}
    sub = Submission.objects.create(
        reference=new_reference("USG", Submission, timezone.localdate()),
        kind=draft.kind, status=S.REJECTED if reject else S.SUBMITTED, citizen=account,
        village_code=draft.village_code, family=draft.family, person=draft.person,
        proposed_who=draft.proposed_who, program=draft.program, sanggah_reason=draft.sanggah_reason,
        nik_hash=nik_hash(draft.nik) if draft.nik else "", payload=payload, description=draft.description[:2000],
        auto_reject_reason=reject, status_changed_at=now,
        decision_reason=str(AutoRejectReason(reject).label) if reject else "",
    )
    docs = list(documents)
    if len(docs) > MAX_DOCUMENTS:
        raise _bad("documents", f"Paling banyak {MAX_DOCUMENTS} berkas.", f"At most {MAX_DOCUMENTS} files.")
    for kind, upload in docs:
        if kind not in EVIDENCE_KINDS:
            raise _bad("documents", "Jenis berkas tidak dikenal.", "Unknown kind of document.")
        sub.documents.add(document_store(
            actor=actor, uploaded_file=upload, kind=kind, keep_evidence_exif=kind in (
                DocumentKind.HOUSE_FRONT, DocumentKind.HOUSE_INSIDE), owner=actor,
            reason=f"Lampiran {sub.reference}",
        ))
    machine.record_initial(sub, actor=actor, reason=sub.decision_reason or "Diajukan warga",
                           evidence={"auto_reject_reason": reject})
    return sub


def _nik_problem(nik: str) -> str:
    try:
        parse_nik(nik, region_known=region_code_is_known)
    except InvalidNik:
        return AutoRejectReason.NIK_INVALID
    return ""


def _duplicate(draft: Draft) -> bool:
    open_ = Submission.objects.filter(kind=draft.kind, status__in=OPEN)
    if draft.nik:
        open_ = open_.filter(nik_hash=nik_hash(draft.nik))
    else:
        open_ = open_.filter(family=draft.family, person=draft.person, sanggah_reason=draft.sanggah_reason)
    if draft.program:
        open_ = open_.filter(program=draft.program)
    return open_.exists()


def _active_person(nik: str) -> Person | None:
    return Person.objects.select_related("family").filter(
        nik_hash=nik_hash(nik), status=c.RecordStatus.ACTIVE, family__status=c.RecordStatus.ACTIVE
    ).first()


@transaction.atomic
def usul_registration(
    *, actor: Actor, proposed_who: str, nik: str, name: str, kk_number: str = "", village_code: str = "",
    rw: str = "", rt: str = "", address: str = "", description: str = "",
    documents: Iterable[tuple[str, Upload]] = (),
) -> Submission:
    """Propose a family (myself, a member of my KK, or another poor family) for registration. The proposed
    person is checked at the door against the register (birth date and sex from the NIK); the result is kept
    for Dinsos only."""
    own = citizen_own_family(actor=actor)
    if proposed_who not in ProposedWho.values:
        raise _bad("proposed_who", "Pilih siapa yang diusulkan.", "Choose who is proposed.")
    docs = list(documents)
    if DocumentKind.HOUSE_FRONT not in {k for k, _ in docs}:
        raise _bad("documents", "Foto depan rumah wajib dilampirkan.", "A photo of the front of the house is required.")
    if not name.strip():
        raise _bad("name", "Nama sesuai KTP wajib diisi.", "The name as on the KTP is required.")
    nik = (nik or "").strip()
    if proposed_who == ProposedWho.SELF:
        nik = nik_decrypt(own.account.nik_enc)
    if proposed_who in (ProposedWho.SELF, ProposedWho.OWN_KK):
        kk_number, village_code = own.account.kk_number, own.family.village_code
        rw, rt, address = own.family.rw, own.family.rt, own.family.address
    region = region_or_none(village_code)
    if region is None or region.level != 4:
        raise _bad("village_code", "Desa/kelurahan tidak dikenal.", "Unknown village.")
    if proposed_who == ProposedWho.OWN_KK and _active_person(nik) is not None and \
            _active_person(nik).family_id != own.family.pk:  # type: ignore[union-attr]
        raise _bad("nik", "Orang ini tidak tercatat dalam KK Anda.", "This person is not on your KK.")
    draft = Draft(kind=SubmissionKind.USUL_REGISTRATION, village_code=village_code, proposed_who=proposed_who,
                  nik=nik if len(nik) == 16 and nik.isdigit() else "", description=description,
                  payload={"name": name.strip()[:120], "kk_number": kk_number.strip()[:16], "rw": rw, "rt": rt,
                           "address": address.strip()[:200]})
    reject = _nik_problem(nik)
    if not reject and _active_person(nik) is not None:
        reject = AutoRejectReason.ALREADY_REGISTERED
    if not reject and _duplicate(draft):
        reject = AutoRejectReason.DUPLICATE
    if not reject:
        _door_check_usul(actor, draft)
    return _store(actor, draft, docs, reject)


def _door_check_usul(actor: Actor, draft: Draft) -> None:
    """The check at the door of the proposed person, run by the system for the citizen (dtsen.linkage.door,
    `door_check_system`): stored in the submission's payload as `door_check` for the reviewing Dinsos; the
    citizen's pages never show it. The form asks no birth date or sex: both come from the NIK."""
    parsed = parse_nik(draft.nik)  # valid: checked before
    assert draft.payload is not None
    candidate = {"nik": draft.nik, "name": draft.payload["name"], "sex": parsed.sex,
                 "birth_date": parsed.birth_date, "village_code": draft.village_code}
    draft.payload["door_check"] = door_check_system(actor, candidate, region_code=draft.village_code)


def _program_member(family: Family | None, program: str) -> bool:
    """An active or suspended membership (kepesertaan) of the program: the family already receives it."""
    from dtsen.programs.models import Membership, MembershipStatus

    return family is not None and Membership.objects.filter(
        family=family, program=program, status__in=(MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED)).exists()


@transaction.atomic
def usul_program(*, actor: Actor, nik: str, program: str, description: str = "",
                 documents: Iterable[tuple[str, Upload]] = ()) -> Submission:
    """Propose a family in the registry (found by a member's NIK) for a program."""
    own = citizen_own_family(actor=actor)
    if program not in Program.values:
        raise _bad("program", "Pilih program bantuan.", "Choose a program.")
    nik = (nik or "").strip()
    reject = _nik_problem(nik)
    person = None if reject else _active_person(nik)
    if not reject and person is None:
        reject = AutoRejectReason.NIK_UNKNOWN
    family = person.family if person is not None else None
    village = family.village_code if family else own.family.village_code
    draft = Draft(kind=SubmissionKind.USUL_PROGRAM, village_code=village,
                  family=family, person=person, program=program, description=description,
                  nik=nik if len(nik) == 16 and nik.isdigit() else "")
    if not reject and _duplicate(draft):
        reject = AutoRejectReason.DUPLICATE
    if not reject and (_program_member(family, program) or Usulan.objects.filter(
            family=family, kind=UsulanKind.PROGRAM, payload__program=program).exclude(
            status__in=(UsulanStatus.CANCELLED, UsulanStatus.MUSDES_REJECTED, UsulanStatus.NOT_ELIGIBLE)).exists()):
        reject = AutoRejectReason.ALREADY_RECIPIENT
    if not reject and ExclusionFlag.objects.filter(person__family=family, active=True).exists():
        reject = AutoRejectReason.EXCLUDED
    return _store(actor, draft, documents, reject)


@transaction.atomic
def sanggah_create(*, actor: Actor, family_id: int, reason: str, person_id: int | None = None,
                   description: str = "", documents: Iterable[tuple[str, Upload]] = ()) -> Submission:
    """Contest a family of the citizen's own village. Refused (nothing stored) outside that village."""
    own = citizen_own_family(actor=actor)
    if reason not in SanggahReason.values:
        raise _bad("reason", "Pilih alasan sanggahan dari daftar.", "Choose a reason from the list.")
    family = Family.objects.filter(pk=family_id).first()
    if family is None or family.village_code != own.family.village_code:
        raise PermissionDenied(
            "Sanggahan hanya dapat diajukan untuk keluarga di desa/kelurahan Anda sendiri.",
            "You can only contest families in your own village.", code="outside_village",
        )
    person = None
    if person_id:
        person = Person.objects.filter(pk=person_id, family=family).first()
        if person is None:
            raise _bad("person", "Anggota keluarga tidak ditemukan.", "Family member not found.")
    if reason in PERSON_REASONS and person is None:
        raise _bad("person", "Pilih anggota keluarga yang disanggah.", "Choose the member you contest.")
    if reason == SanggahReason.NOT_MY_KK:
        if family.pk != own.family.pk:
            raise _bad("family", "Alasan ini hanya untuk anggota dalam KK Anda sendiri.",
                       "This reason is only for members of your own KK.")
        if person is not None and person.pk == own.person.pk:
            raise _bad("person", "Anda tidak dapat menyanggah diri sendiri.", "You cannot contest yourself.")
    if not description.strip():
        raise _bad("description", "Jelaskan sanggahan Anda.", "Describe your objection.")
    draft = Draft(kind=SubmissionKind.SANGGAH, village_code=family.village_code, family=family, person=person,
                  sanggah_reason=reason, description=description)
    reject = ""
    if family.status != c.RecordStatus.ACTIVE or (person is not None and person.status != c.RecordStatus.ACTIVE):
        reject = AutoRejectReason.NOT_RECIPIENT
    elif _duplicate(draft):
        reject = AutoRejectReason.DUPLICATE
    return _store(actor, draft, documents, reject)


@transaction.atomic
def own_correction(*, actor: Actor, description: str, address: dict[str, str] | None = None,
                   documents: Iterable[tuple[str, Upload]] = ()) -> Submission:
    """Ask to correct one's own family's data (address, housing, assets); a field visit checks it."""
    own = citizen_own_family(actor=actor)
    if not description.strip():
        raise _bad("description", "Jelaskan data yang perlu diperbaiki.", "Describe what needs correcting.")
    draft = Draft(kind=SubmissionKind.OWN_CORRECTION, village_code=own.family.village_code, family=own.family,
                  description=description, payload={"address": address} if address else {})
    reject = AutoRejectReason.DUPLICATE if _duplicate(draft) else ""
    return _store(actor, draft, documents, reject)


# ------------------------------------------------------------------------------------------ Dinsos side


def submission_locked(submission_id: int) -> Submission:
    try:
        return Submission.objects.select_for_update().get(pk=submission_id)
    except Submission.DoesNotExist:
        raise NotFound("Pengajuan tidak ditemukan.", "Submission not found.") from None


@transaction.atomic
def submission_order_visit(*, actor: Actor, submission: Submission, worker: Any, due_on: dt.date,
                           instructions: str = "") -> Visit:
    sub = submission_locked(submission.pk)
    _require_in_scope(actor, USULAN_CHECK, sub.village_code)
    if sub.status != S.FIELD_CHECK:
        machine.rule_for("pengajuan", sub.status, S.FIELD_CHECK)
    visit = visit_create(actor=actor, worker=worker, due_on=due_on, village_code=sub.village_code,
                         family=sub.family, instructions=instructions, submission=sub)
    if sub.status == S.SUBMITTED:
        machine.advance(sub, S.FIELD_CHECK, actor=actor, evidence={"visit": visit})
    return visit


@transaction.atomic
def submission_verify(*, actor: Actor, submission: Submission) -> Submission:
    """The field visit confirmed what the citizen wrote."""
    sub = submission_locked(submission.pk)
    visit = sub.visits.filter(status=VisitStatus.DONE).order_by("-submitted_at").first()
    return machine.advance(sub, S.VERIFIED, actor=actor, evidence={"visit_done": visit})


@transaction.atomic
def submission_reject(*, actor: Actor, submission: Submission, reason: str) -> Submission:
    sub = submission_locked(submission.pk)
    visit = sub.visits.filter(status=VisitStatus.DONE).order_by("-submitted_at").first()
    return machine.advance(sub, S.REJECTED, actor=actor, reason=reason, evidence={"visit_done": visit},
                           fields={"decision_reason": reason.strip()})


def _usulan_for(
    sub: Submission, category: str = ""
) -> tuple[str, dict[str, Any], Family | None, Person | None] | None:
    """What formal usulan a verified submission becomes (None: a complaint forwarded, no registry change)."""
    if sub.kind == SubmissionKind.USUL_REGISTRATION:
        nik = nik_decrypt(sub.payload["nik_enc"])
        parsed = parse_nik(nik)
        head = {"nik": nik, "name": sub.payload["name"], "sex": parsed.sex, "birth_date": parsed.birth_date.isoformat(),
                "relationship": c.Relationship.HEAD}
        return UsulanKind.NEW_FAMILY, {"kk_number": sub.payload["kk_number"], "rw": sub.payload.get("rw", ""),
                                       "rt": sub.payload.get("rt", ""), "address": sub.payload.get("address", ""),
                                       "members": [head]}, None, None
    if sub.kind == SubmissionKind.USUL_PROGRAM:
        return UsulanKind.PROGRAM, {"program": sub.program, "note": sub.reference}, sub.family, None
    if sub.kind == SubmissionKind.OWN_CORRECTION:
        payload: dict[str, Any] = {"condition_from_visit": True, "note": sub.description[:300]}
        if sub.payload.get("address"):
            payload["address"] = sub.payload["address"]
        return UsulanKind.CORRECTION, payload, sub.family, None
    reason = sub.sanggah_reason
    if reason == SanggahReason.WRONG_AMOUNT:
        return None
    if reason == SanggahReason.NOT_MY_KK:
        assert sub.person is not None
        return UsulanKind.CORRECTION, {"members_remove": [{"person_id": sub.person.pk,
                                                            "removal_reason": c.RemovalReason.DATA_ERROR}],
                                       "note": sub.reference}, sub.family, None
    payload = {"reason": DEACTIVATION_OF[reason], "note": f"Sanggah {sub.reference}: {sub.description[:200]}"}
    if reason in EXCLUSION_OF:
        payload["category"] = category or EXCLUSION_OF[reason]
    return UsulanKind.DEACTIVATION, payload, sub.family, sub.person


@transaction.atomic
def submission_accept(*, actor: Actor, submission: Submission, note: str = "", exclusion_category: str = ""
                      ) -> Submission:
    """Accept a verified submission: it becomes an usulan of the formal channel, ready for ratification.

    For a sanggah about an exclusion category the verifier may name the exact category the visit found (e.g.
    `asn` rather than the default `keluarga_asn` for "ASN/TNI/Polri or their family")."""
    sub = submission_locked(submission.pk)
    if sub.status != S.VERIFIED:
        machine.rule_for("pengajuan", sub.status, S.ACCEPTED)
    if exclusion_category and exclusion_category not in c.ExclusionCategory.values:
        raise _bad("exclusion_category", "Kategori pengecualian tidak dikenal.", "Unknown exclusion category.")
    target = _usulan_for(sub, exclusion_category)
    outcome: Any = "diteruskan_ke_program"
    if target is not None:
        kind, raw, family, person = target
        clean, summary = payload_clean(kind, raw, family=family, person=person)
        door = _door_check(actor, clean, sub.village_code)  # checked again: the register may have changed
        now = timezone.now()
        usulan = Usulan.objects.create(
            reference=new_reference("USL", Usulan, timezone.localdate()), kind=kind, origin=Origin.CITIZEN,
            status=machine.USULAN_FROM_CITIZEN, village_code=sub.village_code, family=family, person=person,
            payload=clean, summary=summary, submission=sub, created_by=author_of(actor), status_changed_at=now,
            submitted_to_dinsos_at=now,
        )
        usulan.documents.add(*sub.documents.all())
        machine.record_initial(usulan, actor=actor, reason=f"Dari pengajuan warga {sub.reference}",
                               evidence={"submission": sub.pk, **door})
        outcome = usulan
    return machine.advance(sub, S.ACCEPTED, actor=actor, reason=note, evidence={"usulan": outcome},
                           fields={"decision_reason": note.strip()})
