"""Web hardening: the Content Security Policy on every response and no inline script or style in any template,
cookie and header flags, HSTS, the proxy settings only when configured, the bilingual CSRF refusal, and the
client address of the audit trail (X-Forwarded-For only from a trusted proxy)."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

import dtsen
from dtsen.audit.middleware import client_ip
from dtsen.audit.models import AuditRecord

from .conftest import PASSWORD, assert_bilingual_html, login_verified, text

SRC = Path(dtsen.__file__).resolve().parent
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
}


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.strip().split(" ", 1)[0]: part.strip().split(" ", 1)[1] for part in header.split(";")}


# ------------------------------------------------------------------------------------------------- CSP


def concrete_paths(patterns, prefix: str = "", sample_id: int = 1):
    """A requestable path for every route of the URL configuration (path converters filled with samples;
    regular-expression routes other than the API catch-all are skipped)."""
    for entry in patterns:
        route = str(entry.pattern)
        if route.startswith("^"):
            continue
        route = re.sub(r"<int:\w+>", str(sample_id), route)
        route = re.sub(r"<(?:str|slug|path|uuid):\w+>|<\w+>", "x", route)
        if isinstance(entry, URLResolver):
            yield from concrete_paths(entry.url_patterns, prefix + route, sample_id)
        elif isinstance(entry, URLPattern):
            yield "/" + prefix + route


@pytest.mark.django_db
def test_every_route_answers_with_the_policy_and_without_server_error(client, superuser, family_a):
    login_verified(client, superuser)
    paths = sorted(set(concrete_paths(get_resolver().url_patterns, sample_id=family_a.pk)))
    assert "/families/" in paths
    assert "/2fa/setup/" in paths
    assert "/api/v1/openapi.json" in paths
    assert len(paths) > 30  # the admin's pages are in
    for path in [*paths, "/api/anything", "/no-such-page/", "/static/dtsen/app.css"]:
        response = client.get(path)
        assert response.status_code < 500, path
        for name, value in CSP.items():
            assert policy(response)[name] == value, (path, name)


@pytest.mark.django_db
def test_anonymous_pages_and_errors_carry_the_policy(client):
    for path in ["/login/", "/warga/daftar/", "/families/", "/no-such-page/", "/api/v1/persons"]:
        response = client.get(path)
        assert "'unsafe-inline'" not in response["Content-Security-Policy"], path
        assert policy(response)["script-src"] == "'self'", path


TEMPLATES = sorted(SRC.rglob("templates/**/*.html"))
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def test_templates_were_found():
    names = {p.relative_to(SRC).as_posix() for p in TEMPLATES}
    assert "core/templates/base.html" in names
    assert "accounts/templates/accounts/two_factor_setup.html" in names


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.relative_to(SRC).as_posix())
def test_no_template_has_inline_script_style_or_event_handlers(template):
    source = template.read_text()
    assert not INLINE_SCRIPT.search(source), "inline <script> (the CSP blocks it): use a static .js file"
    assert not INLINE_STYLE.search(source), (
        "inline style (the CSP blocks it): use a class in a static .css file"
    )
    assert not INLINE_HANDLER.search(source), "inline event handler (the CSP blocks it)"
    assert "javascript:" not in source.lower()


# ------------------------------------------------------------------------------------ cookies, headers


def test_cookie_and_header_settings():
    assert not settings.DEBUG
    assert settings.SESSION_COOKIE_SECURE
    assert settings.CSRF_COOKIE_SECURE
    assert settings.SESSION_COOKIE_HTTPONLY
    assert settings.CSRF_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert settings.SECURE_HSTS_SECONDS >= 365 * 24 * 3600
    assert settings.X_FRAME_OPTIONS == "DENY"


def test_argon2_is_the_projects_first_hasher():
    source = (SRC / "settings.py").read_text()
    hashers = source.split("PASSWORD_HASHERS = [", 1)[1]
    assert hashers.strip().startswith('"django.contrib.auth.hashers.Argon2PasswordHasher"')


@pytest.mark.django_db
def test_session_cookie_is_secure_and_http_only(client, pillar):
    response = client.post(reverse("login"), {"username": "pemantau.a", "password": PASSWORD})
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["secure"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


@pytest.mark.django_db
def test_security_headers_and_hsts_over_https(client):
    response = client.get("/login/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def _settings_with(monkeypatch, **env: str) -> dict:
    for name in ("DTSEN_TRUSTED_PROXY", "DTSEN_REDIS_URL", "DTSEN_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SRC / "settings.py"))


def test_proxy_headers_are_trusted_only_when_a_proxy_is_configured(monkeypatch):
    plain = _settings_with(monkeypatch)
    assert plain["TRUSTED_PROXIES"] == ()
    assert "SECURE_PROXY_SSL_HEADER" not in plain
    behind = _settings_with(monkeypatch, DTSEN_TRUSTED_PROXY="10.0.0.2, 10.9.0.0/16")
    assert behind["TRUSTED_PROXIES"] == ("10.0.0.2", "10.9.0.0/16")
    assert behind["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


def test_a_mistyped_proxy_address_stops_the_start(monkeypatch):
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6"):
        _settings_with(monkeypatch, DTSEN_TRUSTED_PROXY="10.0.0.2, proxy.local")


def test_no_hsts_in_debug(monkeypatch):
    assert "SECURE_HSTS_SECONDS" not in _settings_with(monkeypatch, DTSEN_DEBUG="1")


# ----------------------------------------------------------------------------------------------- CSRF


@pytest.mark.django_db
def test_form_without_csrf_token_is_refused_in_both_languages(pillar):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "pemantau.a", "password": PASSWORD})
    assert response.status_code == 403
    assert_bilingual_html(response)
    assert "Formulir kedaluwarsa" in text(response)
    assert "The form has expired" in text(response)
    assert 'data-error-code="csrf_failed"' in text(response)


# --------------------------------------------------------------------------------- client address


def request(remote: str, forwarded: str = ""):
    meta = {"REMOTE_ADDR": remote}
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_forwarded_for_is_ignored_without_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ()
    assert client_ip(request("10.0.0.2", "203.0.113.7")) == "10.0.0.2"


def test_forwarded_for_is_used_from_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ("10.0.0.0/24",)
    assert client_ip(request("10.0.0.2", "203.0.113.7")) == "203.0.113.7"
    # a client cannot put an address in front: the right-most untrusted hop is the client
    assert client_ip(request("10.0.0.2", "1.2.3.4, 203.0.113.7")) == "203.0.113.7"
    assert client_ip(request("10.0.0.2", "203.0.113.7, 10.0.0.9")) == "203.0.113.7"
    assert client_ip(request("10.0.0.2", "garbage")) == "10.0.0.2"
    assert client_ip(request("192.0.2.1", "203.0.113.7")) == "192.0.2.1"  # not from the proxy


@pytest.mark.django_db
def test_audit_records_carry_the_client_address(client, pillar, settings):
    settings.TRUSTED_PROXIES = ("10.0.0.2",)
    client.post(
        reverse("login"),
        {"username": "pemantau.a", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.7",
    )
    record = AuditRecord.objects.get(action="auth.login")
    assert (record.ip, record.channel) == ("203.0.113.7", "web")
