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
    return {"can_audit": not scope_for(user, AUDIT_VIEW).empty}
