"""Template context shared by every page: which navigation entries the user may use."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from dtsen.accounts.permissions import AUDIT_VIEW
from dtsen.accounts.selectors import scope_for


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from dtsen.updates.selectors import staff_pages

    pages = staff_pages(actor=user)  # one query for both update-workflow links (same rule as scope_for)
    return {"can_audit": not scope_for(user, AUDIT_VIEW).empty, "can_visit": pages.visit, "can_usulan": pages.any}
