"""Sessions end after 30 minutes without a request and 8 hours after the login, whatever the activity; the
logout is audited with its reason. Time is moved by rewriting the session's clock, as 31 idle minutes
would."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.urls import reverse

from dtsen.accounts.middleware import SESSION_SEEN_KEY, SESSION_STARTED_KEY
from dtsen.audit.models import AuditRecord

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db

FAMILIES = "/families/"


def shift_clock(client, *, started: float | None = None, seen: float | None = None) -> None:
    session = client.session
    if started is not None:
        session[SESSION_STARTED_KEY] = started
    if seen is not None:
        session[SESSION_SEEN_KEY] = seen
    session.save()


def test_limits_are_thirty_minutes_idle_and_eight_hours_in_all():
    assert settings.SESSION_IDLE_SECONDS == 30 * 60
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE


def test_the_login_starts_the_clock(client, pillar):
    before = time.time()
    client.post(reverse("login"), {"username": "pemantau.a", "password": PASSWORD})
    assert before <= client.session[SESSION_STARTED_KEY] <= time.time()
    assert client.session[SESSION_SEEN_KEY] == client.session[SESSION_STARTED_KEY]


def test_idle_session_expires(client, pillar):
    client.force_login(pillar)
    assert client.get(FAMILIES).status_code == 200
    shift_clock(client, seen=time.time() - 31 * 60)

    response = client.get(FAMILIES)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=%2Ffamilies%2F"
    assert "_auth_user_id" not in client.session
    record = AuditRecord.objects.get(action="auth.logout")
    assert (record.actor_id, record.reason) == (pillar.pk, "session idle")
    page = client.get(response["Location"])
    assert "Sesi Anda telah berakhir" in page.content.decode()


def test_activity_keeps_the_session_alive(client, pillar):
    client.force_login(pillar)
    shift_clock(client, seen=time.time() - 29 * 60)
    assert client.get(FAMILIES).status_code == 200
    assert client.session[SESSION_SEEN_KEY] > time.time() - 5  # moved forward by the request
    assert client.get(FAMILIES).status_code == 200


def test_session_ends_eight_hours_after_login_even_when_active(client, pillar):
    client.force_login(pillar)
    shift_clock(client, started=time.time() - 8 * 3600 - 1, seen=time.time())

    response = client.get(FAMILIES)

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert AuditRecord.objects.get(action="auth.logout").reason == "session older than the maximum"


def test_expired_htmx_request_reloads_the_whole_page(client, pillar):
    client.force_login(pillar)
    shift_clock(client, seen=time.time() - 31 * 60)
    response = client.get(FAMILIES, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("login"))
