"""Writing the audit trail. Every service that writes calls `audit_record` inside its transaction; every
staff read of a family or person calls `audit_read`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from dtsen.audit.context import current
from dtsen.audit.models import GENESIS, AuditHead, AuditRecord

HASHED_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_username",
    "roles",
    "region",
    "action",
    "object_type",
    "object_id",
    "persons",
    "before",
    "after",
    "reason",
    "channel",
    "ip",
)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value)
    return str(value)


def canonical(value: Any) -> Any:
    """JSON-safe, key-sorted form used both for storage and for hashing."""
    return json.loads(json.dumps(value, default=_json_default, sort_keys=True))


def record_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    payload = json.dumps(
        {k: fields[k] for k in HASHED_FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        default=_json_default,
        ensure_ascii=False,
    )
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


def _actor_fields(actor: Any) -> dict[str, Any]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return {"actor_id": None, "actor_username": "", "roles": "", "region": ""}
    from dtsen.accounts.models import RoleAssignment

    pairs = list(
        RoleAssignment.objects.filter(user_id=actor.pk, active=True).values_list("role", "region_code")
    )
    roles = sorted({r for r, _ in pairs}) + (["superuser"] if getattr(actor, "is_superuser", False) else [])
    regions = sorted({reg or "ID" for _, reg in pairs})
    return {
        "actor_id": actor.pk,
        "actor_username": actor.get_username(),
        "roles": ",".join(roles)[:200],
        "region": ",".join(regions)[:200],
    }


def _append(fields: dict[str, Any]) -> AuditRecord:
    """Chain `fields` (all of HASHED_FIELDS but `seq`) to the head and write them; inside a transaction."""
    head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS})
    fields = {"seq": head.seq + 1, **fields}
    digest = record_hash(head.hash, fields)
    rec = AuditRecord.objects.create(**fields, prev_hash=head.hash, hash=digest)
    head.seq = rec.seq
    head.hash = digest
    head.save(update_fields=["seq", "hash"])
    return rec


@transaction.atomic
def audit_record(
    *,
    actor: Any,
    action: str,
    object_type: str = "",
    object_id: Any = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    channel: str | None = None,
    person_ids: list[int] | None = None,
) -> AuditRecord:
    """Append one record to the chain (inside the caller's transaction: rolled back with it)."""
    ctx = current()
    fields: dict[str, Any] = {
        "at": timezone.now().astimezone(dt.UTC),
        **_actor_fields(actor),
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id) if object_id is not None else "",
        "persons": "".join(f",{p}" for p in sorted({int(p) for p in person_ids or []}))
        + ("," if person_ids else ""),
        "before": canonical(before) if before is not None else None,
        "after": canonical(after) if after is not None else None,
        "reason": reason or "",
        "channel": channel or ctx.channel,
        "ip": ctx.ip,
    }
    return _append(fields)


def audit_public(*, action: str, object_type: str, object_id: str, after: dict[str, Any]) -> AuditRecord:
    """A record of an anonymous public read (the Cek Bansos search): the same chained record as `audit_record`
    with no actor, on a shorter path for a page many citizens use at once. Called outside a transaction (as
    the view does) it is its own one: the chain head is locked for the insert and the head update only, and on
    PostgreSQL the commit does not wait for the WAL flush (synchronous_commit off for this one transaction),
    so appends from many workers do not queue behind each other's disk flush. What that gives up: a crash of
    the database server can lose the last moment (at most 3 x wal_writer_delay, 0.6 s by default) of such
    records, always together with the head update that chained them, so the chain stays whole and
    `dtsen audit verify` holds. Every other audit record commits synchronously, and any later synchronous
    commit flushes these too."""
    ctx = current()
    fields: dict[str, Any] = {
        "at": timezone.now().astimezone(dt.UTC),
        **_actor_fields(None),
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "persons": "",
        "before": None,
        "after": canonical(after),
        "reason": "",
        "channel": ctx.channel,
        "ip": ctx.ip,
    }
    connection = transaction.get_connection()
    own = not connection.in_atomic_block  # inside the caller's transaction: an ordinary append, committed with it
    with transaction.atomic():
        if own and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO off")
        return _append(fields)


def audit_read(
    *, actor: Any, object_type: str, object_id: Any, person_ids: list[int] | None = None, action: str = "view"
) -> AuditRecord:
    """A staff read of personal data (a family or person page, an export)."""
    return audit_record(
        actor=actor,
        action=f"{object_type}.{action}",
        object_type=object_type,
        object_id=object_id,
        person_ids=person_ids,
    )
