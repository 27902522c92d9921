"""Django's own refusals rendered like every other refusal: bilingual, with a stable code (JSON under
/api/)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from dtsen.core.errors import PermissionDenied
from dtsen.core.middleware import application_error_response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form sent without (or with a stale) CSRF token, usually an old open tab."""
    error = PermissionDenied(
        "Formulir kedaluwarsa atau tidak sah. Muat ulang halaman lalu kirim lagi.",
        "The form has expired or is not valid. Reload the page and send it again.",
        code="csrf_failed",
    )
    return application_error_response(request, error)
