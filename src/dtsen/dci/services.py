"""The DCI Social Registry API: accepting signed messages, searching, transactions and their delivery,
partner registration. Views and the `dtsen dci` command only call these.

Refusals, with the standard's codes:

- the message cannot be trusted (not JSON, no header, unknown or inactive sender, missing or bad signature,
  wrong receiver, encrypted payload): `EnvelopeError` with an `Error.code` (`err.request.bad`,
  `err.sender_id.invalid`, `err.signature.missing`, `err.signature.invalid`, `err.receiver_id.invalid`,
  `err.encryption.invalid`), or the partner's user has no role that reads the registry
  (`err.request.forbidden`), answered with HTTP 400/401/403 and nothing searched;
- the header is wrong for a trusted sender (version, action, message_ts, total_count, a message_id used
  before): `HeaderRejected` with a `MsgHeaderStatusReasonCode` (`rjct.message_id.duplicate`, ...), answered
  in a signed header with status `rjct`;
- one search_request item is wrong (unsupported query or identifier type, filter, sort, page beyond the end):
  that item's `status` is `rjct` with a `SearchStatusReasonCode`, the other items are answered.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import requests
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from dtsen.accounts.selectors import Scope
from dtsen.audit.services import audit_record, read_records_transaction
from dtsen.core.db import fetch_prepared
from dtsen.core.errors import ValidationFailed
from dtsen.dci import query as q
from dtsen.dci.models import (
    DeliveryStatus,
    Partner,
    PartnerKey,
    QueryType,
    SeenMessage,
    Transaction,
    TxnKind,
    TxnStatus,
)
from dtsen.dci.records import page_person_ids, page_records
from dtsen.dci.selectors import partner_by_sender, partner_keys, search, transaction_for_status
from dtsen.dci.signing import (
    SignatureError,
    algorithm_of,
    registry_identity,
    sign,
    signature_check_time,
    signature_key_id,
    signature_parse,
    signature_verify,
)
from dtsen.registry.crypto import nik_decrypt, nik_encrypt, nik_mask

logger = logging.getLogger(__name__)

VERSION = "1.0.0"
MAX_ITEMS = 20  # search_request items per message
MAX_BODY = 256 * 1024
CHANNEL = "dci"
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600
MAX_ATTEMPTS = 8
CALLBACK_TIMEOUT = 10


class EnvelopeError(Exception):
    """A message we cannot trust or parse: HTTP `status`, `code` from the standard's Error enumeration."""

    def __init__(self, code: str, message: str, status: int = 400, *, sender_id: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.sender_id = sender_id


class HeaderRejected(Exception):
    """A trusted message whose header we refuse: a MsgHeaderStatusReasonCode."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Inbound:
    partner: Partner
    header: dict[str, Any]
    message: dict[str, Any]
    expires_at: dt.datetime
    scope: Scope | None = None  # the partner user's registry.view scope (cached with the partner)
    actor_fields: dict[str, Any] | None = None  # the partner user as its audit records name it


def now_iso() -> str:
    return timezone.now().astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _new_id() -> str:
    return uuid.uuid4().hex


# ------------------------------------------------------------------------------------------ receiving


def _parse_ts(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def message_accept(*, body: bytes, action: str) -> Inbound:
    """Parse and authenticate a request: JSON envelope, known active partner, a signature by one of its keys
    over this header and message, addressed to us, not encrypted. Raises EnvelopeError."""
    if len(body) > MAX_BODY:
        raise EnvelopeError("err.request.bad", "message too large", 413)
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise EnvelopeError("err.request.bad", "the body is not JSON") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("header"), dict):
        raise EnvelopeError("err.request.bad", "the body needs a header object and a message")
    header, message = envelope["header"], envelope.get("message")
    sender_id = header.get("sender_id")
    signature = envelope.get("signature")
    key_hint = signature_key_id(signature)
    keys = partner_keys(sender_id=sender_id, key_id=key_hint) if isinstance(sender_id, str) else None
    partner = keys.partner if keys is not None else None
    if partner is None:
        raise EnvelopeError("err.sender_id.invalid", "unknown sender_id", 401,
                            sender_id=str(sender_id)[:100] if sender_id else "")  # fmt: skip
    try:
        parsed = signature_parse(signature)
        if parsed.sender_id != partner.sender_id:
            raise SignatureError("kidId names another sender")
        key = keys.key if keys is not None and keys.key is not None and keys.key.key_id == parsed.key_id else None
        if key is None:
            raise SignatureError("unknown or revoked key id")
        signature_check_time(parsed)
        signature_verify(parsed, public_pem=key.public_key_pem, header=header, message=message)
    except SignatureError as exc:
        code = "err.signature.missing" if exc.missing else "err.signature.invalid"
        raise EnvelopeError(code, exc.reason, 401, sender_id=partner.sender_id) from None
    if keys is not None and keys.scope is not None and keys.scope.empty:
        raise EnvelopeError("err.request.forbidden", "the partner's account has no role that reads the registry", 403,
                            sender_id=partner.sender_id)  # fmt: skip
    receiver = header.get("receiver_id")
    if receiver not in (None, "") and receiver != registry_identity().registry_id:
        raise EnvelopeError("err.receiver_id.invalid", "receiver_id is not this registry", sender_id=partner.sender_id)
    if header.get("is_msg_encrypted") is True or (isinstance(message, dict) and "ciphertext" in message):
        raise EnvelopeError("err.encryption.invalid", "encrypted messages are not supported; use TLS",
                            sender_id=partner.sender_id)  # fmt: skip
    if not isinstance(message, dict):
        raise EnvelopeError("err.request.bad", "the message must be an object", sender_id=partner.sender_id)
    message_id = header.get("message_id")
    if not isinstance(message_id, str | int) or isinstance(message_id, bool) or not 0 < len(str(message_id)) <= 100:
        raise EnvelopeError("err.request.bad", "message_id is needed (at most 100 characters)",
                            sender_id=partner.sender_id)  # fmt: skip
    return Inbound(partner, header, message, dt.datetime.fromtimestamp(parsed.expires, dt.UTC),
                   scope=keys.scope if keys is not None else None,
                   actor_fields=keys.actor_fields if keys is not None else None)  # fmt: skip


def _header_check(inbound: Inbound, *, action: str, items: int | None) -> None:
    header = inbound.header
    if str(header.get("version") or VERSION) != VERSION:
        raise HeaderRejected("rjct.version.invalid", f"version must be {VERSION}")
    if header.get("action") != action:
        raise HeaderRejected("rjct.action.invalid", f"action must be {action}")
    if _parse_ts(header.get("message_ts")) is None:
        raise HeaderRejected("rjct.message_ts.invalid", "message_ts must be an ISO 8601 time with its zone")
    if items is not None:
        total = _count(header.get("total_count"))
        if total is None or total != items:
            raise HeaderRejected("rjct.total_count.invalid", "total_count must be the number of requests")
        if total > MAX_ITEMS:
            raise HeaderRejected("rjct.total_count.limit_exceeded", f"at most {MAX_ITEMS} requests per message")


def _remember(inbound: Inbound) -> None:
    """Refuse a message id this partner used before (within the signature's validity): one INSERT that does
    nothing on a duplicate (so the caller's transaction stays usable without a savepoint)."""
    table = SeenMessage._meta.db_table
    inserted = fetch_prepared(
        f"INSERT INTO {table} (partner_id, message_id, received_at, expires_at) VALUES (%s, %s, %s, %s)"  # noqa: S608
        " ON CONFLICT (partner_id, message_id) DO NOTHING RETURNING id",
        [inbound.partner.pk, str(inbound.header["message_id"]), timezone.now(), inbound.expires_at],
    )
    if not inserted:
        raise HeaderRejected("rjct.message_id.duplicate", "this message_id was used before")


def seen_messages_purge() -> int:
    deleted, _ = SeenMessage.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted


# ------------------------------------------------------------------------------------------ responses


def _header(partner: Partner, *, action: str, status: str, total: int, completed: int,
            reason: str = "", reason_message: str = "") -> dict[str, Any]:  # fmt: skip
    header: dict[str, Any] = {
        "version": VERSION,
        "message_id": _new_id(),
        "message_ts": now_iso(),
        "action": action,
        "status": status,
        "total_count": total,
        "completed_count": completed,
        "sender_id": registry_identity().registry_id,
        "receiver_id": partner.sender_id,
        "is_msg_encrypted": False,
    }
    if reason:
        header["status_reason_code"] = reason
        header["status_reason_message"] = reason_message[:999]
    return header


def signed(header: dict[str, Any], message: Any | None) -> dict[str, Any]:
    me = registry_identity()
    out: dict[str, Any] = {
        "signature": sign(private_key=me.private_key, sender_id=me.registry_id, key_id=me.key_id,
                          header=header, message=message),
        "header": header,
    }  # fmt: skip
    if message is not None:
        out["message"] = message
    return out


def ack(*, status: str, correlation_id: str = "", code: str = "", message: str = "") -> dict[str, Any]:
    """The standard's acknowledgement (`Response`): ACK, or ERR with an Error code."""
    body: dict[str, Any] = {"ack_status": status, "timestamp": now_iso(), "correlation_id": correlation_id}
    if code:
        body["error"] = {"code": code, "message": message[:999]}
    return {"message": body}


def envelope_error_body(error: EnvelopeError) -> dict[str, Any]:
    """Transport refusal: `errors` as in HttpErrorResponse and the ERR acknowledgement, both with the code."""
    return {"errors": [{"code": error.code, "message": error.message}],
            **ack(status="ERR", code=error.code, message=error.message)}  # fmt: skip


def header_rejection(inbound: Inbound, rejected: HeaderRejected, *, action: str) -> dict[str, Any]:
    header = _header(inbound.partner, action=action, status=TxnStatus.REJECTED, total=0, completed=0,
                     reason=rejected.code, reason_message=rejected.message)  # fmt: skip
    return signed(header, None)


# ------------------------------------------------------------------------------------------ auditing


def _identifiers(message: dict[str, Any]) -> list[str]:
    """The identifiers searched for, masked (the audit trail never holds a full NIK or KK number)."""
    out = []
    for item in message.get("search_request") or []:
        query = ((item or {}).get("search_criteria") or {}).get("query") if isinstance(item, dict) else None
        if isinstance(query, dict) and isinstance(query.get("value"), str | int):
            out.append(nik_mask(str(query["value"])))
    return out[:MAX_ITEMS]


def _audit(*, partner: Partner | None, action: str, header: dict[str, Any] | None, message: dict[str, Any] | None,
           items: list[dict[str, Any]], person_ids: list[int], outcome: str, sender_id: str = "",
           actor_snapshot: dict[str, Any] | None = None) -> None:  # fmt: skip
    header = header or {}
    message = message or {}
    audit_record(
        actor=partner.user if partner is not None else None,
        action=f"dci.{action}",
        object_type="dci_partner",
        object_id=partner.pk if partner is not None else "",
        after={
            "sender_id": partner.sender_id if partner is not None else sender_id,
            "message_id": str(header.get("message_id", ""))[:100],
            "transaction_id": str(message.get("transaction_id", ""))[:99],
            "outcome": outcome,
            "query_types": [i.get("query_type", "") for i in items],
            "identifiers": _identifiers(message),
            "items": [{k: i[k] for k in ("reference_id", "status", "status_reason_code", "count", "total")
                       if k in i} for i in items],
        },
        channel=CHANNEL,
        person_ids=person_ids,
        actor_snapshot=actor_snapshot if partner is not None else None,
    )


def refusal_audit(*, error: EnvelopeError, action: str) -> None:
    partner = partner_by_sender(sender_id=error.sender_id) if error.sender_id else None
    _audit(partner=partner, action=action, header=None, message=None, items=[], person_ids=[],
           outcome=error.code, sender_id=error.sender_id)  # fmt: skip


# ------------------------------------------------------------------------------------------ searching


Items = list[dict[str, Any]]


def _search_items(partner: Partner, message: dict[str, Any], *, scope: Scope | None = None
                  ) -> tuple[Items, Items, list[int]]:  # fmt: skip
    """The search_response items, a summary of each (status, counts: what txn/status reports and the audit
    keeps) and the persons shown."""
    requests_ = message.get("search_request")
    responses, summary, persons = [], [], []
    seen_refs: set[str] = set()
    for raw in requests_ if isinstance(requests_, list) else []:
        item: dict[str, Any] = raw if isinstance(raw, dict) else {}
        reference_id = str(item.get("reference_id", ""))[:99]
        criteria_raw = item.get("search_criteria")
        query_type = criteria_raw.get("query_type", "") if isinstance(criteria_raw, dict) else ""
        out: dict[str, Any] = {"reference_id": reference_id, "timestamp": now_iso()}
        locale = item.get("locale")
        if isinstance(locale, str) and len(locale) == 3 and locale.isalpha() and locale.islower():
            out["locale"] = locale
        try:
            if reference_id and reference_id in seen_refs:
                raise q.ItemRejected(q.REFERENCE_DUPLICATE, "reference_id used twice in this message")
            seen_refs.add(reference_id)
            if item.get("timestamp") not in (None, "") and _parse_ts(item.get("timestamp")) is None:
                raise q.ItemRejected(q.TIMESTAMP_INVALID, "timestamp must be an ISO 8601 time with its zone")
            criteria = q.criteria_parse(criteria_raw, allowed_query_types=list(partner.query_types))
            page = search(actor=partner.user, criteria=criteria, scope=scope)
            records = page_records(page, full_ids=partner.may_see_nik)
            persons.extend(page_person_ids(page))
            out.update(status=TxnStatus.SUCCESS, data={"version": VERSION, "reg_records": records},
                       pagination={"page_size": criteria.page_size, "page_number": criteria.page_number,
                                   "total_count": page.total})  # fmt: skip
            summary.append({"reference_id": reference_id, "query_type": query_type, "status": TxnStatus.SUCCESS,
                            "count": len(records), "total": page.total})  # fmt: skip
        except q.ItemRejected as rejected:
            out.update(status=TxnStatus.REJECTED, status_reason_code=rejected.code,
                       status_reason_message=rejected.message[:999])  # fmt: skip
            summary.append({"reference_id": reference_id, "query_type": query_type, "status": TxnStatus.REJECTED,
                            "status_reason_code": rejected.code})  # fmt: skip
        responses.append(out)
    return responses, summary, persons


def _overall(summary: list[dict[str, Any]]) -> str:
    return TxnStatus.SUCCESS if any(s["status"] == TxnStatus.SUCCESS for s in summary) else TxnStatus.REJECTED


def search_sync(*, inbound: Inbound) -> dict[str, Any]:
    """`/registry/sync/search`: the signed on-search message. The searches only read (no transaction around
    them); the message id is spent and the audit record written together afterwards, in one transaction — a
    message id used before is refused then, and the results already found are not sent."""
    items = inbound.message.get("search_request")
    count = len(items) if isinstance(items, list) else 0
    try:
        _header_check(inbound, action="search", items=count)
    except HeaderRejected as rejected:
        _audit(partner=inbound.partner, action="sync_search", header=inbound.header, message=inbound.message,
               items=[], person_ids=[], outcome=rejected.code, actor_snapshot=inbound.actor_fields)  # fmt: skip
        return header_rejection(inbound, rejected, action="on-search")
    responses, summary, persons = _search_items(inbound.partner, inbound.message, scope=inbound.scope)
    with read_records_transaction():  # the message id and the audit record: kept or lost together
        try:
            _remember(inbound)
        except HeaderRejected as rejected:
            _audit(partner=inbound.partner, action="sync_search", header=inbound.header, message=inbound.message,
                   items=[], person_ids=[], outcome=rejected.code, actor_snapshot=inbound.actor_fields)  # fmt: skip
            return header_rejection(inbound, rejected, action="on-search")
        _audit(partner=inbound.partner, action="sync_search", header=inbound.header, message=inbound.message,
               items=summary, person_ids=persons, outcome=_overall(summary),
               actor_snapshot=inbound.actor_fields)  # fmt: skip
    message = {
        "transaction_id": str(inbound.message.get("transaction_id", ""))[:99],
        "correlation_id": _new_id(),
        "search_response": responses,
    }
    completed = sum(1 for s in summary if s["status"] == TxnStatus.SUCCESS)
    header = _header(inbound.partner, action="on-search", status=_overall(summary), total=len(summary),
                     completed=completed)  # fmt: skip
    return signed(header, message)


def transaction_accept(*, inbound: Inbound, kind: str) -> tuple[int, dict[str, Any]]:
    """`/registry/search` and `/registry/txn/status`: store the transaction, answer ACK (HTTP 202); the result
    goes to the partner's callback (`transaction_deliver`)."""
    action = "search" if kind == TxnKind.SEARCH else "txn-status"
    items = inbound.message.get("search_request") if kind == TxnKind.SEARCH else None
    count = (len(items) if isinstance(items, list) else 0) if kind == TxnKind.SEARCH else None
    try:
        _header_check(inbound, action=action, items=count)
        if not inbound.partner.callback_url:
            raise HeaderRejected("rjct.action.not_supported", "no callback URL is registered for this partner")
        _remember(inbound)
    except HeaderRejected as rejected:
        _audit(partner=inbound.partner, action=action.replace("-", "_"), header=inbound.header,
               message=inbound.message, items=[], person_ids=[], outcome=rejected.code)  # fmt: skip
        body = header_rejection(inbound, rejected, action=action)
        body.update(ack(status="ERR", code="err.request.bad", message=f"{rejected.code}: {rejected.message}"))
        return 400, body
    with transaction.atomic():
        txn = Transaction.objects.create(
            partner=inbound.partner, kind=kind, transaction_id=str(inbound.message.get("transaction_id", ""))[:99],
            correlation_id=_new_id(), message_id=str(inbound.header["message_id"])[:100],
            request_enc=nik_encrypt(json.dumps(inbound.message)), status=TxnStatus.PENDING,
            next_attempt_at=timezone.now(),
        )  # fmt: skip
        _audit(partner=inbound.partner, action=f"{action.replace('-', '_')}_accepted", header=inbound.header,
               message=inbound.message, items=[], person_ids=[], outcome="ACK")  # fmt: skip
    return 202, ack(status="ACK", correlation_id=txn.correlation_id)


def _status_items(partner: Partner, message: dict[str, Any]) -> tuple[str, list[Transaction]]:
    request = message.get("txnstatus_request")
    if not isinstance(request, dict):
        raise HeaderRejected("rjct.action.invalid", "txnstatus_request is needed")
    if request.get("txn_type", "search") != "search":
        raise HeaderRejected("rjct.action.not_supported", "only txn_type search is supported")
    return (
        str(request.get("reference_id", ""))[:99],
        transaction_for_status(partner=partner, attribute_type=str(request.get("attribute_type", "")),
                               value=request.get("attribute_value")),
    )  # fmt: skip


def _status_message(partner: Partner, message: dict[str, Any], correlation_id: str) -> tuple[dict[str, Any], int]:
    """TxnStatusResponse for the partner's transactions named in the request (statuses, never records)."""
    _, found = _status_items(partner, message)
    txn = found[0] if found else None
    search_response = []
    for t in found:
        for item in t.items or [{"reference_id": "", "status": t.status}]:
            entry: dict[str, Any] = {"reference_id": item.get("reference_id", ""), "timestamp": now_iso(),
                                     "status": item.get("status", t.status)}  # fmt: skip
            if item.get("status_reason_code"):
                entry["status_reason_code"] = item["status_reason_code"]
            if "total" in item:
                entry["pagination"] = {"page_size": max(item.get("count", 0), 1), "page_number": 1,
                                       "total_count": item["total"]}  # fmt: skip
            search_response.append(entry)
    txn_status = {
        "transaction_id": txn.transaction_id if txn else str(message.get("transaction_id", ""))[:99],
        "correlation_id": txn.correlation_id if txn else "",
        "search_response": search_response,
    }
    return {
        "transaction_id": str(message.get("transaction_id", ""))[:99],
        "correlation_id": correlation_id,
        "txnstatus_response": {"txn_type": "search", "txn_status": txn_status},
    }, len(found)


def txn_status_sync(*, inbound: Inbound) -> dict[str, Any]:
    try:
        _header_check(inbound, action="txn-status", items=None)
        _remember(inbound)
        message, found = _status_message(inbound.partner, inbound.message, _new_id())
    except HeaderRejected as rejected:
        _audit(partner=inbound.partner, action="sync_txn_status", header=inbound.header,
               message=inbound.message, items=[], person_ids=[], outcome=rejected.code)  # fmt: skip
        return header_rejection(inbound, rejected, action="txn-on-status")
    _audit(partner=inbound.partner, action="sync_txn_status", header=inbound.header, message=inbound.message,
           items=[{"query_type": "txn-status", "status": TxnStatus.SUCCESS, "count": found}], person_ids=[],
           outcome=TxnStatus.SUCCESS)  # fmt: skip
    header = _header(inbound.partner, action="txn-on-status", status=TxnStatus.SUCCESS, total=1, completed=1)
    return signed(header, message)


# ------------------------------------------------------------------------------------------ delivery


def _callback(partner: Partner, kind: str) -> str:
    path = "/registry/on-search" if kind == TxnKind.SEARCH else "/registry/txn/on-status"
    return partner.callback_url.rstrip("/") + path


def _process(txn: Transaction) -> dict[str, Any]:
    """The callback message of a transaction (computed at delivery, with the partner's current scope)."""
    message = json.loads(nik_decrypt(txn.request_enc)) if txn.request_enc else {}
    partner = txn.partner
    if txn.kind == TxnKind.SEARCH:
        with transaction.atomic():
            responses, summary, persons = _search_items(partner, message)
            _audit(partner=partner, action="search", header={"message_id": txn.message_id}, message=message,
                   items=summary, person_ids=persons, outcome=_overall(summary))  # fmt: skip
            txn.items = summary
            txn.status = _overall(summary)
            txn.save(update_fields=["items", "status", "updated_at"])
        body = {"transaction_id": txn.transaction_id, "correlation_id": txn.correlation_id,
                "search_response": responses}  # fmt: skip
        completed = sum(1 for s in summary if s["status"] == TxnStatus.SUCCESS)
        header = _header(partner, action="on-search", status=txn.status, total=len(summary), completed=completed)
        return signed(header, body)
    try:
        body, found = _status_message(partner, message, txn.correlation_id)
        txn.status = TxnStatus.SUCCESS
        header = _header(partner, action="txn-on-status", status=TxnStatus.SUCCESS, total=1, completed=1)
    except HeaderRejected as rejected:
        body, found = {}, 0
        txn.status = TxnStatus.REJECTED
        header = _header(partner, action="txn-on-status", status=TxnStatus.REJECTED, total=1, completed=0,
                         reason=rejected.code, reason_message=rejected.message)  # fmt: skip
    txn.items = [{"reference_id": "", "query_type": "txn-status", "status": txn.status, "count": found}]
    txn.save(update_fields=["items", "status", "updated_at"])
    return signed(header, body or None)


def transaction_deliver(*, txn: Transaction, session: requests.Session | None = None) -> bool:
    """Compute and POST one transaction's result to the partner's callback. On failure the attempt is counted
    and the next one scheduled with exponential backoff (30 s, 60 s, ... at most 1 h); after MAX_ATTEMPTS
    the delivery is given up (`failed`). The request is erased once delivered or given up."""
    http = session or requests.Session()
    payload = _process(txn)
    now = timezone.now()
    txn.attempts += 1
    try:
        response = http.post(_callback(txn.partner, txn.kind), json=payload, timeout=CALLBACK_TIMEOUT)
        ok = 200 <= response.status_code < 300
        error = "" if ok else f"HTTP {response.status_code}"
    except requests.RequestException as exc:
        ok, error = False, type(exc).__name__
    if ok:
        txn.delivery_status, txn.delivered_at, txn.request_enc, txn.last_error = DeliveryStatus.DELIVERED, now, "", ""
        txn.next_attempt_at = None
    elif txn.attempts >= MAX_ATTEMPTS:
        txn.delivery_status, txn.request_enc, txn.last_error = DeliveryStatus.FAILED, "", error
        txn.next_attempt_at = None
    else:
        delay = min(RETRY_BASE_SECONDS * 2 ** (txn.attempts - 1), RETRY_MAX_SECONDS)
        txn.last_error, txn.next_attempt_at = error, now + dt.timedelta(seconds=delay)
    txn.save(update_fields=["attempts", "delivery_status", "delivered_at", "request_enc", "last_error",
                            "next_attempt_at", "updated_at"])  # fmt: skip
    return ok


def transactions_deliver_due(*, limit: int = 100, session: requests.Session | None = None) -> tuple[int, int]:
    """Deliver every transaction that is due; (delivered, failed attempts). Also purges expired message ids."""
    seen_messages_purge()
    due = list(
        Transaction.objects.select_related("partner", "partner__user")
        .filter(delivery_status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at", "pk")[:limit]
    )
    delivered = failed = 0
    for txn in due:
        if transaction_deliver(txn=txn, session=session):
            delivered += 1
        else:
            failed += 1
    return delivered, failed


# ------------------------------------------------------------------------------------------ partners


def _invalid(field: str, message_id: str, message_en: str) -> ValidationFailed:
    return ValidationFailed(message_id, message_en, field=field)


@transaction.atomic
def partner_register(*, actor: AbstractBaseUser | None, sender_id: str, name: str, user: AbstractBaseUser,
                     callback_url: str = "", query_types: list[str] | None = None, may_see_nik: bool = False,
                     key_id: str, public_key_pem: str) -> Partner:  # fmt: skip
    """Register a partner system acting as `user` with its first public key. Audited."""
    if not sender_id or len(sender_id) > 100 or partner_by_sender(sender_id=sender_id):
        raise _invalid("sender_id", "sender_id kosong atau sudah terdaftar.", "sender_id empty or already registered.")
    types = sorted(set(query_types or [QueryType.IDTYPE_VALUE]))
    if any(t not in QueryType.values for t in types):
        raise _invalid("query_types", "Jenis kueri tidak dikenal.", "Unknown query type.")
    if callback_url and not callback_url.startswith(("https://", "http://")):
        raise _invalid("callback_url", "URL callback harus http(s).", "The callback URL must be http(s).")
    partner = Partner.objects.create(sender_id=sender_id, name=name[:200], user=user,  # type: ignore[misc]
                                     callback_url=callback_url,
                                     query_types=types, may_see_nik=may_see_nik)  # fmt: skip
    partner_key_add(actor=actor, partner=partner, key_id=key_id, public_key_pem=public_key_pem)
    audit_record(actor=actor, action="dci.partner_register", object_type="dci_partner", object_id=partner.pk,
                 after={"sender_id": sender_id, "name": partner.name, "user_id": user.pk, "callback_url": callback_url,
                        "query_types": types, "may_see_nik": may_see_nik})  # fmt: skip
    return partner


@transaction.atomic
def partner_key_add(
    *, actor: AbstractBaseUser | None, partner: Partner, key_id: str, public_key_pem: str
) -> PartnerKey:
    """Add a key (rotation: the old one stays valid until revoked). Audited."""
    if not key_id or len(key_id) > 64 or "|" in key_id:
        raise _invalid("key_id", "key_id tidak valid.", "Invalid key_id.")
    try:
        algorithm = algorithm_of(public_key_pem.strip() + "\n")
    except ValueError as exc:
        raise _invalid("public_key", "Kunci publik tidak valid.", f"Invalid public key: {exc}") from None
    if PartnerKey.objects.filter(partner=partner, key_id=key_id).exists():
        raise _invalid("key_id", "key_id sudah ada.", "key_id already exists.")
    key = PartnerKey.objects.create(partner=partner, key_id=key_id, algorithm=algorithm,
                                    public_key_pem=public_key_pem.strip() + "\n")  # fmt: skip
    audit_record(actor=actor, action="dci.partner_key_add", object_type="dci_partner", object_id=partner.pk,
                 after={"key_id": key_id, "algorithm": algorithm})  # fmt: skip
    return key


@transaction.atomic
def partner_key_revoke(*, actor: AbstractBaseUser | None, partner: Partner, key_id: str) -> PartnerKey:
    key = PartnerKey.objects.select_for_update().filter(partner=partner, key_id=key_id, active=True).first()
    if key is None:
        raise _invalid("key_id", "Kunci tidak ditemukan.", "Key not found.")
    key.active, key.revoked_at = False, timezone.now()
    key.save(update_fields=["active", "revoked_at"])
    audit_record(actor=actor, action="dci.partner_key_revoke", object_type="dci_partner", object_id=partner.pk,
                 before={"key_id": key_id, "active": True}, after={"key_id": key_id, "active": False})  # fmt: skip
    return key


@transaction.atomic
def partner_deactivate(*, actor: AbstractBaseUser | None, partner: Partner, reason: str) -> Partner:
    if not reason.strip():
        raise _invalid("reason", "Alasan wajib diisi.", "A reason is required.")
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    partner.active, partner.deactivated_at = False, timezone.now()
    partner.save(update_fields=["active", "deactivated_at"])
    audit_record(actor=actor, action="dci.partner_deactivate", object_type="dci_partner", object_id=partner.pk,
                 before={"active": True}, after={"active": False}, reason=reason)  # fmt: skip
    return partner
