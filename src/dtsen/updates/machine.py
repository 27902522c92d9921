"""The three workflows as explicit transition tables, and the one function that moves an item along them.

Each table maps (from, to) to a `Rule`: the permission the actor must hold in a region covering the item's
village, and the evidence the move needs. `advance` refuses any pair not in the table with a bilingual
reason, checks the permission and the evidence, then changes the status with a conditional UPDATE
(`WHERE id = … AND status = … AND version = …`): of two approvals racing on one item exactly one matches,
the other gets a `Conflict`. The change, its `Transition` row and its audit record are written in the
caller's transaction, so a step that fails later rolls all of them back. docs/workflows.md is rendered from
these tables (scripts/render_workflows.py; a test keeps it current).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from dtsen.accounts.permissions import (
    USULAN_CHECK,
    USULAN_CUTOFF,
    USULAN_DRAFT,
    USULAN_RATIFY,
    VISIT_DO,
)
from dtsen.accounts.selectors import Actor, author_of, scope_for
from dtsen.audit.services import audit_record
from dtsen.core.errors import Conflict, PermissionDenied, ValidationFailed
from dtsen.updates.models import (
    Submission,
    SubmissionStatus,
    Transition,
    Usulan,
    UsulanStatus,
    Visit,
    VisitStatus,
    Workflow,
)

U = UsulanStatus
S = SubmissionStatus
V = VisitStatus

# Evidence names a rule may require (what `advance` receives in `evidence=`).
EVIDENCE_TEXT: dict[str, tuple[str, str]] = {
    "reason": ("alasan", "a reason"),
    "payload_complete": ("data usulan lengkap", "complete proposal data"),
    "musdes": ("berita acara musdes/SPTJM yang ditandatangani", "the signed meeting minutes or SPTJM"),
    "visit": ("penugasan kunjungan verifikasi", "a verification visit assignment"),
    "visit_done": ("hasil kunjungan verifikasi", "the result of a verification visit"),
    "penetapan": ("nomor dan tanggal SK penetapan", "the decree number and date"),
    "applied": ("perubahan tercatat di registri", "the change written to the registry"),
    "usulan": ("usulan formal yang dibuat", "the formal usulan created"),
    "photos": ("foto dengan lokasi GPS", "photos with a GPS position"),
}


@dataclass(frozen=True)
class Rule:
    permission: str
    evidence: tuple[str, ...] = ()
    actor_id: str = ""  # who acts, for the documentation (e.g. "operator desa")


USULAN: dict[tuple[str, str], Rule] = {
    (U.DRAFT, U.TO_MUSDES): Rule(USULAN_DRAFT, ("payload_complete",), "operator desa"),
    (U.DRAFT, U.CANCELLED): Rule(USULAN_DRAFT, ("reason",), "operator desa"),
    (U.TO_MUSDES, U.MUSDES_APPROVED): Rule(USULAN_DRAFT, ("musdes",), "operator desa"),
    (U.TO_MUSDES, U.MUSDES_REJECTED): Rule(USULAN_DRAFT, ("musdes", "reason"), "operator desa"),
    (U.MUSDES_APPROVED, U.DINSOS_CHECK): Rule(USULAN_DRAFT, ("payload_complete",), "operator desa"),
    (U.DINSOS_CHECK, U.RETURNED): Rule(USULAN_CHECK, ("reason",), "Dinsos"),
    (U.RETURNED, U.DINSOS_CHECK): Rule(USULAN_DRAFT, ("payload_complete",), "operator desa"),
    (U.RETURNED, U.CANCELLED): Rule(USULAN_DRAFT, ("reason",), "operator desa"),
    (U.DINSOS_CHECK, U.FIELD_CHECK): Rule(USULAN_CHECK, ("visit",), "Dinsos"),
    (U.FIELD_CHECK, U.VERIFIED): Rule(USULAN_CHECK, ("visit_done",), "Dinsos"),
    (U.FIELD_CHECK, U.NOT_ELIGIBLE): Rule(USULAN_CHECK, ("visit_done", "reason"), "Dinsos"),
    (U.VERIFIED, U.RATIFIED): Rule(USULAN_RATIFY, ("penetapan",), "ratifier"),
    (U.RATIFIED, U.APPLIED): Rule(USULAN_CUTOFF, ("applied",), "cut-off"),
    (U.RATIFIED, U.RETURNED): Rule(USULAN_CUTOFF, ("reason",), "cut-off"),
}
# A citizen's submission accepted by Dinsos enters the formal channel here (created, not moved).
USULAN_FROM_CITIZEN = U.VERIFIED

SUBMISSION: dict[tuple[str, str], Rule] = {
    (S.SUBMITTED, S.FIELD_CHECK): Rule(USULAN_CHECK, ("visit",), "Dinsos"),
    (S.SUBMITTED, S.REJECTED): Rule(USULAN_CHECK, ("reason",), "Dinsos"),
    (S.FIELD_CHECK, S.VERIFIED): Rule(USULAN_CHECK, ("visit_done",), "Dinsos"),
    (S.FIELD_CHECK, S.REJECTED): Rule(USULAN_CHECK, ("visit_done", "reason"), "Dinsos"),
    (S.VERIFIED, S.ACCEPTED): Rule(USULAN_CHECK, ("usulan",), "Dinsos"),
    (S.VERIFIED, S.REJECTED): Rule(USULAN_CHECK, ("reason",), "Dinsos"),
}

VISIT: dict[tuple[str, str], Rule] = {
    (V.ASSIGNED, V.DONE): Rule(VISIT_DO, ("photos",), "pekerja sosial"),
    (V.ASSIGNED, V.CANCELLED): Rule(USULAN_CHECK, ("reason",), "Dinsos"),
}

TABLES: dict[str, tuple[type[models.Model], dict[tuple[str, str], Rule], type[models.TextChoices]]] = {
    Workflow.USULAN: (Usulan, USULAN, UsulanStatus),
    Workflow.SUBMISSION: (Submission, SUBMISSION, SubmissionStatus),
    Workflow.VISIT: (Visit, VISIT, VisitStatus),
}


class IllegalTransition(Conflict):
    code = "illegal_transition"


def _label(choices: type[models.TextChoices], value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def workflow_of(obj: models.Model) -> str:
    for name, (model, _, _) in TABLES.items():
        if isinstance(obj, model):
            return name
    raise TypeError(f"no workflow for {type(obj).__name__}")


def allowed_moves(obj: Any, actor: Actor) -> list[str]:
    """The statuses the actor may move this item to now (for buttons; `advance` checks again)."""
    _, table, _ = TABLES[workflow_of(obj)]
    out = []
    for (src, dst), rule in table.items():
        if src == obj.status and scope_for(actor, rule.permission).covers(obj.village_code):
            out.append(dst)
    return out


def rule_for(workflow: str, src: str, dst: str) -> Rule:
    _, table, choices = TABLES[workflow]
    rule = table.get((src, dst))
    if rule is None:
        raise IllegalTransition(
            f"Status tidak dapat diubah dari «{_label(choices, src)}» menjadi «{_label(choices, dst)}».",
            f"The status cannot change from '{src}' to '{dst}'.",
            from_status=src,
            to_status=dst,
        )
    return rule


def advance(
    obj: Any,
    to: str,
    *,
    actor: Actor,
    reason: str = "",
    evidence: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
) -> Any:
    """Move `obj` (an Usulan, Submission or Visit) to status `to`; returns the refreshed object.

    Must run inside the caller's transaction (the side effects of the move belong to the same one)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("advance() must run inside transaction.atomic")
    workflow = workflow_of(obj)
    model = TABLES[workflow][0]
    rule = rule_for(workflow, obj.status, to)
    if not scope_for(actor, rule.permission).covers(obj.village_code):
        raise PermissionDenied(
            "Anda tidak berwenang melakukan langkah ini untuk wilayah tersebut.",
            "You are not allowed to take this step for that region.",
            permission=rule.permission,
        )
    evidence = dict(evidence or {})
    reason = (reason or "").strip()
    missing = [
        name for name in rule.evidence
        if (name == "reason" and not reason) or (name != "reason" and not evidence.get(name))
    ]
    if missing:
        raise ValidationFailed(
            "Langkah ini memerlukan: " + ", ".join(EVIDENCE_TEXT[m][0] for m in missing) + ".",
            "This step needs: " + ", ".join(EVIDENCE_TEXT[m][1] for m in missing) + ".",
            code="evidence_missing",
            missing=missing,
        )
    now = timezone.now()
    changes = {"status": to, "status_changed_at": now, **(fields or {})}
    updated = model._default_manager.filter(pk=obj.pk, status=obj.status, version=obj.version).update(
        version=F("version") + 1, **changes
    )
    if updated != 1:
        raise Conflict(
            "Data ini baru saja diubah oleh pengguna lain; muat ulang halaman dan periksa kembali.",
            "This item was just changed by someone else; reload the page and check again.",
            code="stale",
        )
    Transition.objects.create(
        workflow=workflow,
        object_id=obj.pk,
        from_status=obj.status,
        to_status=to,
        actor=author_of(actor),
        role=rule.permission,
        reason=reason,
        evidence=_jsonable(evidence),
        at=now,
    )
    audit_record(
        actor=actor,
        action=f"{workflow}_{to}",
        object_type=workflow,
        object_id=obj.pk,
        before={"status": obj.status, "version": obj.version},
        after={"status": to, "version": obj.version + 1, **_jsonable(fields or {})},
        reason=reason,
        person_ids=[obj.person_id] if getattr(obj, "person_id", None) else None,
    )
    return model._default_manager.get(pk=obj.pk)


def record_initial(obj: Any, *, actor: Actor, reason: str = "", evidence: dict[str, Any] | None = None) -> None:
    """The first Transition of a new item ('' -> its initial status) and its audit record."""
    workflow = workflow_of(obj)
    Transition.objects.create(
        workflow=workflow,
        object_id=obj.pk,
        from_status="",
        to_status=obj.status,
        actor=author_of(actor),
        reason=reason,
        evidence=_jsonable(evidence or {}),
        at=obj.status_changed_at if hasattr(obj, "status_changed_at") else timezone.now(),
    )
    audit_record(
        actor=actor,
        action=f"{workflow}_create",
        object_type=workflow,
        object_id=obj.pk,
        after={"status": obj.status, "reference": getattr(obj, "reference", "")},
        reason=reason,
        person_ids=[obj.person_id] if getattr(obj, "person_id", None) else None,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        value = value.pk
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)  # UUID, Decimal


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(value) for key, value in data.items()}
