"""The formal update channel (dtsen-domain.md §4, B): draft, village meeting, Dinsos check, field
verification, ratification in a batch, applied at the monthly cut-off (`cutoff.py`).

Every service takes `actor=`, runs in one transaction and moves statuses only through `machine.advance`
(permission in the item's region, evidence, conditional update, Transition row, audit record).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from dtsen.accounts.permissions import USULAN_CHECK, USULAN_DRAFT, USULAN_RATIFY
from dtsen.accounts.selectors import Actor, author_of, require_scope, scope_for
from dtsen.audit.services import audit_record
from dtsen.core.errors import NotFound, PermissionDenied, ValidationFailed
from dtsen.documents.models import Document, DocumentKind
from dtsen.documents.services import Upload, document_store
from dtsen.linkage.door import members_check
from dtsen.regions.errors import RegionNotFound
from dtsen.regions.selectors import region_get
from dtsen.registry.crypto import nik_decrypt
from dtsen.registry.models import Family, Person
from dtsen.updates import machine
from dtsen.updates.models import (
    Musdes,
    MusdesKind,
    Penetapan,
    Usulan,
    UsulanKind,
    UsulanStatus,
    Visit,
    VisitOutcome,
    VisitStatus,
)
from dtsen.updates.payloads import payload_clean

U = UsulanStatus
_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud over the phone


def new_reference(prefix: str, model: Any, today: dt.date) -> str:
    for _ in range(20):
        code = f"{prefix}-{today:%Y%m}-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))
        if not model.objects.filter(reference=code).exists():
            return code
    raise RuntimeError("could not allocate a reference number")


def _bad(field: str, message_id: str, message_en: str, **extra: Any) -> ValidationFailed:
    return ValidationFailed(message_id, message_en, field=field, **extra)


def _not_future(day: dt.date, field: str) -> None:
    if day > timezone.localdate():
        raise _bad(field, "Tanggal tidak boleh di masa depan.", "The date cannot be in the future.")


def region_or_none(code: str) -> Any:
    try:
        return region_get(code)
    except RegionNotFound:
        return None


def _village(code: str) -> None:
    region = region_or_none(code)
    if region is None or region.level != 4:
        raise _bad("village_code", f"Kode desa/kelurahan '{code}' tidak dikenal.", f"Unknown village code '{code}'.")


def _require_in_scope(actor: Actor, permission: str, village_code: str) -> None:
    if not require_scope(actor, permission).covers(village_code):
        raise PermissionDenied("Wilayah ini di luar kewenangan Anda.", "This region is outside your scope.")


def _documents(actor: Actor, uploads: Iterable[tuple[str, Upload]], *, family: Family | None,
               owner: Any = None, reason: str) -> list[Document]:
    return [
        document_store(actor=actor, uploaded_file=upload, kind=kind, keep_evidence_exif=False, owner=owner,
                       family=family, reason=reason)
        for kind, upload in uploads
    ]


def usulan_locked(usulan_id: int) -> Usulan:
    try:
        return Usulan.objects.select_for_update().get(pk=usulan_id)
    except Usulan.DoesNotExist:
        raise NotFound("Usulan tidak ditemukan.", "Proposal not found.") from None


def _door_check(actor: Actor, payload: dict[str, Any], village_code: str) -> dict[str, Any]:
    """The check at the door (dtsen.linkage.door) of the new persons of a cleaned payload (a new family's
    members, a correction's added members), stored in the payload as `door_check` (masked data only) so that it
    stays with the usulan and is shown to the Dinsos checking it. Flags, never blocks: without a trained model
    the note says the check was not run. Returns evidence for the usulan's Transition."""
    members = [
        (key, i, {"nik": nik_decrypt(m["nik_enc"]), "name": m.get("name", ""), "sex": m.get("sex", ""),
                  "birth_date": m.get("birth_date"), "birth_place": m.get("birth_place", ""),
                  "village_code": village_code})
        for key in ("members", "members_add") for i, m in enumerate(payload.get(key) or [])
    ]
    result = members_check(actor, members, region_code=village_code)
    if result is None:
        payload.pop("door_check", None)
        return {}
    payload["door_check"] = result
    return {"door_check": result["code"], "door_flagged": result["flagged"]}


# ------------------------------------------------------------------------------------------- drafting


@transaction.atomic
def usulan_create(
    *,
    actor: Actor,
    kind: str,
    village_code: str,
    payload: dict[str, Any],
    family: Family | None = None,
    person: Person | None = None,
    documents: Iterable[tuple[str, Upload]] = (),
) -> Usulan:
    """A village operator drafts an usulan for a village in their scope (status `draf`)."""
    if kind not in UsulanKind.values:
        raise _bad("kind", "Jenis usulan tidak dikenal.", "Unknown kind of proposal.")
    if family is not None:
        village_code = family.village_code
    _village(village_code)
    _require_in_scope(actor, USULAN_DRAFT, village_code)
    if kind == UsulanKind.NEW_FAMILY and family is not None:
        raise _bad("family", "Usulan keluarga baru tidak merujuk keluarga yang sudah ada.",
                   "A new-family proposal cannot refer to an existing family.")
    if family is not None and family.status != "aktif" and kind != UsulanKind.CORRECTION:
        raise _bad("family", "Keluarga ini sudah tidak aktif.", "This family is no longer active.")
    clean, summary = payload_clean(kind, payload, family=family, person=person)
    door = _door_check(actor, clean, village_code)
    now = timezone.now()
    usulan = Usulan(
        kind=kind, village_code=village_code, family=family, person=person, payload=clean, summary=summary,
        created_by=author_of(actor), status=U.DRAFT, status_changed_at=now,
        reference=new_reference("USL", Usulan, timezone.localdate()),
    )
    try:
        with transaction.atomic():
            usulan.save()
    except IntegrityError:  # the one-in-a-billion reference collision between check and insert
        usulan.reference = new_reference("USL", Usulan, timezone.localdate())
        usulan.save()
    docs = _documents(actor, documents, family=family, reason=f"Lampiran usulan {usulan.reference}")
    usulan.documents.add(*docs)
    machine.record_initial(usulan, actor=actor, reason=summary, evidence=door)
    return usulan


@transaction.atomic
def usulan_edit(
    *,
    actor: Actor,
    usulan: Usulan,
    payload: dict[str, Any] | None = None,
    documents: Iterable[tuple[str, Upload]] = (),
    reason: str,
) -> Usulan:
    """Change a draft or a returned usulan (the only two states whose content may change); audited."""
    usulan = usulan_locked(usulan.pk)
    _require_in_scope(actor, USULAN_DRAFT, usulan.village_code)
    if usulan.status not in (U.DRAFT, U.RETURNED):
        raise machine.IllegalTransition(
            "Usulan hanya dapat diubah saat masih draf atau dikembalikan.",
            "A proposal can be changed only while it is a draft or returned.",
        )
    if not reason.strip():
        raise _bad("reason", "Alasan perubahan wajib diisi.", "A reason for the change is required.")
    before = {"payload": usulan.payload, "summary": usulan.summary}
    if payload is not None:
        usulan.payload, usulan.summary = payload_clean(usulan.kind, payload, family=usulan.family,
                                                       person=usulan.person)
        _door_check(actor, usulan.payload, usulan.village_code)
    usulan.version += 1
    usulan.save(update_fields=["payload", "summary", "version"])
    docs = _documents(actor, documents, family=usulan.family, reason=f"Lampiran usulan {usulan.reference}")
    usulan.documents.add(*docs)
    audit_record(actor=actor, action="usulan_edit", object_type="usulan", object_id=usulan.pk, before=before,
                 after={"payload": usulan.payload, "summary": usulan.summary, "documents": [d.pk for d in docs]},
                 reason=reason)
    return usulan


def _complete(usulan: Usulan) -> bool:
    payload_clean(usulan.kind, usulan.payload, family=usulan.family, person=usulan.person)
    return True


@transaction.atomic
def usulan_to_musdes(*, actor: Actor, usulan: Usulan) -> Usulan:
    usulan = usulan_locked(usulan.pk)
    return machine.advance(usulan, U.TO_MUSDES, actor=actor, evidence={"payload_complete": _complete(usulan)})


@transaction.atomic
def usulan_cancel(*, actor: Actor, usulan: Usulan, reason: str) -> Usulan:
    usulan = usulan_locked(usulan.pk)
    return machine.advance(usulan, U.CANCELLED, actor=actor, reason=reason)


# ------------------------------------------------------------------------------------- village meeting


@transaction.atomic
def musdes_record(
    *,
    actor: Actor,
    village_code: str,
    kind: str,
    held_on: dt.date,
    signed_by: str,
    minutes: Upload,
    decisions: dict[int, tuple[bool, str]],
) -> Musdes:
    """Record a village meeting (or SPTJM) with its signed minutes and its decision on each usulan.

    `decisions` maps usulan id -> (accepted, note); every usulan must be waiting for the meeting in this
    village. All or nothing: one refused decision leaves no meeting, no document row and no status changed."""
    _village(village_code)
    _require_in_scope(actor, USULAN_DRAFT, village_code)
    if kind not in MusdesKind.values:
        raise _bad("kind", "Jenis musyawarah tidak dikenal.", "Unknown kind of meeting.")
    _not_future(held_on, "held_on")
    if not signed_by.strip():
        raise _bad("signed_by", "Nama kepala desa/lurah yang menandatangani wajib diisi.",
                   "The name of the village head who signed is required.")
    if not decisions:
        raise _bad("decisions", "Pilih sedikitnya satu usulan yang dibahas.", "Choose at least one proposal discussed.")
    doc_kind = DocumentKind.SPTJM if kind == MusdesKind.SPTJM else DocumentKind.BERITA_ACARA
    document = document_store(actor=actor, uploaded_file=minutes, kind=doc_kind, keep_evidence_exif=False,
                              reason=f"{kind} {village_code} {held_on}")
    meeting = Musdes.objects.create(village_code=village_code, kind=kind, held_on=held_on,
                                    signed_by=signed_by.strip()[:120], minutes=document,
                                    recorded_by=author_of(actor))
    audit_record(actor=actor, action="musdes_record", object_type="musdes", object_id=meeting.pk,
                 after={"village_code": village_code, "kind": kind, "held_on": held_on.isoformat(),
                        "minutes": str(document.pk), "decisions": {str(k): v[0] for k, v in decisions.items()}})
    for usulan_id, (accepted, note) in sorted(decisions.items()):
        usulan = usulan_locked(int(usulan_id))
        if usulan.village_code != village_code:
            raise _bad("decisions", f"Usulan {usulan.reference} bukan dari desa ini.",
                       f"Proposal {usulan.reference} is not from this village.")
        if timezone.localtime(usulan.created_at).date() > held_on:
            raise _bad("held_on", f"Usulan {usulan.reference} dibuat setelah tanggal musyawarah.",
                       f"Proposal {usulan.reference} was made after the meeting date.")
        fields = {"musdes": meeting, "musdes_decision_note": (note or "")[:300]}
        if accepted:
            machine.advance(usulan, U.MUSDES_APPROVED, actor=actor, reason=note,
                            evidence={"musdes": meeting}, fields=fields)
        else:
            machine.advance(usulan, U.MUSDES_REJECTED, actor=actor, reason=note,
                            evidence={"musdes": meeting}, fields={**fields, "decision_reason": note or ""})
    return meeting


@transaction.atomic
def usulan_send_to_dinsos(*, actor: Actor, usulan: Usulan) -> Usulan:
    """Send a meeting-approved usulan (or a returned one, after fixing it) to the district Dinsos."""
    usulan = usulan_locked(usulan.pk)
    return machine.advance(usulan, U.DINSOS_CHECK, actor=actor, evidence={"payload_complete": _complete(usulan)},
                           fields={"submitted_to_dinsos_at": timezone.now(), "return_reason": ""})


# ------------------------------------------------------------------------------------------- Dinsos


@transaction.atomic
def usulan_return(*, actor: Actor, usulan: Usulan, reason: str) -> Usulan:
    """Return an incomplete usulan to the village with what is missing."""
    usulan = usulan_locked(usulan.pk)
    return machine.advance(usulan, U.RETURNED, actor=actor, reason=reason, fields={"return_reason": reason.strip()})


def _worker_check(worker: Any, village_code: str) -> None:
    from dtsen.accounts.permissions import VISIT_DO

    if worker is None or not scope_for(worker, VISIT_DO).covers(village_code):
        raise _bad("worker", "Petugas ini bukan pekerja sosial yang wilayahnya mencakup keluarga tersebut.",
                   "This person is not a social worker whose region covers the family.")


def visit_create(*, actor: Actor, worker: Any, due_on: dt.date, village_code: str, family: Family | None,
                 instructions: str, **target: Any) -> Visit:
    _worker_check(worker, village_code)
    if due_on < timezone.localdate():
        raise _bad("due_on", "Batas waktu kunjungan tidak boleh sebelum hari ini.",
                   "The due date cannot be in the past.")
    if due_on > timezone.localdate() + dt.timedelta(days=90):
        raise _bad("due_on", "Batas waktu kunjungan paling lama 90 hari.", "The due date can be at most 90 days ahead.")
    visit = Visit.objects.create(
        village_code=village_code, family=family, assigned_to=worker, assigned_by=author_of(actor),
        assigned_at=timezone.now(), due_on=due_on, instructions=instructions[:300], **target,
    )
    audit_record(actor=actor, action="visit_assign", object_type="kunjungan", object_id=visit.pk,
                 after={"worker": worker.pk, "due_on": due_on.isoformat(), "village_code": village_code,
                        **{k: v.pk for k, v in target.items()}})
    return visit


@transaction.atomic
def usulan_order_visit(*, actor: Actor, usulan: Usulan, worker: Any, due_on: dt.date, instructions: str = ""
                       ) -> Visit:
    """Order a field verification visit; the usulan moves to `verifikasi_lapangan` (or stays there)."""
    usulan = usulan_locked(usulan.pk)
    _require_in_scope(actor, USULAN_CHECK, usulan.village_code)
    if usulan.status != U.FIELD_CHECK:
        machine.rule_for("usulan", usulan.status, U.FIELD_CHECK)  # refuses an illegal move
    visit = visit_create(actor=actor, worker=worker, due_on=due_on, village_code=usulan.village_code,
                         family=usulan.family, instructions=instructions, usulan=usulan)
    if usulan.status == U.DINSOS_CHECK:
        machine.advance(usulan, U.FIELD_CHECK, actor=actor, evidence={"visit": visit})
    return visit


def _done_visit(obj: Any, visit_id: int | None) -> Visit:
    visits = obj.visits.filter(status=VisitStatus.DONE).order_by("-submitted_at")
    visit = visits.filter(pk=visit_id).first() if visit_id else visits.first()
    if visit is None:
        raise ValidationFailed("Belum ada kunjungan verifikasi yang selesai.",
                               "No verification visit has been completed yet.", code="evidence_missing",
                               missing=["visit_done"])
    return visit


# What a visit must have found for each kind of usulan to be verified.
def _visit_supports(usulan: Usulan, visit: Visit) -> str | None:
    """None when the visit's outcome supports the usulan, else why not (bilingual, ' / ')."""
    if usulan.kind == UsulanKind.DEACTIVATION:
        reason = usulan.payload.get("reason")
        expected = {"meninggal": {VisitOutcome.DECEASED}, "pindah": {VisitOutcome.MOVED, VisitOutcome.NOT_FOUND},
                    "tidak_ditemukan": {VisitOutcome.NOT_FOUND, VisitOutcome.MOVED}}.get(reason)
        if expected and visit.outcome not in expected:
            return "Hasil kunjungan tidak sesuai alasan penonaktifan / the visit does not support the reason"
        if not expected and visit.outcome != VisitOutcome.FOUND:
            return "Keluarga tidak ditemukan saat kunjungan / the family was not found at the visit"
        return None
    if visit.outcome != VisitOutcome.FOUND:
        return "Keluarga tidak ditemukan saat kunjungan / the family was not found at the visit"
    needs_condition = usulan.kind == UsulanKind.NEW_FAMILY or usulan.payload.get("condition_from_visit")
    if needs_condition and not visit.candidate_condition:
        return "Kunjungan tidak mencatat kondisi rumah dan aset / the visit recorded no housing and asset data"
    return None


@transaction.atomic
def usulan_verify(*, actor: Actor, usulan: Usulan, visit_id: int | None = None) -> Usulan:
    """Dinsos accepts the field verification: the usulan is ready for ratification."""
    usulan = usulan_locked(usulan.pk)
    visit = _done_visit(usulan, visit_id) if usulan.status == U.FIELD_CHECK else None
    if visit is not None:
        problem = _visit_supports(usulan, visit)
        if problem:
            message_id, _, message_en = problem.partition(" / ")
            raise ValidationFailed(message_id + ".", message_en + ".", code="visit_does_not_support")
    return machine.advance(usulan, U.VERIFIED, actor=actor, evidence={"visit_done": visit})


@transaction.atomic
def usulan_not_eligible(*, actor: Actor, usulan: Usulan, reason: str, visit_id: int | None = None) -> Usulan:
    usulan = usulan_locked(usulan.pk)
    visit = _done_visit(usulan, visit_id) if usulan.status == U.FIELD_CHECK else None
    return machine.advance(usulan, U.NOT_ELIGIBLE, actor=actor, reason=reason, evidence={"visit_done": visit},
                           fields={"decision_reason": reason.strip()})


# ------------------------------------------------------------------------------------------ ratification


@transaction.atomic
def penetapan_create(
    *,
    actor: Actor,
    region_code: str,
    decree_number: str,
    decree_date: dt.date,
    usulan_ids: Iterable[int],
    decree: Upload | None = None,
) -> Penetapan:
    """Ratify verified usulan of one kabupaten/kota in a batch under one decree. All or nothing."""
    region = region_or_none(region_code)
    if region is None or region.level != 2:
        raise _bad("region_code", "Penetapan dilakukan per kabupaten/kota.", "Ratification is per regency/city.")
    if not require_scope(actor, USULAN_RATIFY).covers(region_code):
        raise PermissionDenied(
            "Penetapan di luar wilayah kewenangan Anda.", "Ratification outside your region is not allowed.",
        )
    number = decree_number.strip()
    if not number:
        raise _bad("decree_number", "Nomor SK penetapan wajib diisi.", "The decree number is required.")
    _not_future(decree_date, "decree_date")
    ids = sorted({int(i) for i in usulan_ids})
    if not ids:
        raise _bad("usulan_ids", "Pilih sedikitnya satu usulan.", "Choose at least one proposal.")
    if Penetapan.objects.filter(region_code=region_code, decree_number=number).exists():
        raise _bad("decree_number", "Nomor SK ini sudah dipakai untuk penetapan lain.",
                   "This decree number was already used for another ratification.")
    document = None
    if decree is not None:
        document = document_store(actor=actor, uploaded_file=decree, kind=DocumentKind.LETTER,
                                  keep_evidence_exif=False, reason=f"SK penetapan {number}")
    batch = Penetapan.objects.create(region_code=region_code, decree_number=number, decree_date=decree_date,
                                     ratified_by=author_of(actor), decree=document)
    audit_record(actor=actor, action="penetapan_create", object_type="penetapan", object_id=batch.pk,
                 after={"region_code": region_code, "decree_number": number, "decree_date": decree_date.isoformat(),
                        "usulan": ids})
    for usulan_id in ids:
        usulan = usulan_locked(usulan_id)
        if not (usulan.village_code + ".").startswith(region_code + "."):
            raise PermissionDenied(
                f"Usulan {usulan.reference} bukan dari {region.name}.",
                f"Proposal {usulan.reference} is not from {region.name}.",
            )
        machine.advance(usulan, U.RATIFIED, actor=actor, reason=f"SK {number} ({decree_date:%d-%m-%Y})",
                        evidence={"penetapan": batch}, fields={"penetapan": batch})
    return batch
