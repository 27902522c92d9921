"""Middleware of the staff shell.

- `ApplicationErrorMiddleware`: the one place where a refused operation (`ApplicationError`) becomes a
  response. Pages get a bilingual error page with the error's status; htmx requests get the bilingual message
  as a fragment (swapped into the target: see the htmx-config in base.html); JSON clients get `as_dict()`.
- `IndonesianFirstMiddleware`: Indonesian unless the user picked another language with the switch (the
  `django_language` cookie), whatever language the browser asks for. Sits before Django's LocaleMiddleware.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from dtsen.core.errors import ApplicationError


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
