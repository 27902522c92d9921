"""Pages of the second factor (TOTP) and the lockout response.

- setup: a new secret is kept in the session until the user types a code from their app; the QR code is an
  SVG drawn on the server and sent as a data: image (no script; the CSP allows data: images only).
- verify: after each login, a code from the app (accounts.middleware.TwoFactorMiddleware sends the user here).
- reset: a superuser removes a user's device (lost phone), with a reason; audited. From the command line:
  `dtsen two_factor reset`.
- `lockout_response`: what django-axes answers while a username+address pair is locked
  (AXES_LOCKOUT_CALLABLE).
"""

from __future__ import annotations

import base64
from binascii import unhexlify
from typing import Any
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from dtsen.accounts.auth_selectors import two_factor_device, user_by_username
from dtsen.accounts.auth_services import (
    two_factor_check,
    two_factor_enrol,
    two_factor_new_key,
    two_factor_reset,
)
from dtsen.core.errors import ApplicationError, PermissionDenied, TooManyRequests, ValidationFailed
from dtsen.core.middleware import application_error_response

PENDING_KEY = "_dtsen_2fa_pending_key"
MAX_REASON = 500


def _next_url(request: HttpRequest) -> str:
    """Where to go after the form: `next` when it is a path of this site, else the home page."""
    url = str(request.POST.get("next") or request.GET.get("next") or "")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _qr_data_uri(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    svg: bytes = image.to_string(encoding="utf-8")
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def _grouped_secret(key_hex: str) -> str:
    """The secret in base32, in groups of four, for typing into an app by hand."""
    b32 = base64.b32encode(unhexlify(key_hex)).decode("ascii").rstrip("=")
    return " ".join(b32[i : i + 4] for i in range(0, len(b32), 4))


def _pending_key(request: HttpRequest) -> str:
    key = request.session.get(PENDING_KEY)
    if not isinstance(key, str) or len(key) != 40:
        key = two_factor_new_key()
        request.session[PENDING_KEY] = key
    return key


@never_cache
@sensitive_post_parameters("token")
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = _next_url(request)
    if two_factor_device(user) is not None:
        return redirect(f"{reverse('two_factor:verify')}?{urlencode({'next': next_url})}")
    key = _pending_key(request)
    error: ApplicationError | None = None
    if request.method == "POST":
        try:
            device = two_factor_enrol(actor=user, key=key, token=str(request.POST.get("token", "")))
        except ValidationFailed as exc:
            error = exc
        else:
            del request.session[PENDING_KEY]
            otp_login(request, device)
            messages.success(
                request, _("Two-factor authentication is on. You will need a code at each login.")
            )
            return redirect(next_url)
    uri = TOTPDevice(user=user, key=key).config_url  # otpauth://totp/DTSEN:<username>?secret=...
    context: dict[str, Any] = {
        "qr": _qr_data_uri(uri),
        "secret": _grouped_secret(key),
        "next": next_url,
        "error": error,
    }
    return render(request, "accounts/two_factor_setup.html", context, status=400 if error else 200)


@never_cache
@sensitive_post_parameters("token")
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = _next_url(request)
    if getattr(user, "is_verified", lambda: False)():
        return redirect(next_url)
    if two_factor_device(user) is None:
        return redirect(f"{reverse('two_factor:setup')}?{urlencode({'next': next_url})}")
    error: ApplicationError | None = None
    if request.method == "POST":
        try:
            result = two_factor_check(actor=user, token=str(request.POST.get("token", "")))
        except ValidationFailed as exc:
            error = exc
        else:
            if result.device is not None:
                otp_login(request, result.device)
                return redirect(next_url)
            if result.throttled:
                error = TooManyRequests(
                    "Terlalu banyak kode salah. Tunggu sebentar, lalu ketik kode yang baru.",
                    "Too many wrong codes. Wait a moment, then type the new code.",
                    code="two_factor_throttled",
                )
            else:
                error = ValidationFailed(
                    "Kode tidak cocok. Ketik 6 angka yang sedang tampil di aplikasi autentikator.",
                    "The code does not match. Type the 6 digits the authenticator app shows now.",
                    code="two_factor_code_wrong",
                    field="token",
                )
    status = error.status if error else 200
    return render(
        request, "accounts/two_factor_verify.html", {"next": next_url, "error": error}, status=status
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_reset_view(request: HttpRequest) -> HttpResponse:
    if not getattr(request.user, "is_superuser", False):
        raise PermissionDenied(
            "Hanya superuser yang boleh mengatur ulang autentikasi dua faktor.",
            "Only a superuser may reset two-factor authentication.",
        )
    error: ApplicationError | None = None
    username = str(request.POST.get("username", "")).strip()[:150]
    reason = str(request.POST.get("reason", "")).strip()[:MAX_REASON]
    if request.method == "POST":
        target = user_by_username(username) if username else None
        if target is None:
            error = ValidationFailed("Pengguna tidak ditemukan.", "User not found.", field="username")
        else:
            try:
                count = two_factor_reset(actor=request.user, user=target, reason=reason)
            except ValidationFailed as exc:
                error = exc
            else:
                messages.success(
                    request,
                    _("Two-factor authentication of %(user)s was reset (%(count)d devices removed).")
                    % {"user": target.get_username(), "count": count},
                )
                return redirect("two_factor:reset")
    context = {"error": error, "username": username, "reason": reason}
    return render(request, "accounts/two_factor_reset.html", context, status=400 if error else 200)


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the bilingual refusal while a username+address pair is locked."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    error = TooManyRequests(
        "Terlalu banyak percobaan masuk yang gagal. "
        f"Akun ini dikunci dari alamat Anda selama {minutes} menit. "
        "Coba lagi nanti, atau hubungi administrator.",
        f"Too many failed login attempts. This account is locked from your address for {minutes} minutes. "
        "Try again later, or contact an administrator.",
        code="locked_out",
    )
    response = application_error_response(request, error)
    response["Retry-After"] = str(minutes * 60)
    return response
