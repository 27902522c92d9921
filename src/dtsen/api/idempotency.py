"""Idempotency keys on the API's writes (`Idempotency-Key` header, required on every POST).

The first answer to a (token, key) is stored with a hash of the request (method, path and the parsed body) and
replayed for a retry with the same request: a client whose connection broke after the server acted can send
the write again without acting twice. The same key with a different request is refused (422
`idempotency_key_reused`); a key whose first request is still running is refused (409
`idempotency_in_progress`). Only successful answers are stored: a refused write changed nothing and may be sent
again with the same key. Keys expire after `EXPIRY` (24 hours); expired rows are removed by the next write.

The record is written in the same transaction as the write itself, so either both exist or neither does; on
PostgreSQL a concurrent second request with the same key waits for the first to commit and then gets its answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Schema

from dtsen.api.models import IdempotencyRecord
from dtsen.core.errors import ApplicationError, Conflict

HEADER = "Idempotency-Key"
KEY_PATTERN = r"^[A-Za-z0-9_.:-]{8,100}$"
KEY_DESCRIPTION = (
    "A key the client chooses for this write (8-100 of A-Z a-z 0-9 _ . : -, e.g. a UUID). A retry with the same "
    "key and the same request gets the first answer again; valid for 24 hours."
)
EXPIRY = dt.timedelta(hours=24)


class KeyReused(ApplicationError):
    code = "idempotency_key_reused"
    status = 422


def request_digest(request: HttpRequest, body: Any) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{text}".encode()).hexdigest()


def _json(out: Any) -> Any:
    if isinstance(out, Schema):
        return out.model_dump(mode="json")
    return json.loads(json.dumps(out, default=str))


def idempotent(request: HttpRequest, key: str, body: Any, write: Callable[[], tuple[int, Any]]) -> tuple[int, Any]:
    """Run `write` once per (token, key); returns (status, JSON body), the stored one for a replay."""
    token = request.auth  # type: ignore[attr-defined]
    digest = request_digest(request, body)
    with transaction.atomic():
        IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - EXPIRY).delete()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    token=token, key=key, method=request.method or "", path=request.path[:300], request_sha256=digest
                )
        except IntegrityError:
            earlier = IdempotencyRecord.objects.get(token=token, key=key)
            if earlier.request_sha256 != digest:
                raise KeyReused(
                    "Kunci Idempotency-Key ini sudah dipakai untuk permintaan lain.",
                    "This Idempotency-Key was already used for a different request.",
                    field=HEADER,
                ) from None
            if earlier.status is None:
                raise Conflict(
                    "Permintaan dengan kunci ini masih diproses; coba lagi sebentar.",
                    "A request with this key is still being processed; try again shortly.",
                    code="idempotency_in_progress",
                ) from None
            return earlier.status, earlier.response
        status, out = write()
        record.status = status
        record.response = _json(out)
        record.save(update_fields=["status", "response"])
        return status, record.response
