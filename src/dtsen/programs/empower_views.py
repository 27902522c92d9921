"""Pages of the social pillars (phone first): a family's PPKS categories and empowerment activities, and the
progress toward graduation per village and per pillar. URL names start with `empower_`; mounted by the
project's urls.py.

Each view parses the input, calls one service or selector with `actor=request.user` and renders. A refused
operation (`ApplicationError`) is shown on the family page with its bilingual message and HTTP status; a
family outside the actor's regions is a 404 from its selector. Nothing here queries a model itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dtsen.accounts.permissions import EMPOWER_RECORD
from dtsen.accounts.selectors import scope_for
from dtsen.audit.context import request_audit
from dtsen.audit.services import audit_read
from dtsen.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from dtsen.programs import empowerment as svc
from dtsen.programs import selectors
from dtsen.programs.models import ActivityKind, ActivityOutcome, MembershipStatus, PpksCategory
from dtsen.regions.selectors import region_get
from dtsen.registry import choices as c

STAFF_CHANNEL = c.Channel.WEB


def _ctx(request: HttpRequest) -> Any:
    return request_audit(request, STAFF_CHANNEL)


def _date(value: str | None, field: str) -> dt.date:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed("Tanggal wajib diisi.", "The date is required.", field=field)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"Tanggal tidak valid: {text!r} (YYYY-MM-DD).",
                               f"Invalid date: {text!r} (YYYY-MM-DD).", field=field) from None


def _region_name(code: str) -> str:
    try:
        return region_get(code).name
    except (NotFound, ValueError):
        return ""


def _posted(request: HttpRequest) -> dict[str, str]:
    if request.method != "POST":
        return {}
    return {k: request.POST.get(k, "").strip() for k in request.POST if k != "csrfmiddlewaretoken"}


def _family_url(family_id: int) -> str:
    return f"{reverse('empower_family')}?family={family_id}"


def _family_page(request: HttpRequest, family_id: str, error: ApplicationError | None = None) -> HttpResponse:
    """The family page (or the form to choose one); `error` re-renders it with a refusal and its status."""
    if scope_for(request.user, EMPOWER_RECORD).empty:
        raise PermissionDenied("Anda tidak berwenang membuka halaman ini.", "You are not allowed to open this page.")
    context: dict[str, Any] = {
        "section": "empower", "family_id": family_id, "error": error, "values": _posted(request),
        "today": timezone.localdate(), "categories": PpksCategory.choices, "kinds": ActivityKind.choices,
        "outcomes": [(v, label) for v, label in ActivityOutcome.choices if v != ActivityOutcome.ONGOING],
        "statuses": dict(MembershipStatus.choices),
    }
    if family_id:
        with _ctx(request):
            data = selectors.empower_family(actor=request.user, family_id=family_id)
            audit_read(actor=request.user, object_type="family", object_id=data.family.pk,
                       person_ids=[m.person.pk for m in data.members], action="empower_view")
        context |= {"data": data, "village_name": _region_name(data.family.village_code),
                    "pillar_labels": {a.pillar: svc.pillar_label(a.pillar) for a in data.activities}}
    return render(request, "programs/empower_family.html", context, status=error.status if error else 200)


@login_required
@require_GET
def family_view(request: HttpRequest) -> HttpResponse:
    response = _family_page(request, request.GET.get("family", "").strip()[:12])
    response["Cache-Control"] = "private, no-store"
    return response


def _post_action(request: HttpRequest, family_id: str, action: Any) -> HttpResponse:
    try:
        with _ctx(request):
            done = action()
    except ApplicationError as exc:
        response = _family_page(request, family_id, exc)
        response["Cache-Control"] = "private, no-store"
        return response
    messages.success(request, done)
    return redirect(_family_url(int(family_id)))


@login_required
@require_POST
def ppks_add_view(request: HttpRequest) -> HttpResponse:
    family_id = request.POST.get("family", "").strip()[:12]
    selectors.empower_family(actor=request.user, family_id=family_id)  # 404 outside the actor's regions

    def action() -> str:
        person = selectors.empower_person_get(actor=request.user, person_id=request.POST.get("person", ""))
        if str(person.family_id) != family_id:
            raise ValidationFailed("Orang ini bukan anggota keluarga ini.", "This person is not in this family.",
                                   field="person")
        svc.ppks_record_add(actor=request.user, person=person, category=request.POST.get("category", ""),
                            source=request.POST.get("source", ""),
                            observed_on=_date(request.POST.get("observed_on"), "observed_on"),
                            note=request.POST.get("note", ""))
        return _("The PPKS category was recorded.")

    return _post_action(request, family_id, action)


@login_required
@require_POST
def ppks_end_view(request: HttpRequest, record_id: int) -> HttpResponse:
    record = selectors.ppks_record_get(actor=request.user, record_id=record_id)
    family_id = str(record.person.family_id)

    def action() -> str:
        svc.ppks_record_end(actor=request.user, record=record,
                            ended_on=_date(request.POST.get("ended_on"), "ended_on"),
                            note=request.POST.get("note", ""))
        return _("The PPKS category was ended.")

    return _post_action(request, family_id, action)


@login_required
@require_POST
def activity_add_view(request: HttpRequest) -> HttpResponse:
    family_id = request.POST.get("family", "").strip()[:12]
    data = selectors.empower_family(actor=request.user, family_id=family_id)

    def action() -> str:
        svc.empowerment_add(actor=request.user, family=data.family, kind=request.POST.get("kind", ""),
                            started_on=_date(request.POST.get("started_on"), "started_on"),
                            notes=request.POST.get("notes", ""))
        return _("The empowerment activity was recorded.")

    return _post_action(request, family_id, action)


@login_required
@require_POST
def activity_outcome_view(request: HttpRequest, activity_id: int) -> HttpResponse:
    activity = selectors.empowerment_activity_get(actor=request.user, activity_id=activity_id)
    family_id = str(activity.family_id)

    def action() -> str:
        svc.empowerment_outcome(actor=request.user, activity=activity, outcome=request.POST.get("outcome", ""),
                                outcome_on=_date(request.POST.get("outcome_on"), "outcome_on"))
        return _("The outcome was recorded.")

    return _post_action(request, family_id, action)


@never_cache
@login_required
@require_http_methods(["GET"])
def progress_view(request: HttpRequest) -> HttpResponse:
    region = request.GET.get("region", "").strip()[:13]
    data = selectors.empowerment_progress(actor=request.user, region_code=region)
    kinds = ActivityKind.choices
    outcomes = ActivityOutcome.choices
    villages = [{
        "v": v, "name": _region_name(v.village_code),
        "pillars": [{"p": p, "label": svc.pillar_label(p.pillar),
                     "kinds": [(label, p.by_kind.get(k, 0)) for k, label in kinds if p.by_kind.get(k)],
                     "outcomes": [(label, p.by_outcome.get(o, 0)) for o, label in outcomes if p.by_outcome.get(o)]}
                    for p in v.pillars],
    } for v in data.villages]
    pillars = [{"p": p, "label": svc.pillar_label(code)} for code, p in data.pillars.items()]
    return render(request, "programs/empower_progress.html", {
        "section": "empower", "region": region, "region_name": _region_name(region) if region else "",
        "villages": villages, "pillars": pillars,
    })


urlpatterns = [
    path("keluarga/", family_view, name="empower_family"),
    path("ppks/", ppks_add_view, name="empower_ppks_add"),
    path("ppks/<int:record_id>/akhiri/", ppks_end_view, name="empower_ppks_end"),
    path("kegiatan/", activity_add_view, name="empower_activity_add"),
    path("kegiatan/<int:activity_id>/hasil/", activity_outcome_view, name="empower_activity_outcome"),
    path("progres/", progress_view, name="empower_progress"),
]
