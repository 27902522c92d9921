"""The membership (kepesertaan) lifecycle of a family in a program, after its decree (dtsen-domain.md §E, §2.5).

    aktif --suspend--> ditangguhkan --reactivate--> aktif      (tidak padan, no account yet -> burekol)
    aktif | ditangguhkan --deactivate(reason)--> nonaktif       (moved, not found, desil rose, exclusion, ...)
    nonaktif --reactivate--> aktif                              (the reason proved wrong, e.g. PBI reactivation)
    aktif | ditangguhkan --graduate--> graduasi                 (mandiri | paksa; alamiah from a run)
    graduasi: final here (a family that needs help again comes back through a new decree)

Creating memberships and changes decided by a decree are `decrees.membership_apply_decree`. Every service
here works on an existing Membership, needs `program.disburse` in a region covering the family's village,
is atomic, bumps the row's version, writes a MembershipEvent and an audit record. A move that is not in
`TRANSITIONS` is refused (Conflict, bilingual).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from dtsen.accounts.permissions import PROGRAM_DISBURSE
from dtsen.accounts.selectors import Actor, author_of, require_scope
from dtsen.audit.services import audit_record
from dtsen.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from dtsen.programs.models import (
    EligibilityResult,
    EligibilityRun,
    ExitReason,
    Membership,
    MembershipEvent,
    MembershipStatus,
    Reason,
    RunStatus,
)

M = MembershipStatus
NOTE_MAX = 300

# from -> the statuses a service here may move a membership to
TRANSITIONS: dict[str, frozenset[str]] = {
    M.ACTIVE: frozenset({M.SUSPENDED, M.DEACTIVATED, M.GRADUATED}),
    M.SUSPENDED: frozenset({M.ACTIVE, M.DEACTIVATED, M.GRADUATED}),
    M.DEACTIVATED: frozenset({M.ACTIVE}),
    M.GRADUATED: frozenset(),
}
# the reasons of a deactivation (graduations have their own service)
DEACTIVATION_REASONS = frozenset({
    ExitReason.DECEASED_NO_PENGURUS, ExitReason.MOVED, ExitReason.NOT_FOUND, ExitReason.DESIL_ROSE,
    ExitReason.EXCLUDED, ExitReason.SANGGAH, ExitReason.REFUSED, ExitReason.OTHER,
})
GRADUATION_KINDS = {"mandiri": ExitReason.GRAD_VOLUNTARY, "paksa": ExitReason.GRAD_FORCED}
NATURAL_PROGRAM = "pkh"  # the program whose members graduate when no component is left (§2.5)

_STATUS_EN: dict[str, str] = {M.ACTIVE: "active", M.SUSPENDED: "suspended", M.DEACTIVATED: "deactivated",
                              M.GRADUATED: "graduated"}


def transition_check(src: str, dst: str) -> None:
    """Refuse a move that is not in TRANSITIONS (Conflict: the membership is not in a state that allows it)."""
    if dst not in TRANSITIONS.get(src, frozenset()):
        raise Conflict(
            f"Kepesertaan berstatus '{src}' tidak dapat diubah menjadi '{dst}'.",
            f"A membership that is {_STATUS_EN.get(src, src)} cannot become {_STATUS_EN.get(dst, dst)}.",
            code="membership_transition", from_status=src, to_status=dst)


def _note(note: str, *, required: bool) -> str:
    text = (note or "").strip()
    if required and not text:
        raise ValidationFailed("Keterangan wajib diisi.", "A note is required.", field="note")
    if len(text) > NOTE_MAX:
        raise ValidationFailed(f"Keterangan paling banyak {NOTE_MAX} karakter.",
                               f"The note has at most {NOTE_MAX} characters.", field="note")
    return text


def _locked(actor: Actor, membership: Membership, expected_version: int | None) -> Membership:
    """The membership row, locked, after checking the actor's region and the version the caller saw."""
    scope = require_scope(actor, PROGRAM_DISBURSE)
    try:
        row = Membership.objects.select_for_update(of=("self",)).select_related("family").get(pk=membership.pk)
    except Membership.DoesNotExist:
        raise NotFound("Kepesertaan tidak ditemukan.", "Membership not found.") from None
    if not scope.covers(row.family.village_code):
        raise PermissionDenied("Keluarga ini di luar wilayah kewenangan Anda.",
                               "This family is outside your region.", permission=PROGRAM_DISBURSE)
    if expected_version is not None and row.version != expected_version:
        raise Conflict("Kepesertaan ini baru saja diubah orang lain; muat ulang halaman.",
                       "Someone else just changed this membership; reload the page.", code="stale")
    return row


