"""The audit trail of logging in and out, from Django's and django-axes' signals (connected in
AccountsConfig.ready): "auth.login", "auth.login_failed" (the username tried, never the password),
"auth.lockout" (the failure that locked a username+address pair), "auth.logout". The address and channel come
from the request's audit context. The login also starts the session clock of accounts.middleware."""

from __future__ import annotations

import time
from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from dtsen.accounts.middleware import LOGOUT_REASON_ATTR, SESSION_SEEN_KEY, SESSION_STARTED_KEY
from dtsen.audit.services import audit_record

MAX_USERNAME = 150


def _user_id(username: str) -> str:
    """The id of the account a username names ("" when none: the trail must not say whether it exists to a
    reader of one record, but an auditor can still group the attempts by username)."""
    pk = get_user_model().objects.filter(username=username).values_list("pk", flat=True).first()
    return "" if pk is None else str(pk)


@receiver(user_logged_in, dispatch_uid="dtsen_audit_login")
def audit_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[SESSION_STARTED_KEY] = now
        request.session[SESSION_SEEN_KEY] = now
    audit_record(actor=user, action="auth.login", object_type="user", object_id=user.pk)


@receiver(user_logged_out, dispatch_uid="dtsen_audit_logout")
def audit_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None and getattr(user, "is_authenticated", False):
        reason = str(getattr(request, LOGOUT_REASON_ATTR, ""))
        audit_record(actor=user, action="auth.logout", object_type="user", object_id=user.pk, reason=reason)


@receiver(user_login_failed, dispatch_uid="dtsen_audit_login_failed")
def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username", ""))[:MAX_USERNAME]
    # Refused because the pair was already locked (django-axes then does not count the attempt), as opposed to
    # wrong credentials (counted, possibly the failure that causes the lock).
    locked = (
        bool(getattr(request, "axes_locked_out", False))
        and getattr(request, "axes_failures_since_start", None) is None
    )
    audit_record(
        actor=None,
        action="auth.login_failed",
        object_type="user",
        object_id=_user_id(username),
        after={"username": username},
        reason="locked out" if locked else "",
    )


@receiver(user_locked_out, dispatch_uid="dtsen_audit_lockout")
def audit_lockout(
    sender: Any, request: HttpRequest, username: str | None, ip_address: str | None, **kwargs: Any
) -> None:
    # django-axes also sends the signal for each attempt made while locked (failures are then not counted:
    # `axes_failures_since_start` stays None). Only the failure that reached the limit is the lockout.
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None:
        return
    name = str(username or "")[:MAX_USERNAME]
    audit_record(
        actor=None,
        action="auth.lockout",
        object_type="user",
        object_id=_user_id(name),
        after={"username": name, "failures": failures},
    )
