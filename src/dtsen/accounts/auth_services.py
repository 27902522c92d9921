"""Writes about authentication: enrolling, checking and resetting the second factor (TOTP), issuing, using and
revoking API tokens. Every change is audited; so is every refused second factor and every refused use of an
existing token. (Logins, failed logins and lockouts are audited from Django's and django-axes' signals:
accounts.auth_signals.)"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
import time
from binascii import unhexlify
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from dtsen.accounts.auth_selectors import all_permissions, permissions_of, two_factor_device
from dtsen.accounts.models import ApiToken
from dtsen.accounts.selectors import Actor
from dtsen.accounts.services import SYSTEM_USERNAME
from dtsen.audit.services import audit_record
from dtsen.core.errors import NotAuthenticated, PermissionDenied, ValidationFailed

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "dtsen"  # noqa: S105 (the fixed first part of every token, not a secret)
TOKEN_MAX_DAYS = 365
TOTP_DIGITS = 6
TOTP_TOLERANCE = 1  # one 30-second step either side: phones whose clock is a little off still work
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)  # `last_used_at` is written at most once a minute per token


# ------------------------------------------------------------------------------------------ second factor


def _bad_code() -> ValidationFailed:
    return ValidationFailed(
        "Kode tidak cocok. Ketik 6 angka yang sedang tampil di aplikasi autentikator.",
        "The code does not match. Type the 6 digits the authenticator app shows now.",
        code="two_factor_code_wrong",
        field="token",
    )


def two_factor_parse_token(raw: str) -> int:
    """The 6-digit code as typed (spaces allowed); `ValidationFailed` otherwise."""
    text = "".join(str(raw).split())
    if len(text) != TOTP_DIGITS or not (text.isascii() and text.isdigit()):
        raise ValidationFailed(
            "Kode terdiri dari 6 angka.",
            "The code has 6 digits.",
            code="two_factor_code_format",
            field="token",
        )
    return int(text)


def two_factor_new_key() -> str:
    """A new TOTP secret (20 random bytes, hex), kept in the session until the user confirms it."""
    return str(random_hex(20))


@transaction.atomic
def two_factor_enrol(*, actor: Actor, key: str, token: str) -> TOTPDevice:
    """Confirm a new TOTP secret with a code from the user's app and make it the user's device. Audited."""
    code = two_factor_parse_token(token)
    if two_factor_device(actor) is not None:
        raise ValidationFailed(
            "Autentikasi dua faktor sudah aktif untuk akun ini.",
            "Two-factor authentication is already set up.",
            code="two_factor_enrolled",
        )
    try:
        totp = TOTP(unhexlify(key.encode()), step=30, t0=0, digits=TOTP_DIGITS, drift=0)
    except (ValueError, TypeError):
        raise ValidationFailed(
            "Kunci tidak sah; mulai lagi.", "Invalid key; start again.", code="two_factor_key_invalid"
        ) from None
    totp.time = time.time()
    if not totp.verify(code, tolerance=TOTP_TOLERANCE):
        raise _bad_code()
    device = TOTPDevice.objects.create(
        user=actor,
        name="default",
        key=key,
        confirmed=True,
        digits=TOTP_DIGITS,
        tolerance=TOTP_TOLERANCE,
        drift=totp.drift,
        last_t=totp.t(),  # this code cannot be used again
    )
    audit_record(
        actor=actor,
        action="two_factor_enrol",
        object_type="totpdevice",
        object_id=device.pk,
        after={"user_id": actor.pk, "confirmed": True},
    )
    return device


@dataclass(frozen=True)
class TwoFactorCheck:
    device: TOTPDevice | None  # the device that accepted the code; None when refused
    throttled: bool = False


def two_factor_check(*, actor: Actor, token: str) -> TwoFactorCheck:
    """Check a code against the user's device (django-otp: no replay, growing delay after failures). The
    outcome is audited ("auth.two_factor" or "auth.two_factor_failed"); the caller marks the session."""
    code = two_factor_parse_token(token)
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user_id=actor.pk, confirmed=True)
            .order_by("pk")
            .first()
        )
        if device is None:
            raise ValidationFailed(
                "Autentikasi dua faktor belum diatur.",
                "Two-factor authentication is not set up.",
                code="two_factor_missing",
            )
        allowed, _ = device.verify_is_allowed()
        ok = allowed and device.verify_token(code)
        audit_record(
            actor=actor,
            action="auth.two_factor" if ok else "auth.two_factor_failed",
            object_type="totpdevice",
            object_id=device.pk,
            reason="" if ok else ("throttled" if not allowed else "wrong code"),
        )
    return TwoFactorCheck(device=device if ok else None, throttled=not allowed)


def _require_admin(actor: Actor) -> None:
    """Resetting factors and managing tokens: a superuser, or the system actor (the server's command line)."""
    if getattr(actor, "is_superuser", False) and actor.is_active:
        return
    if actor.is_authenticated and actor.get_username() == SYSTEM_USERNAME:
        return
    raise PermissionDenied("Hanya superuser yang boleh melakukan ini.", "Only a superuser may do this.")


@transaction.atomic
def two_factor_reset(*, actor: Actor, user: AbstractBaseUser, reason: str) -> int:
    """Remove the user's devices (lost phone): they enrol again at their next login. Audited."""
    _require_admin(actor)
    if not reason.strip():
        raise ValidationFailed("Alasan wajib diisi.", "A reason is required.", field="reason")
    devices = list(
        TOTPDevice.objects.select_for_update().filter(user_id=user.pk).values_list("pk", flat=True)
    )
    TOTPDevice.objects.filter(pk__in=devices).delete()
    audit_record(
        actor=actor,
        action="two_factor_reset",
        object_type="user",
        object_id=user.pk,
        before={"devices": devices},
        after={"devices": []},
        reason=reason.strip(),
    )
    return len(devices)


# ------------------------------------------------------------------------------------------- API tokens


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _snapshot(token: ApiToken) -> dict[str, Any]:
    return {
        "name": token.name,
        "user_id": token.user_id,
        "prefix": token.prefix,
        "scopes": sorted(token.scopes),
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # the whole clear token: shown once, never stored


@transaction.atomic
def api_token_issue(
    *, actor: Actor, user: AbstractBaseUser, name: str, scopes: list[str], expires_at: dt.datetime
) -> IssuedToken:
    """A new token for `user`, limited to `scopes` (permissions the user holds) until `expires_at` (at most
    a year ahead). Audited; the clear token is returned once."""
    _require_admin(actor)
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed(
            "Nama token wajib diisi (maksimal 100 karakter).",
            "The token needs a name (at most 100 characters).",
            field="name",
        )
    if not user.is_active:
        raise ValidationFailed("Pengguna tidak aktif.", "The user is not active.", field="user")
    wanted = sorted(set(scopes))
    if not wanted:
        raise ValidationFailed(
            "Sebutkan minimal satu cakupan (scope).", "Give at least one scope.", field="scopes"
        )
    unknown = [s for s in wanted if s not in all_permissions()]
    if unknown:
        raise ValidationFailed(
            f"Cakupan tidak dikenal: {', '.join(unknown)}.",
            f"Unknown scopes: {', '.join(unknown)}.",
            field="scopes",
        )
    beyond = [s for s in wanted if s not in permissions_of(user)]
    if beyond:
        raise ValidationFailed(
            f"Pengguna tidak memiliki izin ini, jadi tokennya juga tidak: {', '.join(beyond)}.",
            f"The user does not hold these permissions, so neither may the token: {', '.join(beyond)}.",
            field="scopes",
        )
    now = timezone.now()
    if timezone.is_naive(expires_at) or not now < expires_at <= now + dt.timedelta(days=TOKEN_MAX_DAYS):
        raise ValidationFailed(
            f"Masa berlaku harus di masa depan dan paling lama {TOKEN_MAX_DAYS} hari.",
            f"The expiry must be in the future and at most {TOKEN_MAX_DAYS} days ahead.",
            field="expires_at",
        )
    prefix = secrets.token_hex(4)
    while ApiToken.objects.filter(prefix=prefix).exists():  # 2^32 prefixes: a clash is rare, never reused
        prefix = secrets.token_hex(4)
    clear = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        name=name,
        user_id=user.pk,
        prefix=prefix,
        secret_hash=_hash(clear),
        scopes=wanted,
        expires_at=expires_at,
        created_by_id=actor.pk if actor.is_authenticated else None,
    )
    audit_record(
        actor=actor,
        action="api_token_issue",
        object_type="apitoken",
        object_id=token.pk,
        after=_snapshot(token),
    )
    return IssuedToken(token=token, secret=clear)


@transaction.atomic
def api_token_revoke(*, actor: Actor, token: ApiToken, reason: str) -> ApiToken:
    """End a token now (kept, with who and when). Audited; revoking twice changes nothing."""
    _require_admin(actor)
    if not reason.strip():
        raise ValidationFailed("Alasan wajib diisi.", "A reason is required.", field="reason")
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    before = _snapshot(token)
    token.revoked_at = timezone.now()
    token.revoked_by_id = actor.pk if actor.is_authenticated else None
    token.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(
        actor=actor,
        action="api_token_revoke",
        object_type="apitoken",
        object_id=token.pk,
        before=before,
        after=_snapshot(token),
        reason=reason.strip(),
    )
    return token


_INVALID = ("Token API tidak sah.", "The API token is not valid.")


def api_token_authenticate(*, raw: str) -> ApiToken:
    """The token a client presented, if it is genuine, unexpired, unrevoked and its user active; otherwise
    `NotAuthenticated`. Refused uses of an existing token are audited; random strings are only logged."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or len(parts[1]) > 16:
        raise NotAuthenticated(*_INVALID, code="token_invalid")
    token = ApiToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if token is None:
        logger.warning("API token with unknown prefix %r", parts[1][:16])
        raise NotAuthenticated(*_INVALID, code="token_invalid")
    now = timezone.now()
    refusal: NotAuthenticated | None = None
    if not hmac.compare_digest(token.secret_hash, _hash(raw.strip())):
        refusal = NotAuthenticated(*_INVALID, code="token_invalid")
    elif token.revoked_at is not None:
        refusal = NotAuthenticated(
            "Token API sudah dicabut.", "The API token has been revoked.", code="token_revoked"
        )
    elif token.expires_at <= now:
        refusal = NotAuthenticated(
            "Token API sudah kedaluwarsa.", "The API token has expired.", code="token_expired"
        )
    elif not token.user.is_active:
        refusal = NotAuthenticated(*_INVALID, code="token_invalid")
    if refusal is not None:
        audit_record(
            actor=None,
            action="auth.token_refused",
            object_type="apitoken",
            object_id=token.pk,
            reason=refusal.code,
        )
        raise refusal
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        # Bookkeeping, not audited itself: the reads made with the token are (channel "api").
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
