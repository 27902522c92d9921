"""Writing the audit trail. Every service that writes calls `audit_record` inside its transaction; every
staff read of a family or person calls `audit_read`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from dtsen.audit.context import current
from dtsen.audit.models import GENESIS, AuditHead, AuditRecord
from dtsen.core.db import fetch_prepared

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


def _payload(fields: dict[str, Any]) -> str:
    return json.dumps(
        {k: fields[k] for k in HASHED_FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        default=_json_default,
        ensure_ascii=False,
    )


def record_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + _payload(fields)).encode("utf-8")).hexdigest()


def actor_fields(actor: Any) -> dict[str, Any]:
    """Who acts, as an audit record names them: user id and name, roles and regions at this moment."""
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


_RECORD_COLUMNS = tuple(k for k in HASHED_FIELDS if k != "seq")
_PG_APPEND = (  # table and column names from the models, every value a parameter
    f"WITH h AS (UPDATE {AuditHead._meta.db_table}"  # noqa: S608
    " SET seq = seq + 1, prev_hash = hash,"
    " hash = encode(sha256(convert_to(hash || %s || (seq + 1)::text || '}', 'UTF8')), 'hex')"
    " WHERE id = 1 RETURNING seq, prev_hash, hash)"
    f" INSERT INTO {AuditRecord._meta.db_table} (seq, {', '.join(_RECORD_COLUMNS)}, prev_hash, hash)"
    f" SELECT h.seq, {', '.join('%s::jsonb' if k in ('before', 'after') else '%s' for k in _RECORD_COLUMNS)},"
    " h.prev_hash, h.hash FROM h RETURNING id, seq, prev_hash, hash"
)
# run alone in autocommit mode, the statement is its transaction: this makes its commit skip the WAL flush wait
_PG_APPEND_RELAXED = _PG_APPEND.replace(
    " FROM h RETURNING",
    " FROM h CROSS JOIN (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed RETURNING",
)


def _append_params(fields: dict[str, Any]) -> list[Any]:
    payload = _payload({**fields, "seq": 0})
    if not payload.endswith(',"seq":0}'):  # pragma: no cover - HASHED_FIELDS sorts "seq" last
        raise AssertionError("the audit payload must end with its sequence number")
    params: list[Any] = [payload[: -len("0}")]]
    for key in _RECORD_COLUMNS:
        value = fields[key]
        params.append(json.dumps(value, ensure_ascii=False) if key in ("before", "after") and value is not None
                      else value)  # fmt: skip
    return params


def _append_pg(fields: dict[str, Any], *, relaxed: bool = False) -> AuditRecord | None:
    """The append as one statement: the head row's UPDATE takes its lock, computes seq + 1 and
    SHA-256(old hash || payload) in the database (the payload is the canonical JSON `record_hash` hashes, whose
    last key is always "seq", so it is sent as everything before the number) and hands them to the INSERT.
    `relaxed`: the statement runs on its own (Django's connection in autocommit mode) and sets
    synchronous_commit off for its own transaction (`set_config(..., true)`), which ends, and commits, with it:
    the commit does not wait for the WAL flush (see `audit_public`); one round trip, no BEGIN/COMMIT.
    None when the head row does not exist yet (a new or flushed database)."""
    rows = fetch_prepared(_PG_APPEND_RELAXED if relaxed else _PG_APPEND, _append_params(fields))
    if not rows:
        return None
    pk, seq, prev_hash, digest = rows[0]
    return AuditRecord(pk=pk, seq=seq, prev_hash=prev_hash, hash=digest, **fields)


def _append(fields: dict[str, Any]) -> AuditRecord:
    """Chain `fields` (all of HASHED_FIELDS but `seq`) to the head and write them; inside a transaction."""
    if transaction.get_connection().vendor == "postgresql":
        rec = _append_pg(fields)
        if rec is not None:
            return rec
    head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS})
    fields = {"seq": head.seq + 1, **fields}
    digest = record_hash(head.hash, fields)
    rec = AuditRecord.objects.create(**fields, prev_hash=head.hash, hash=digest)
    head.prev_hash = head.hash
    head.seq = rec.seq
    head.hash = digest
    head.save(update_fields=["seq", "hash", "prev_hash"])
    return rec


@transaction.atomic(savepoint=False)  # a failed append fails the caller's whole transaction anyway
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
    actor_snapshot: dict[str, Any] | None = None,
) -> AuditRecord:
    """Append one record to the chain (inside the caller's transaction: rolled back with it). `actor_snapshot`:
    `actor_fields(actor)` when the caller already read it (the DCI partners' hot path caches it for seconds)."""
    ctx = current()
    fields: dict[str, Any] = {
        "at": timezone.now().astimezone(dt.UTC),
        **(actor_snapshot if actor_snapshot is not None else actor_fields(actor)),
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
        **actor_fields(None),
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
    if connection.vendor == "postgresql" and connection.get_autocommit():
        rec = _append_pg(fields, relaxed=True)
        if rec is not None:
            return rec
    with read_records_transaction():
        return _append(fields)


@contextmanager
def read_records_transaction() -> Iterator[None]:
    """A transaction for the records of a read on a busy public or partner path (`audit_public`, the DCI sync
    search's message id and audit record): opened here, on PostgreSQL its commit does not wait for the WAL flush
    (what that trades: see `audit_public`; what it writes is lost together or kept together). Inside the
    caller's transaction it is an ordinary nested block, committed with the caller's."""
    connection = transaction.get_connection()
    own = not connection.in_atomic_block
    with transaction.atomic():
        if own and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO off")
        yield


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
