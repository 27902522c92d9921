"""Session rules of the staff side.

- `SessionTimeoutMiddleware`: a session ends after `SESSION_IDLE_SECONDS` without a request (30 minutes by
  default) and in any case `SESSION_COOKIE_AGE` (8 hours) after the login. The clock starts at the login
  (accounts.auth_signals) and "last seen" is written at most once a minute, so a busy page does not write the
  session on every request. The logout is audited with its reason.
- `TwoFactorMiddleware`: a logged-in user who must use a second factor (accounts.auth_selectors.requires_2fa)
  or who has enrolled one is sent to enrol or to type a code before any page, except the login and logout, the
  language switch, the 2FA pages themselves and the API (which uses tokens, not sessions). Static files are
  served before this middleware runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.translation import gettext as _

from dtsen.accounts.auth_selectors import requires_2fa, two_factor_device

SESSION_STARTED_KEY = "_dtsen_login_at"
SESSION_SEEN_KEY = "_dtsen_seen_at"
LOGOUT_REASON_ATTR = "dtsen_logout_reason"
SEEN_RESOLUTION = 60  # seconds

TWO_FACTOR_EXEMPT_VIEWS = frozenset(
    {
        "login",
        "logout",
        "set_language",
        "admin:login",
        "admin:logout",
        "two_factor:setup",
        "two_factor:verify",
    }
)
TWO_FACTOR_EXEMPT_NAMESPACES = frozenset({"api-v1"})


def redirect_response(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect; for an htmx request the HX-Redirect header, so the whole page changes, not a fragment."""
    if request.headers.get("HX-Request") == "true":
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _with_next(url: str, request: HttpRequest) -> str:
    return f"{url}?{urlencode({'next': request.get_full_path()})}"


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            ended = self._check(request)
            if ended is not None:
                return ended
        return self.get_response(request)

    @staticmethod
    def _check(request: HttpRequest) -> HttpResponse | None:
        session = request.session
        now = time.time()
        started = session.get(SESSION_STARTED_KEY)
        seen = session.get(SESSION_SEEN_KEY)
        reason = ""
        if isinstance(started, int | float) and now - started > settings.SESSION_COOKIE_AGE:
            reason = "session older than the maximum"
        elif isinstance(seen, int | float) and now - seen > settings.SESSION_IDLE_SECONDS:
            reason = "session idle"
        if reason:
            setattr(request, LOGOUT_REASON_ATTR, reason)
            logout(request)
            messages.info(request, _("Your session has ended. Please log in again."))
            return redirect_response(request, _with_next(resolve_url(settings.LOGIN_URL), request))
        if not isinstance(started, int | float):
            session[SESSION_STARTED_KEY] = now  # a session from before this rule: its clock starts now
        if not isinstance(seen, int | float) or now - seen >= SEEN_RESOLUTION:
            session[SESSION_SEEN_KEY] = now
        return None


class TwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if not getattr(settings, "TWO_FACTOR_ENFORCED", True):
            return None
        match = request.resolver_match
        if match is None or match.view_name in TWO_FACTOR_EXEMPT_VIEWS:
            return None
        if set(match.namespaces) & TWO_FACTOR_EXEMPT_NAMESPACES:
            return None
        user = request.user
        if not user.is_authenticated or getattr(user, "is_verified", lambda: False)():
            return None
        enrolled = two_factor_device(user) is not None
        if not enrolled and not requires_2fa(user):
            return None
        target = reverse("two_factor:verify" if enrolled else "two_factor:setup")
        return redirect_response(request, _with_next(target, request))
