"""Template context shared by every page: which navigation entries the user may use (one query)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from dtsen.accounts.auth_selectors import permissions_of
from dtsen.accounts.permissions import (
    AUDIT_VIEW,
    DASHBOARD_VIEW,
    PROGRAM_DISBURSE,
    PROGRAM_RATIFY,
    PROGRAM_RUN,
    PROGRAM_VIEW,
    REGISTRY_VIEW,
    USULAN_CHECK,
    USULAN_DRAFT,
    USULAN_RATIFY,
    VISIT_DO,
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    perms = permissions_of(user)  # the permissions held somewhere; each page checks the region itself
    return {
        "can_audit": AUDIT_VIEW in perms,
        "can_dashboard": DASHBOARD_VIEW in perms,
        "can_dedup": USULAN_CHECK in perms,  # the review queue of likely duplicates (Dinsos)
        "can_visit": VISIT_DO in perms,
        "can_usulan": bool(perms & {REGISTRY_VIEW, USULAN_DRAFT, USULAN_CHECK, USULAN_RATIFY, VISIT_DO}),
        "can_program": bool(perms & {PROGRAM_VIEW, PROGRAM_RUN, PROGRAM_RATIFY, PROGRAM_DISBURSE}),
    }
