"""Middleware of the staff shell.

- `ApplicationErrorMiddleware`: the one place where a refused operation (`ApplicationError`) becomes a
  response. Pages get a bilingual error page with the error's status; htmx requests get the bilingual message
  as a fragment (swapped into the target: see the htmx-config in base.html); JSON clients get `as_dict()`.
- `NulCharacterMiddleware`: refuses input with the NUL character (400, bilingual) before any view sees it.
- `IndonesianFirstMiddleware`: Indonesian unless the user picked another language with the switch (the
  `django_language` cookie), whatever language the browser asks for. Sits before Django's LocaleMiddleware.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import resolve

from dtsen.core.errors import ApplicationError, ValidationFailed


def application_error_response(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    if request.path.startswith("/api/") or (
        request.accepts("application/json") and not request.accepts("text/html")
    ):
        return JsonResponse(error.as_dict(), status=error.status)
    is_htmx = bool(getattr(request, "htmx", False))
    template = "core/_error.html" if is_htmx else "core/application_error.html"
    body = render_to_string(template, {"error": error, "status": error.status}, request=request)
    return HttpResponse(body, status=error.status)


class ApplicationErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, ApplicationError):
            return application_error_response(request, exception)
        return None


class IndonesianFirstMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


class NulCharacterMiddleware:
    """Refuses (400, bilingual) a page request whose query string or form fields contain the NUL character.

    No legitimate input has it, PostgreSQL cannot store or compare it (a query with it fails as a server error
    rather than matching nothing), and SQLite would store it silently. Django's form fields already refuse it;
    this covers views that read `request.GET`/`request.POST` themselves. Uploaded files are not inspected. The
    API (/api/) is left to its own schema validation (422)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/") and self._has_nul(request):
            error = ValidationFailed(
                "Permintaan berisi karakter yang tidak diizinkan (NUL).",
                "The request contains a character that is not allowed (NUL).",
                code="invalid_character",
            )
            return application_error_response(request, error)
        return self.get_response(request)

    @staticmethod
    def _has_nul(request: HttpRequest) -> bool:
        data = [request.GET] if request.method != "POST" else [request.GET, request.POST]
        return any(
            "\x00" in key or any("\x00" in v for v in values) for d in data for key, values in d.lists()
        )


class SignedMessagesMiddleware:
    """The DCI endpoints (`/dci/`) answer signed machine messages in JSON: no cookies, no session, no CSRF token,
    no login or second factor, no HTML pages, and their own rate limit (`ratelimits.DCI`). Placed right after
    the security headers (the Content-Security-Policy too, as on every route) and the audit context, this calls
    their views directly and so skips the browser middleware below it, which would do nothing for them but cost
    time on the partners' hot path. Anything else goes through the whole chain. An exception in a view still
    reaches Django's handler (500, logged)."""

    PREFIXES = ("/dci/",)

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(self.PREFIXES):
            return self.get_response(request)
        match = resolve(request.path_info)  # Resolver404 becomes Django's 404 response
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)