def _move(*, actor: Actor, row: Membership, to: str, reason: str, note: str, action: str,
          extra: dict[str, Any] | None = None) -> Membership:
    transition_check(row.status, to)
    before = {"status": row.status, "reason": row.reason, "since": row.since, "version": row.version}
    today = timezone.localdate()
    n = Membership.objects.filter(pk=row.pk, version=row.version).update(
        status=to, reason=reason, since=today, version=F("version") + 1, updated_at=timezone.now())
    if n != 1:  # pragma: no cover - the row is locked; kept for safety
        raise Conflict("Kepesertaan ini baru saja diubah orang lain.", "Someone else just changed this membership.",
                       code="stale")
    MembershipEvent.objects.create(membership=row, from_status=row.status, to_status=to, reason=reason, note=note,
                                   actor=author_of(actor), at=timezone.now())
    row.refresh_from_db()
    audit_record(actor=actor, action=action, object_type="membership", object_id=row.pk, before=before,
                 after={"family_id": row.family_id, "program": row.program, "status": row.status,
                        "reason": row.reason, "since": row.since, "version": row.version, **(extra or {})},
                 reason=note)
    return row


@transaction.atomic
def membership_suspend(*, actor: Actor, membership: Membership, note: str,
                       expected_version: int | None = None) -> Membership:
    """Suspend payments for a while (e.g. tidak padan Dukcapil, no bank account yet: burekol). Note required."""
    row = _locked(actor, membership, expected_version)
    return _move(actor=actor, row=row, to=M.SUSPENDED, reason="", note=_note(note, required=True),
                 action="membership_suspend")


@transaction.atomic
def membership_reactivate(*, actor: Actor, membership: Membership, note: str,
                          expected_version: int | None = None) -> Membership:
    """Back to active, from a suspension or from a deactivation whose reason no longer holds. Note required."""
    row = _locked(actor, membership, expected_version)
    return _move(actor=actor, row=row, to=M.ACTIVE, reason="", note=_note(note, required=True),
                 action="membership_reactivate", extra={"previous_reason": row.reason})


@transaction.atomic
def membership_deactivate(*, actor: Actor, membership: Membership, reason: str, note: str = "",
                          expected_version: int | None = None) -> Membership:
    """End a membership with one of the deactivation reasons (dtsen-domain.md §E); 'lainnya' needs a note."""
    if reason not in DEACTIVATION_REASONS:
        raise ValidationFailed("Alasan penonaktifan tidak dikenal (untuk graduasi gunakan layanan graduasi).",
                               "Unknown deactivation reason (use graduation for a graduation).", field="reason")
    text = _note(note, required=reason == ExitReason.OTHER)
    row = _locked(actor, membership, expected_version)
    return _move(actor=actor, row=row, to=M.DEACTIVATED, reason=reason, note=text, action="membership_deactivate")


@transaction.atomic
def membership_graduate(*, actor: Actor, membership: Membership, kind: str, note: str,
                        expected_version: int | None = None) -> Membership:
    """Graduasi mandiri (voluntary, with a signed statement: mampu or murni) or paksa (non-compliance after
    warnings, or a desa letter that the family is mampu). The note says which statement or letter."""
    if kind not in GRADUATION_KINDS:
        raise ValidationFailed("Jenis graduasi harus 'mandiri' atau 'paksa'.",
                               "The graduation kind must be 'mandiri' or 'paksa'.", field="kind")
    text = _note(note, required=True)
    row = _locked(actor, membership, expected_version)
    return _move(actor=actor, row=row, to=M.GRADUATED, reason=GRADUATION_KINDS[kind], note=text,
                 action="membership_graduate", extra={"kind": kind})


@transaction.atomic
def membership_graduate_natural(*, actor: Actor, run: EligibilityRun) -> list[Membership]:
    """Graduasi alamiah: every current PKH member in the actor's region whose family, in this (published,
    finished) run, has no component left (reason tidak_ada_komponen). Returns the memberships graduated."""
    scope = require_scope(actor, PROGRAM_DISBURSE)
    try:
        run = EligibilityRun.objects.get(pk=run.pk)
    except EligibilityRun.DoesNotExist:
        raise NotFound("Proses kelayakan tidak ditemukan.", "Eligibility run not found.") from None
    if run.status != RunStatus.FINISHED or run.simulation:
        raise ValidationFailed("Graduasi alamiah hanya dari proses kelayakan yang selesai dan bukan simulasi.",
                               "Natural graduation only from a finished run that is not a simulation.", field="run")
    no_component = EligibilityResult.objects.filter(run=run, program=NATURAL_PROGRAM, reason=Reason.NO_COMPONENT)
    rows = list(Membership.objects.select_for_update(of=("self",))
                .filter(scope.q("family__village_code"), program=NATURAL_PROGRAM,
                        status__in=[M.ACTIVE, M.SUSPENDED],
                        family_id__in=no_component.values("family_id"))
                .select_related("family").order_by("pk"))
    note = f"Tidak ada komponen tersisa / no component left (proses kelayakan {run.pk}, {run.period})"
    done = [_move(actor=actor, row=row, to=M.GRADUATED, reason=ExitReason.GRAD_NATURAL, note=note,
                  action="membership_graduate", extra={"kind": "alamiah", "run": run.pk}) for row in rows]
    audit_record(actor=actor, action="membership_graduate_natural", object_type="eligibility_run", object_id=run.pk,
                 after={"graduated": len(done), "program": NATURAL_PROGRAM,
                        "region": "ID" if scope.national else ",".join(scope.prefixes)})
    return done
