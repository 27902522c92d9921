"""The DCI endpoints (thin): read the body, let the services authenticate and answer, return JSON.

Partners authenticate by signing each message (see signing.py); there is no session and no CSRF token, so
the views are CSRF-exempt. Every request is recorded in the audit trail, refusals too (services)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from dtsen.audit.context import audit_channel_set
from dtsen.core.ratelimits import DCI, batched_limit_reached
from dtsen.dci import services
from dtsen.dci.models import TxnKind


def _json(body: dict[str, Any], status: int = 200) -> JsonResponse:
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def _endpoint(action: str, handle: Callable[[services.Inbound], tuple[int, dict[str, Any]]]) -> Callable[..., Any]:
    @csrf_exempt
    @require_POST
    def view(request: HttpRequest) -> JsonResponse:
        audit_channel_set(services.CHANNEL)
        refused = batched_limit_reached(request, DCI)
        if refused is not None:
            response = _json({"message": refused.message_en, "message_id": refused.message_id}, 429)
            response["Retry-After"] = str(refused.extra.get("retry_after", 60))
            return response
        try:
            inbound = services.message_accept(body=request.body, action=action)
        except services.EnvelopeError as error:
            services.refusal_audit(error=error, action=action.replace("-", "_"))
            return _json(services.envelope_error_body(error), error.status)
        status, body = handle(inbound)
        return _json(body, status)

    return view


sync_search = _endpoint("search", lambda inbound: (200, services.search_sync(inbound=inbound)))
search = _endpoint("search", lambda inbound: services.transaction_accept(inbound=inbound, kind=TxnKind.SEARCH))
sync_txn_status = _endpoint("txn-status", lambda inbound: (200, services.txn_status_sync(inbound=inbound)))
txn_status = _endpoint(
    "txn-status", lambda inbound: services.transaction_accept(inbound=inbound, kind=TxnKind.TXN_STATUS)
)
