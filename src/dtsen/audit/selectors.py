"""Reading and verifying the audit trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from dtsen.audit.models import GENESIS, AuditRecord
from dtsen.audit.services import HASHED_FIELDS, record_hash


@dataclass(frozen=True)
class Break:
    seq: int
    problem: str


def audit_verify(*, batch: int = 5000) -> Iterator[Break]:
    """Walk the chain in order; yield every place where it does not hold (changed, inserted or deleted rows)."""
    prev_hash = GENESIS
    expected_seq = 1
    while True:
        rows = list(AuditRecord.objects.filter(seq__gte=expected_seq).order_by("seq")[:batch])
        if not rows:
            break
        for rec in rows:
            if rec.seq != expected_seq:
                yield Break(expected_seq, "missing")
                expected_seq = rec.seq
            if rec.prev_hash != prev_hash:
                yield Break(rec.seq, "prev_hash")
            fields: dict[str, Any] = {k: getattr(rec, k) for k in HASHED_FIELDS}
            if record_hash(rec.prev_hash, fields) != rec.hash:
                yield Break(rec.seq, "content")
            prev_hash = rec.hash
            expected_seq = rec.seq + 1
        if len(rows) < batch:
            break
    from dtsen.audit.models import AuditHead

    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        yield Break(expected_seq, "head")


def audit_search_for(*, actor: Any, **filters: Any) -> QuerySet[AuditRecord]:
    """`audit_search` for a user with the audit permission: a national auditor sees every record, a regional one
    the records of actors working in their regions."""
    from dtsen.accounts.permissions import AUDIT_VIEW
    from dtsen.accounts.selectors import require_scope

    scope = require_scope(actor, AUDIT_VIEW)
    qs = audit_search(**filters)
    if not scope.national:
        limit = Q(pk__in=[])
        for code in scope.prefixes:
            limit |= Q(region__contains=code)
        qs = qs.filter(limit)
    return qs


def audit_search(
    *,
    person_id: int | None = None,
    actor_username: str = "",
    region: str = "",
    action: str = "",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[AuditRecord]:
    """Search by person, actor, region and time (the caller checks that the user is an auditor)."""
    qs = AuditRecord.objects.all()
    if person_id is not None:
        qs = qs.filter(
            Q(persons__contains=f",{person_id},") | Q(object_type="person", object_id=str(person_id))
        )
    if actor_username:
        qs = qs.filter(actor_username=actor_username)
    if region:
        qs = qs.filter(region__contains=region)
    if action:
        qs = qs.filter(action__startswith=action)
    if since is not None:
        qs = qs.filter(at__gte=since)
    if until is not None:
        qs = qs.filter(at__lt=until)
    return qs.order_by("-seq")
