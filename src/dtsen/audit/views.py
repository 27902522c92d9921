"""The auditor's search page: the audit trail by person, actor, region, action and time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from dtsen.audit.selectors import audit_search_for
from dtsen.core.errors import ValidationFailed

PAGE_SIZE = 50


class AuditSearchForm(forms.Form):
    person = forms.IntegerField(label=_("Person id"), required=False, min_value=1, max_value=2**62)
    actor = forms.CharField(label=_("User name"), required=False, max_length=150)
    region = forms.RegexField(label=_("Region code"), required=False, max_length=13, regex=r"^[0-9.]+$")
    action = forms.RegexField(label=_("Action"), required=False, max_length=60, regex=r"^[a-z_.]+$")
    since = forms.DateField(label=_("From (date)"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Until (date)"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000, widget=forms.HiddenInput)


def _start_of(day: dt.date | None) -> dt.datetime | None:
    if day is None:
        return None
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_current_timezone())


@require_GET
@login_required
def audit_search_view(request: HttpRequest) -> HttpResponse:
    form = AuditSearchForm(request.GET or None)
    if request.GET and not form.is_valid():
        fields = ", ".join(sorted(form.errors))
        raise ValidationFailed(
            f"Isian pencarian tidak valid: {fields}.", f"Invalid search fields: {fields}.", field=fields
        )
    data: dict[str, Any] = form.cleaned_data if request.GET else {}
    until = data.get("until")
    records = audit_search_for(
        actor=request.user,
        person_id=data.get("person"),
        actor_username=data.get("actor") or "",
        region=data.get("region") or "",
        action=data.get("action") or "",
        since=_start_of(data.get("since")),
        until=_start_of(until + dt.timedelta(days=1)) if until else None,
    )
    page = data.get("page") or 1
    rows = list(records[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "section": "audit",
        "form": form,
        "records": rows[:PAGE_SIZE],
        "page": page,
        "next_page": page + 1 if len(rows) > PAGE_SIZE else None,
        "prev_page": page - 1 if page > 1 else None,
        "query": query.urlencode(),
    }
    return render(request, "audit/search.html", context)
