"""The social worker's verification visit pages, phone first: the list of my tasks and one task's page with
the form (outcome, date, interview, condition indicators, photos taken with the phone's camera).

Views parse the form, call `selectors.visit_get` / `selectors.my_visits` and `visits.visit_submit`, and render.
A refused submission (no GPS in a photo, a future date, an oversized or non-image file, ...) re-renders the
form with its bilingual message and status; nothing is stored (the service is all or nothing).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from dtsen.audit.context import request_audit
from dtsen.core.errors import ApplicationError, NotFound, ValidationFailed
from dtsen.regions.selectors import region_ancestors
from dtsen.registry import choices as c
from dtsen.updates import selectors
from dtsen.updates import visit_questions as vq
from dtsen.updates.models import Visit, VisitFlag, VisitOutcome, VisitStatus
from dtsen.updates.visits import task_code, visit_submit

STAFF_CHANNEL = c.Channel.WEB
# The questions come from the one definition the ODK XLSForm is built from too (visit_questions.py).
PHOTO_INPUTS: list[tuple[str, str, Any]] = [
    # (form field, document kind, label)
    (q.name, q.photo_kind, q.label) for q in vq.photo_questions()
]
CONDITION_SELECTS: list[tuple[str, Any, Any]] = [
    (q.name, q.label, q.choice_list()) for q in vq.condition_selects()
]
POWER_VA = vq.POWER_VA
CONDITION_TEXT = tuple(q.name for q in vq.questions(section="kondisi")
                       if q.type != "select_multiple" and q not in vq.condition_selects())
INTERVIEW_TEXT = tuple(q.name for q in vq.questions(section="wawancara") if q.type != "select_multiple")


def _ctx(request: HttpRequest) -> Any:
    return request_audit(request, STAFF_CHANNEL)


def _region_names(village_code: str) -> str:
    try:
        chain = region_ancestors(village_code)
    except NotFound:
        chain = []
    return ", ".join(r.name for r in reversed(chain[-3:])) or village_code


def _asset_choices() -> list[tuple[str, str]]:
    english = (get_language() or "id").startswith("en")
    language = "en" if english else "id"
    return [(value, vq.text_in(label, language)) for value, label in vq.BY_NAME["assets"].choice_list()]


def _flag_labels(flags: list[str]) -> list[str]:
    out = []
    for flag in flags or ():
        try:
            out.append(str(VisitFlag(flag).label))
        except ValueError:
            out.append(flag)
    return out


def _subject(visit: Visit) -> dict[str, Any]:
    """Whom the visit is about: the family (head's name, address; never a NIK) and the member concerned."""
    family = visit.family
    person = None
    summary = ""
    if visit.submission is not None:
        person = visit.submission.person
        summary = visit.submission.get_kind_display()
        if visit.submission.sanggah_reason:
            summary += " · " + visit.submission.get_sanggah_reason_display()
    elif visit.usulan is not None:
        person = visit.usulan.person
        summary = visit.usulan.summary or visit.usulan.get_kind_display()
    return {
        "family": family, "head": family.head if family is not None else None, "person": person,
        "summary": summary, "region": _region_names(visit.village_code),
        "reference": visit.submission.reference if visit.submission else (
            visit.usulan.reference if visit.usulan else ""),
    }


def _values(request: HttpRequest) -> dict[str, Any]:
    post = request.POST
    values: dict[str, Any] = {name: post.get(name, "") for name in (*CONDITION_TEXT, *INTERVIEW_TEXT)}
    values |= {name: post.get(name, "") for name, _label, _choices in CONDITION_SELECTS}
    values["outcome"] = post.get("outcome", "")
    values["visited_on"] = post.get("visited_on", "")
    values["assets"] = post.getlist("assets")
    values["aid_received"] = post.getlist("aid_received")
    return values


def _page(request: HttpRequest, visit: Visit, values: dict[str, Any] | None = None,
          error: ApplicationError | None = None) -> HttpResponse:
    today = timezone.localdate()
    values = values or {"outcome": "", "visited_on": today.isoformat(), "assets": [], "aid_received": []}
    open_ = visit.status == VisitStatus.ASSIGNED and visit.assigned_to_id == request.user.pk
    context = {
        "section": "visits", "visit": visit, "subject": _subject(visit), "open": open_, "values": values,
        "error": error, "error_field": error.extra.get("field", "") if error else "",
        "overdue": visit.status == VisitStatus.ASSIGNED and visit.due_on < today, "today": today,
        "outcomes": vq.BY_NAME["outcome"].choice_list(), "found": VisitOutcome.FOUND,
        "programs": vq.BY_NAME["aid_received"].choice_list(), "q": vq.BY_NAME, "odk_code": task_code(visit),
        "selects": [
            (name, label, choices, values.get(name, "")) for name, label, choices in CONDITION_SELECTS
        ],
        "power_choices": POWER_VA, "asset_choices": _asset_choices(), "photo_inputs": PHOTO_INPUTS,
        "flags": _flag_labels(visit.flags), "photos": list(visit.photos.all()) if not open_ else [],
    }
    return render(request, "updates/visit_detail.html", context, status=error.status if error else 200)


def _date(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationFailed("Tanggal kunjungan tidak valid (format TTTT-BB-HH).",
                               "The visit date is not valid (format YYYY-MM-DD).", field="visited_on") from None


def _condition(values: dict[str, Any]) -> dict[str, Any] | None:
    """The condition indicators as the service reads them; None when the worker filled none of them."""
    raw: dict[str, Any] = {name: values.get(name, "") for name, _label, _choices in CONDITION_SELECTS}
    raw |= {"floor_area_m2": values.get("floor_area_m2", ""), "power_va": values.get("power_va", ""),
            "received_credit": values.get("received_credit") == "1", "assets": values.get("assets", [])}
    if not any(v for k, v in raw.items() if k != "received_credit"):
        return None
    return raw


@never_cache
@login_required
@require_GET
def visit_list_view(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    show_done = request.GET.get("semua") == "1"
    visits = selectors.my_visits(actor=request.user, include_done=show_done)
    rows = [{"visit": v, "overdue": v.status == VisitStatus.ASSIGNED and v.due_on < today,
             "region": _region_names(v.village_code), "head": v.family.head if v.family else None}
            for v in visits]
    return render(request, "updates/visit_list.html", {
        "section": "visits", "rows": rows, "show_done": show_done, "today": today,
        "overdue": sum(1 for r in rows if r["overdue"]),
    })


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def visit_detail_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    with _ctx(request):
        visit = selectors.visit_get(actor=request.user, visit_id=visit_id)
    if request.method == "GET":
        return _page(request, visit)
    values = _values(request)
    try:
        outcome = values["outcome"]
        if outcome not in VisitOutcome.values:
            raise ValidationFailed("Pilih hasil kunjungan.", "Choose the outcome of the visit.", field="outcome")
        photos = [(kind, f) for name, kind, _label in PHOTO_INPUTS for f in request.FILES.getlist(name)]
        interview = {name: values[name] for name in INTERVIEW_TEXT} | {"aid_received": values["aid_received"]}
        with _ctx(request):
            visit_submit(
                actor=request.user, visit=visit, outcome=outcome, visited_on=_date(values["visited_on"]),
                interview=interview, condition=_condition(values) if outcome == VisitOutcome.FOUND else None,
                photos=photos,
            )
    except ApplicationError as exc:
        return _page(request, visit, values, exc)
    messages.success(request, _("The visit was recorded."))
    return redirect("updates:visit_detail", visit_id=visit.pk)


urlpatterns: list[URLPattern] = [
    path("kunjungan/", visit_list_view, name="visit_list"),
    path("kunjungan/<int:visit_id>/", visit_detail_view, name="visit_detail"),
]
