"""The staff shell: the home page (what the user may see) and the login and logout pages (Django's own)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from dtsen.accounts.permissions import REGISTRY_VIEW
from dtsen.accounts.selectors import scope_for
from dtsen.core.errors import NotFound, PermissionDenied
from dtsen.regions.selectors import region_get
from dtsen.registry import choices as c
from dtsen.registry.selectors import family_qs, person_qs


def region_label(code: str) -> str:
    """"Kulon Progo (34.01)" for a region code; the bare code when the region table does not know it."""
    try:
        return f"{region_get(code).name} ({code})"
    except NotFound:  # unknown code, or no edition loaded yet
        return code


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user, REGISTRY_VIEW)
    try:
        families = family_qs(actor=request.user).filter(status=c.RecordStatus.ACTIVE).count()
        persons = person_qs(actor=request.user).filter(status=c.RecordStatus.ACTIVE).count()
    except PermissionDenied as exc:
        context = {"section": "home", "no_scope": exc}
    else:
        regions = [_("All of Indonesia")] if scope.national else [region_label(p) for p in scope.prefixes]
        context = {"section": "home", "families": families, "persons": persons, "regions": regions}
    return render(request, "core/home.html", context)
