"""Small helpers shared by the views of every app."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponseBase


def no_store(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Personal data: never cached by the browser or a proxy."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        return response

    return wrapper
