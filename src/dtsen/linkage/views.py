"""The review pages of likely duplicates (mounted at /duplikat/): the queue of the Dinsos' kabupaten, one pair
side by side with the comparison levels it reached, merge (choose the record to keep) or dismiss with a reason,
and the merge history with undo. Views call `selectors` and `services` only; a pair outside the user's scope
is "not found" (404), a missing permission 403 (dtsen.core.middleware turns the errors into pages)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dtsen.audit.context import request_audit
from dtsen.core.errors import ApplicationError, ValidationFailed
from dtsen.core.http import no_store
from dtsen.linkage import selectors, services
from dtsen.linkage.models import PairStatus
from dtsen.registry import choices as c

CHANNEL = c.Channel.WEB
PAGE = 50


def _int(value: str, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed("Nilai tidak valid.", "Invalid value.", field=field) from None


@no_store
@login_required
@require_GET
def queue_view(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", PairStatus.PENDING)
    if status not in PairStatus.values:
        raise ValidationFailed("Status tidak dikenal.", "Unknown status.", field="status")
    page = max(_int(request.GET.get("page", "1"), "page"), 1)
    pairs = selectors.pair_queue(actor=request.user, status=status, limit=PAGE, offset=(page - 1) * PAGE)
    total = selectors.pair_count(actor=request.user, status=status)
    return render(request, "linkage/queue.html", {
        "section": "linkage", "pairs": pairs, "status": status, "statuses": PairStatus.choices, "total": total,
        "page": page, "has_next": page * PAGE < total, "runs": selectors.run_list(actor=request.user, limit=5),
    })


def _pair_page(request: HttpRequest, pair_id: int, error: ApplicationError | None = None,
               values: dict[str, str] | None = None) -> HttpResponse:
    with request_audit(request, CHANNEL):
        view = selectors.pair_view(actor=request.user, pair_id=pair_id)
    context: dict[str, Any] = {
        "section": "linkage", "view": view, "pair": view.pair, "sides": [view.a, view.b],
        "pending": view.pair.status == PairStatus.PENDING, "error": error, "values": values or {},
        "error_field": error.extra.get("field", "") if error else "",
    }
    return render(request, "linkage/pair.html", context, status=error.status if error else 200)


@no_store
@login_required
@require_GET
def pair_view(request: HttpRequest, pair_id: int) -> HttpResponse:
    return _pair_page(request, pair_id)


@no_store
@login_required
@require_POST
def pair_decide(request: HttpRequest, pair_id: int) -> HttpResponse:
    pair = selectors.pair_get(actor=request.user, pair_id=pair_id)  # outside the scope: 404
    values = {name: request.POST.get(name, "") for name in ("action", "keep", "reason")}
    try:
        with request_audit(request, CHANNEL):
            if values["action"] == "merge":
                keep = _int(values["keep"], "keep")
                services.pair_merge(actor=request.user, pair=pair, keep=keep, reason=values["reason"],
                                    channel=CHANNEL)
                messages.success(request, _("The records were merged. The merge can be undone from the history."))
            elif values["action"] == "dismiss":
                services.pair_dismiss(actor=request.user, pair=pair, reason=values["reason"], channel=CHANNEL)
                messages.success(request, _("The pair was marked as not a duplicate."))
            else:
                raise ValidationFailed("Pilih gabungkan atau bukan duplikat.", "Choose merge or not a duplicate.",
                                       field="action")
    except ApplicationError as exc:
        return _pair_page(request, pair_id, exc, values)
    return redirect("linkage:queue")


@no_store
@login_required
@require_GET
def merge_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "linkage/merges.html", {
        "section": "linkage", "merges": selectors.merge_list(actor=request.user),
    })


@no_store
@login_required
@require_POST
def merge_undo_view(request: HttpRequest, merge_id: int) -> HttpResponse:
    merge = selectors.merge_get(actor=request.user, merge_id=merge_id)  # outside the scope: 404
    try:
        with request_audit(request, CHANNEL):
            services.merge_undo(actor=request.user, merge=merge, reason=request.POST.get("reason", ""),
                                channel=CHANNEL)
    except ApplicationError as exc:
        return render(request, "linkage/merges.html", {
            "section": "linkage", "merges": selectors.merge_list(actor=request.user), "error": exc,
            "error_merge": merge.pk,
        }, status=exc.status)
    messages.success(request, _("The merge was undone; the pair is back in the queue."))
    return redirect("linkage:merges")
