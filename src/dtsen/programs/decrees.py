"""Penetapan and penyaluran (dtsen-domain.md §2.2-2.5, E): a beneficiary decree freezes a run's selected list of
one program in a region, creates one disbursement per beneficiary for the run's tahap, and brings the program's
memberships (kepesertaan) in line with it; disbursement status then moves along an explicit transition table.

Every service takes `actor=`, runs in one transaction (all or nothing) and is audited. Where two users could
race, the rows are locked (`select_for_update`) and changed with a conditional UPDATE on their `version`: of two
updates racing on one row exactly one matches, the other gets a `Conflict` (the pattern of updates/machine.py).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.utils import timezone

from dtsen.accounts.permissions import PROGRAM_DISBURSE, PROGRAM_RATIFY
from dtsen.accounts.selectors import Actor, author_of, require_scope
from dtsen.audit.services import audit_record
from dtsen.core.errors import Conflict, PermissionDenied, ValidationFailed
from dtsen.programs.models import (
    Decree,
    Disbursement,
    DisbursementEvent,
    EligibilityResult,
    EligibilityRun,
    ExitReason,
    Membership,
    MembershipEvent,
    MembershipStatus,
    Outcome,
    PayStatus,
    Reason,
    RunStatus,
)
from dtsen.programs.rules import rules_parse
from dtsen.regions.errors import RegionNotFound
from dtsen.regions.selectors import region_get
from dtsen.registry.models import Family

P = PayStatus
M = MembershipStatus
BATCH = 2000

# The disbursement workflow: (from, to) -> the permission the actor needs in a region covering the village.
# A failed payment may be paid later (e.g. after burekol) or returned to the treasury; a paid one can still be
# returned (retur: the money came back unclaimed). Anything else (e.g. back to ditetapkan) is refused.
TRANSITIONS: dict[tuple[str, str], str] = {
    (P.DECIDED, P.PAID): PROGRAM_DISBURSE,
    (P.DECIDED, P.FAILED): PROGRAM_DISBURSE,
    (P.FAILED, P.PAID): PROGRAM_DISBURSE,
    (P.FAILED, P.RETURNED): PROGRAM_DISBURSE,
    (P.PAID, P.RETURNED): PROGRAM_DISBURSE,
}
NEEDS_NOTE = frozenset({P.FAILED, P.RETURNED})  # a failed or returned payment says why

# Payment channels (§2.2): the Himbara banks on the KKS card, or cash through PT Pos.
CHANNELS: dict[str, str] = {
    "bri": "BRI (Himbara)",
    "bni": "BNI (Himbara)",
    "mandiri": "Mandiri (Himbara)",
    "btn": "BTN (Himbara)",
    "bsi": "BSI (Aceh)",
    "pos": "PT Pos Indonesia",
}

# Why an active member left the list of a new decree: their result's reason -> (status, exit reason).
EXIT_BY_REASON: dict[str, tuple[str, str]] = {
    Reason.DECEASED: (M.DEACTIVATED, ExitReason.DECEASED_NO_PENGURUS),
    Reason.NO_PENGURUS: (M.DEACTIVATED, ExitReason.DECEASED_NO_PENGURUS),
    Reason.EXCLUDED: (M.DEACTIVATED, ExitReason.EXCLUDED),
    Reason.NO_COMPONENT: (M.GRADUATED, ExitReason.GRAD_NATURAL),
}
NO_CANDIDATE = (M.DEACTIVATED, ExitReason.DESIL_ROSE)  # no candidate row: the desil left the program's range
CURRENT = (M.ACTIVE, M.SUSPENDED)  # memberships a decree may end
_REASON_ORDER = {value: i for i, value in enumerate(Reason.values)}


class IllegalTransition(Conflict):
    code = "illegal_transition"


def _bad(field: str, message_id: str, message_en: str, **extra: Any) -> ValidationFailed:
    return ValidationFailed(message_id, message_en, field=field, **extra)


def _stale() -> Conflict:
    return Conflict("Data ini baru saja diubah oleh pengguna lain; muat ulang halaman dan periksa kembali.",
                    "This item was just changed by someone else; reload the page and check again.", code="stale")


def _label(choices: type[models.TextChoices], value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def region_q(region_code: str, field: str) -> Q:
    """Rows whose `field` is the region or below it; "" (national) matches every row."""
    if not region_code:
        return Q()
    return Q(**{field: region_code}) | Q(**{f"{field}__startswith": region_code + "."})


def _overlaps(a: str, b: str) -> bool:
    """Two region subtrees share a village (one is the other or below it; "" is everything)."""
    return not a or not b or a == b or a.startswith(b + ".") or b.startswith(a + ".")


# ------------------------------------------------------------------------------------------------ decree


@transaction.atomic
def decree_create(
    *,
    actor: Actor,
    run: EligibilityRun,
    program: str,
    region_code: str,
    decree_number: str,
    decree_date: dt.date,
    decree_file: Any = None,
) -> Decree:
    """Ratify the selected list of `program` in `run` for a province ("PP"), a kabupaten/kota ("PP.KK") or the
    whole country (""): the decree, one disbursement (ditetapkan) per beneficiary, then the memberships."""
    region_code = (region_code or "").strip()
    if not require_scope(actor, PROGRAM_RATIFY).covers(region_code):
        raise PermissionDenied("Penetapan di luar wilayah kewenangan Anda.",
                               "Ratification outside your region is not allowed.", permission=PROGRAM_RATIFY)
    region_name = "Indonesia"
    if region_code:
        try:
            region = region_get(region_code)
        except RegionNotFound:
            region = None
        if region is None or region.level not in (1, 2) or region.code != region_code:
            raise _bad("region_code", "Penetapan dilakukan untuk provinsi atau kabupaten/kota (mis. 34 atau 34.01).",
                       "Ratification is for a province or a regency/city (e.g. 34 or 34.01).")
        region_name = region.name
    number = (decree_number or "").strip()
    if not number:
        raise _bad("decree_number", "Nomor SK penetapan wajib diisi.", "The decree number is required.")
    if len(number) > 80:
        raise _bad("decree_number", "Nomor SK paling panjang 80 karakter.",
                   "The decree number is at most 80 characters.")
    if decree_date > timezone.localdate():
        raise _bad("decree_date", "Tanggal SK tidak boleh di masa depan.", "The decree date cannot be in the future.")
    # The run's row is the lock every decree of the run takes: two ratifications of one run are serialised.
    locked = EligibilityRun.objects.select_for_update().filter(pk=run.pk).first()
    if locked is None or locked.status != RunStatus.FINISHED:
        raise _bad("run", "Proses kelayakan ini belum selesai.", "That eligibility run is not finished.")
    if locked.simulation:
        raise _bad("run", "Hasil simulasi tidak dapat ditetapkan.", "A simulation cannot be ratified.",
                   code="simulation")
    rules_parse(locked.rules_text).program(program)
    for other in Decree.objects.filter(run=locked, program=program).values_list("region_code", "decree_number"):
        if _overlaps(other[0], region_code):
            raise Conflict(f"Program ini sudah ditetapkan untuk wilayah ini dengan SK {other[1]}.",
                           f"This program was already ratified for this region under decree {other[1]}.",
                           code="already_ratified")
    if Decree.objects.filter(program=program, decree_number=number).exists():
        raise _bad("decree_number", "Nomor SK ini sudah dipakai untuk program ini.",
                   "This decree number was already used for this program.", code="duplicate_number")
    selected = EligibilityResult.objects.filter(run=locked, program=program, outcome=Outcome.SELECTED).filter(
        region_q(region_code, "region_code"))
    if not selected.exists():
        raise _bad("region_code", f"Tidak ada penerima terpilih program ini di {region_name}.",
                   f"No selected beneficiaries of this program in {region_name}.", code="nothing_selected")
    document = None
    if decree_file is not None:
        from dtsen.documents.models import DocumentKind
        from dtsen.documents.services import document_store

        document = document_store(actor=actor, uploaded_file=decree_file, kind=DocumentKind.LETTER,
                                  keep_evidence_exif=False, reason=f"SK penetapan {number}")
    try:
        with transaction.atomic():
            decree = Decree.objects.create(run=locked, program=program, region_code=region_code,
                                           decree_number=number, decree_date=decree_date, ratified_by=author_of(actor),
                                           document=document)
    except IntegrityError:
        raise Conflict("SK dengan nomor atau wilayah ini baru saja dibuat oleh pengguna lain.",
                       "A decree with this number or region was just created by someone else.",
                       code="already_ratified") from None
    now = timezone.now()
    count = total = 0
    batch: list[Disbursement] = []

    def flush() -> None:
        Disbursement.objects.bulk_create(batch)
        if any(d.pk is None for d in batch):  # backends that do not return ids
            ids = dict(Disbursement.objects.filter(decree=decree, result_id__in=[d.result_id for d in batch])
                       .values_list("result_id", "pk"))
            for d in batch:
                d.pk = ids[d.result_id]
        DisbursementEvent.objects.bulk_create(
            DisbursementEvent(disbursement_id=d.pk, from_status="", to_status=P.DECIDED, actor=author_of(actor), at=now,
                              note=f"SK {number}") for d in batch)
        batch.clear()

    rows = selected.order_by("pk").values_list("pk", "family_id", "person_id", "village_code", "amount")
    for result_id, family_id, person_id, village, amount in rows.iterator(chunk_size=BATCH):
        batch.append(Disbursement(decree=decree, result_id=result_id, family_id=family_id, person_id=person_id,
                                  village_code=village, tahap=locked.period, amount=amount, status=P.DECIDED,
                                  status_changed_at=now))
        count += 1
        total += amount
        if len(batch) >= BATCH:
            flush()
    flush()
    decree.beneficiaries = count
    decree.total_amount = total
    decree.save(update_fields=["beneficiaries", "total_amount"])
    audit_record(actor=actor, action="decree_create", object_type="decree", object_id=decree.pk,
                 after={"run": locked.pk, "program": program, "region_code": region_code, "decree_number": number,
                        "decree_date": decree_date, "tahap": locked.period, "beneficiaries": count,
                        "total_amount": total, "document": document.pk if document is not None else None})
    membership_apply_decree(actor=actor, decree=decree)
    return decree


@dataclass(frozen=True)
class _Exit:
    status: str
    reason: str
    note: str


def _exit_for(rows: list[tuple[str, str]]) -> _Exit:
    """The exit of a family that the decree does not list, from its result rows (outcome, reason)."""
    if not rows:
        return _Exit(*NO_CANDIDATE, "")
    outcome, reason = min(rows, key=lambda r: _REASON_ORDER.get(r[1], len(_REASON_ORDER)))
    if reason in EXIT_BY_REASON:
        return _Exit(*EXIT_BY_REASON[reason], "")
    why = reason or outcome
    return _Exit(M.DEACTIVATED, ExitReason.OTHER, f"{why}: {_label(Reason, why) if reason else _label(Outcome, why)}")


@transaction.atomic
def membership_apply_decree(*, actor: Actor, decree: Decree) -> dict[str, int]:
    """Bring the program's memberships in the decree's region in line with the decree: every listed family
    active (created or reactivated), every current member not listed ended with the reason of its result.
    Returns the counts {created, reactivated, ended}."""
    if not require_scope(actor, PROGRAM_RATIFY).covers(decree.region_code):
        raise PermissionDenied("Penetapan di luar wilayah kewenangan Anda.",
                               "Ratification outside your region is not allowed.", permission=PROGRAM_RATIFY)
    now = timezone.now()
    listed = Disbursement.objects.filter(decree=decree).values("family_id")
    events: list[MembershipEvent] = []
    counts = {"created": 0, "reactivated": 0, "ended": 0}

    # listed families: reactivate those with a membership that is not active (rows locked, version checked)
    locked = list(Membership.objects.select_for_update().filter(program=decree.program, family_id__in=listed)
                  .order_by("pk"))
    have = {m.family_id for m in locked}
    again = [m for m in locked if m.status != M.ACTIVE]
    _move(again, status=M.ACTIVE, reason="", decree=decree)
    for m in again:
        events.append(MembershipEvent(membership_id=m.pk, from_status=m.status, to_status=M.ACTIVE,
                                      note=f"SK {decree.decree_number}", decree=decree, actor=author_of(actor), at=now))
    counts["reactivated"] = len(again)

    new_ids = sorted(set(Disbursement.objects.filter(decree=decree).values_list("family_id", flat=True)) - have)
    for start in range(0, len(new_ids), BATCH):
        chunk = [Membership(family_id=f, program=decree.program, status=M.ACTIVE, since=decree.decree_date,
                            decree=decree) for f in new_ids[start:start + BATCH]]
        try:
            with transaction.atomic():
                Membership.objects.bulk_create(chunk)
        except IntegrityError:
            raise _stale() from None
        if any(m.pk is None for m in chunk):
            ids = dict(Membership.objects.filter(program=decree.program, family_id__in=[m.family_id for m in chunk])
                       .values_list("family_id", "pk"))
            for m in chunk:
                m.pk = ids[m.family_id]
        events.extend(MembershipEvent(membership_id=m.pk, from_status="", to_status=M.ACTIVE,
                                      note=f"SK {decree.decree_number}", decree=decree, actor=author_of(actor), at=now)
                      for m in chunk)
    counts["created"] = len(new_ids)

    # current members of the region the decree does not list: ended with the reason of their result
    leaving = list(Membership.objects.select_for_update(of=("self",))
                   .filter(region_q(decree.region_code, "family__village_code"), program=decree.program,
                           status__in=CURRENT).exclude(family_id__in=listed).order_by("pk"))
    results: dict[int, list[tuple[str, str]]] = defaultdict(list)
    leaving_ids = [m.family_id for m in leaving]
    for start in range(0, len(leaving_ids), BATCH):
        for family_id, outcome, reason in EligibilityResult.objects.filter(
                run_id=decree.run_id, program=decree.program, family_id__in=leaving_ids[start:start + BATCH]
        ).values_list("family_id", "outcome", "reason"):
            results[family_id].append((outcome, reason))
    groups: dict[_Exit, list[Membership]] = defaultdict(list)
    for m in leaving:
        rows = results.get(m.family_id, [])
        if any(outcome == Outcome.SELECTED for outcome, _reason in rows):
            continue  # selected in this run under another region (the family moved since): not ours to end
        groups[_exit_for(rows)].append(m)
    for ex, members in groups.items():
        _move(members, status=ex.status, reason=ex.reason, decree=decree)
        events.extend(MembershipEvent(membership_id=m.pk, from_status=m.status, to_status=ex.status,
                                      reason=ex.reason, note=(ex.note or f"SK {decree.decree_number}")[:300],
                                      decree=decree, actor=author_of(actor), at=now) for m in members)
        counts["ended"] += len(members)
    MembershipEvent.objects.bulk_create(events, batch_size=BATCH)
    audit_record(actor=actor, action="membership_apply_decree", object_type="decree", object_id=decree.pk,
                 after={"program": decree.program, "region_code": decree.region_code, **counts,
                        "ended_by_reason": {f"{ex.status}:{ex.reason}": len(ms) for ex, ms in groups.items()}})
    return counts


def _move(members: list[Membership], *, status: str, reason: str, decree: Decree) -> None:
    """Change locked memberships in one UPDATE per status they had; the version each was read with must still
    be theirs (else someone changed one in between: Conflict, the caller's transaction rolls back)."""
    by_version: dict[tuple[str, int], list[int]] = defaultdict(list)
    for m in members:
        by_version[(m.status, m.version)].append(m.pk)
    for (old, version), pks in by_version.items():
        for start in range(0, len(pks), BATCH):
            chunk = pks[start:start + BATCH]
            n = Membership.objects.filter(pk__in=chunk, status=old, version=version).update(
                status=status, reason=reason, since=decree.decree_date, decree=decree, version=F("version") + 1,
                updated_at=timezone.now())
            if n != len(chunk):
                raise _stale()


# ------------------------------------------------------------------------------------------ disbursement


def transition_check(src: str, dst: str) -> str:
    """The permission a move needs; IllegalTransition (bilingual) for a pair not in the table."""
    permission = TRANSITIONS.get((src, dst))
    if permission is None:
        raise IllegalTransition(
            f"Status penyaluran tidak dapat diubah dari «{_label(P, src)}» menjadi «{_label(P, dst)}».",
            f"The disbursement status cannot change from '{src}' to '{dst}'.", from_status=src, to_status=dst)
    return permission


def allowed_statuses(disbursement: Disbursement, actor: Actor) -> list[str]:
    """The statuses the actor may move this disbursement to now (for buttons; the service checks again)."""
    from dtsen.accounts.selectors import scope_for

    return [dst for (src, dst), perm in TRANSITIONS.items()
            if src == disbursement.status and scope_for(actor, perm).covers(disbursement.village_code)]


def _check_move(src: str, dst: str, note: str, channel: str, current_channel: str) -> None:
    transition_check(src, dst)
    if dst in NEEDS_NOTE and not note:
        raise _bad("note", "Tuliskan alasan gagal salur atau retur.", "Give the reason of the failure or return.",
                   code="note_missing")
    if channel and channel not in CHANNELS:
        raise _bad("channel", f"Jalur penyaluran tidak dikenal: {channel!r}.", f"Unknown channel: {channel!r}.")
    if dst == P.PAID and not (channel or current_channel):
        raise _bad("channel", "Pilih jalur penyaluran (bank Himbara atau PT Pos).",
                   "Choose the channel (a Himbara bank or PT Pos).", code="channel_missing")


@transaction.atomic
def disbursement_set_status(
    *, actor: Actor, disbursement: Disbursement, status: str, note: str = "", channel: str = ""
) -> Disbursement:
    """Move one disbursement along TRANSITIONS, from the status (and version) the caller read."""
    note, channel = (note or "").strip()[:300], (channel or "").strip().lower()
    permission = transition_check(disbursement.status, status)
    if not require_scope(actor, permission).covers(disbursement.village_code):
        raise PermissionDenied("Anda tidak berwenang mencatat penyaluran di desa ini.",
                               "You are not allowed to record disbursement in this village.", permission=permission)
    _check_move(disbursement.status, status, note, channel, disbursement.channel)
    now = timezone.now()
    changes: dict[str, Any] = {"status": status, "status_changed_at": now, "note": note}
    if channel:
        changes["channel"] = channel
    updated = Disbursement.objects.filter(pk=disbursement.pk, status=disbursement.status,
                                          version=disbursement.version).update(version=F("version") + 1, **changes)
    if updated != 1:
        raise _stale()
    DisbursementEvent.objects.create(disbursement_id=disbursement.pk, from_status=disbursement.status,
                                     to_status=status, note=note, actor=author_of(actor), at=now)
    audit_record(actor=actor, action=f"disbursement_{status}", object_type="disbursement", object_id=disbursement.pk,
                 before={"status": disbursement.status, "version": disbursement.version},
                 after={"status": status, "version": disbursement.version + 1, "channel": channel or None},
                 reason=note, person_ids=[disbursement.person_id] if disbursement.person_id else None)
    return Disbursement.objects.get(pk=disbursement.pk)


@dataclass(frozen=True)
class ImportResult:
    changed: int
    by_status: dict[str, int]


def _row_error(n: int, message_id: str, message_en: str) -> dict[str, Any]:
    return {"row": n, "message_id": message_id, "message_en": message_en}


def _int_or_none(value: Any) -> int | None:
    text = str(value if value is not None else "").strip()
    return int(text) if text.isdigit() else None


@transaction.atomic
def disbursement_import(*, actor: Actor, decree: Decree, rows: Iterable[Mapping[str, Any]]) -> ImportResult:
    """A bank's or PT Pos' report for one decree: each row names a family (`family_id` or `family_code`), for a
    person program also the person (`person_id`), and the new `status` (optional `note`, `channel`).

    All or nothing: any bad row (unknown family, illegal move, a village outside the actor's scope, a repeated
    row...) rejects the whole report with a bilingual list of the bad rows (row numbers from 1)."""
    scope = require_scope(actor, PROGRAM_DISBURSE)
    by_key: dict[tuple[int, int | None], Disbursement] = {}
    for d in Disbursement.objects.select_for_update().filter(decree_id=decree.pk).order_by("pk"):
        by_key[(d.family_id, d.person_id)] = d
    person_program = any(k[1] is not None for k in by_key)
    codes = dict(Family.objects.filter(pk__in=Disbursement.objects.filter(decree_id=decree.pk).values("family_id"))
                 .values_list("family_code", "pk"))
    errors: list[dict[str, Any]] = []
    moves: list[tuple[Disbursement, str, str, str]] = []
    seen: set[int] = set()
    n = 0
    for n, row in enumerate(rows, start=1):
        family_id = _int_or_none(row.get("family_id"))
        code = str(row.get("family_code") or "").strip().upper()
        if family_id is None and code:
            family_id = codes.get(code)
        person_id = _int_or_none(row.get("person_id")) if person_program else None
        status = str(row.get("status") or "").strip().lower()
        note = str(row.get("note") or "").strip()[:300]
        channel = str(row.get("channel") or "").strip().lower()
        found = by_key.get((family_id, person_id)) if family_id is not None else None
        if found is None:
            who = code or str(row.get("family_id") or "")
            errors.append(_row_error(n, f"Keluarga/penerima {who!r} tidak ada dalam SK ini.",
                                     f"Family/recipient {who!r} is not in this decree."))
            continue
        d = found
        if d.pk in seen:
            errors.append(_row_error(n, "Penerima ini sudah ada di baris sebelumnya.",
                                     "This recipient is already in an earlier row."))
            continue
        seen.add(d.pk)
        if not scope.covers(d.village_code):
            errors.append(_row_error(n, f"Desa {d.village_code} di luar wilayah kewenangan Anda.",
                                     f"Village {d.village_code} is outside your region."))
            continue
        try:
            _check_move(d.status, status, note, channel, d.channel)
        except (Conflict, ValidationFailed) as exc:
            errors.append(_row_error(n, exc.message_id, exc.message_en))
            continue
        moves.append((d, status, note, channel))
    if not n:
        raise _bad("rows", "Laporan penyaluran kosong.", "The disbursement report is empty.")
    if errors:
        raise ValidationFailed(
            f"Laporan ditolak: {len(errors)} dari {n} baris bermasalah; tidak ada yang dicatat.",
            f"Report rejected: {len(errors)} of {n} rows are wrong; nothing was recorded.",
            code="import_rejected", field="rows", errors=errors)
    now = timezone.now()
    groups: dict[tuple[str, int, str, str, str], list[int]] = defaultdict(list)
    for d, status, note, channel in moves:
        groups[(d.status, d.version, status, note, channel)].append(d.pk)
    for (old, version, status, note, channel), pks in groups.items():
        changes: dict[str, Any] = {"status": status, "status_changed_at": now, "note": note}
        if channel:
            changes["channel"] = channel
        for start in range(0, len(pks), BATCH):
            chunk = pks[start:start + BATCH]
            if Disbursement.objects.filter(pk__in=chunk, status=old, version=version).update(
                    version=F("version") + 1, **changes) != len(chunk):
                raise _stale()
    DisbursementEvent.objects.bulk_create(
        (DisbursementEvent(disbursement_id=d.pk, from_status=d.status, to_status=status, note=note,
                           actor=author_of(actor), at=now) for d, status, note, _channel in moves), batch_size=BATCH)
    by_status: dict[str, int] = defaultdict(int)
    for _d, status, _note, _channel in moves:
        by_status[status] += 1
    audit_record(actor=actor, action="disbursement_import", object_type="decree", object_id=decree.pk,
                 after={"rows": n, "changed": len(moves), "by_status": dict(by_status)})
    return ImportResult(changed=len(moves), by_status=dict(by_status))
