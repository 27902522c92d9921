"""Lockout (django-axes): five failed logins for one username from one address lock that pair for 30 minutes,
with a bilingual page; logins, failures and the lockout are in the audit trail, never the password.

The rate limits are switched off here: they would answer the sixth rapid request first (test_ratelimits)."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from dtsen.audit.models import AuditRecord

from .conftest import PASSWORD, assert_bilingual_html, text

pytestmark = pytest.mark.django_db

WRONG = "salah-sekali-123"


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.RATELIMIT_ENABLE = False


def post_login(client, username: str, password: str, ip: str = "10.1.1.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_five_failures_lock_the_account_from_that_address(client, pillar):
    for _ in range(4):
        response = post_login(client, "pemantau.a", WRONG)
        assert response.status_code == 200  # the login form again, with the bilingual error
        assert "Wrong username or password" in text(response)

    response = post_login(client, "pemantau.a", WRONG)

    assert response.status_code == 429
    assert_bilingual_html(response)
    assert "Akun ini dikunci" in text(response)
    assert "This account is locked" in text(response)
    assert response["Retry-After"] == str(30 * 60)
    # the right password does not help while locked
    response = post_login(client, "pemantau.a", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lock_is_per_username_and_address(client, pillar, operator):
    for _ in range(5):
        post_login(client, "pemantau.a", WRONG)

    assert post_login(client, "pemantau.a", PASSWORD, ip="10.2.2.2").status_code == 302  # other address
    client.logout()
    assert post_login(client, "operator.a", PASSWORD).status_code == 302  # other user, same address


def test_unlocked_after_the_cool_off(client, pillar):
    for _ in range(5):
        post_login(client, "pemantau.a", WRONG)
    assert post_login(client, "pemantau.a", PASSWORD).status_code == 429

    # thirty minutes and a second later
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30, seconds=1))

    response = post_login(client, "pemantau.a", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(pillar.pk)


def test_logins_failures_and_the_lockout_are_audited_without_password(client, pillar):
    assert post_login(client, "pemantau.a", PASSWORD).status_code == 302
    client.logout()
    for _ in range(5):
        post_login(client, "pemantau.a", WRONG)
    post_login(client, "pemantau.a", PASSWORD)  # while locked

    login = AuditRecord.objects.get(action="auth.login")
    assert (login.actor_id, login.object_id, login.ip, login.channel) == (
        pillar.pk,
        str(pillar.pk),
        "10.1.1.1",
        "web",
    )
    failed = list(AuditRecord.objects.filter(action="auth.login_failed").order_by("seq"))
    assert len(failed) == 6
    assert all(r.after == {"username": "pemantau.a"} and r.object_id == str(pillar.pk) for r in failed)
    assert [r.reason for r in failed] == [""] * 5 + ["locked out"]
    lockout = AuditRecord.objects.get(action="auth.lockout")
    assert lockout.after == {"username": "pemantau.a", "failures": 5}
    assert lockout.ip == "10.1.1.1"
    assert AuditRecord.objects.filter(action="auth.logout").count() == 1
    for record in AuditRecord.objects.all():
        assert WRONG not in str(record.after)
        assert PASSWORD not in str(record.after)
        assert WRONG not in record.reason


def test_unknown_username_is_audited_without_an_account(client, db):
    post_login(client, "tidak.ada", WRONG)
    record = AuditRecord.objects.get(action="auth.login_failed")
    assert record.object_id == ""
    assert record.after == {"username": "tidak.ada"}
