"""Rate limits: the sixth rapid login POST is refused with 429 (bilingual, Retry-After), the citizen endpoints
and every other anonymous request are limited by URL name, logged-in staff are not limited on their pages.
Counting works in local memory (development) and in Redis (production: 127.0.0.1:6379, database 15); the
development cache is accepted by the system checks only when no Redis URL is configured."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.http import HttpResponse
from django.urls import reverse

import dtsen
from dtsen.core import ratelimits
from dtsen.core.ratelimits import Limit, public_limit

from .conftest import PASSWORD, assert_bilingual_html, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_ratelimit_clock")]

REDIS_URL = "redis://127.0.0.1:6379/15"
SETTINGS = Path(dtsen.__file__).resolve().parent / "settings.py"


def login(client, password: str = PASSWORD, username: str = "pemantau.a", ip: str = "10.3.3.3"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def assert_limited(response) -> None:
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    body = text(response)
    assert "Terlalu banyak permintaan" in body
    assert "Too many requests" in body


def test_sixth_rapid_login_post_is_refused(client, pillar):
    for _ in range(5):
        assert login(client).status_code == 302

    response = login(client)

    assert_limited(response)
    assert_bilingual_html(response)
    assert 'data-error-code="rate_limited"' in text(response)


def test_login_limit_counts_per_username_and_address(client, pillar, operator):
    for _ in range(5):
        login(client)
    assert_limited(login(client))
    assert login(client, username="operator.a").status_code == 302  # another account from the same address
    assert login(client, ip="10.4.4.4").status_code == 302  # the same account from another address


def test_many_usernames_from_one_address_hit_the_address_limit(client, settings):
    settings.AXES_ENABLED = False  # count only the rate limit here
    for i in range(30):
        assert login(client, username=f"tebak{i}", password="x").status_code == 200
    assert_limited(login(client, username="tebak99", password="x"))


def test_json_clients_get_json(client, pillar):
    for _ in range(5):
        login(client)
    response = client.post(
        reverse("login"),
        {"username": "pemantau.a", "password": PASSWORD},
        REMOTE_ADDR="10.3.3.3",
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "rate_limited"
    assert body["message_id"].startswith("Terlalu banyak permintaan")
    assert body["message_en"].startswith("Too many requests")


@pytest.mark.parametrize(
    ("name", "count"),
    [("citizen:register", 30), ("citizen:otp", 10), ("citizen:otp_resend", 10), ("citizen:login", 5)],
)
def test_citizen_endpoints_are_limited_by_url_name(client, name, count):
    url = reverse(name)
    data = {"email": "siti@example.id", "password": "x"}
    for _ in range(count):
        assert client.post(url, data, REMOTE_ADDR="10.5.5.5").status_code != 429
    assert_limited(client.post(url, data, REMOTE_ADDR="10.5.5.5"))


def test_every_other_anonymous_request_is_limited(client, monkeypatch):
    monkeypatch.setattr(ratelimits, "PUBLIC", Limit("public-test", "3/m", methods=ratelimits.ALL_METHODS))
    for _ in range(3):
        client.get(reverse("login"))
    assert_limited(client.get(reverse("login")))
    assert_limited(client.get("/warga/masuk/"))


def test_logged_in_staff_are_not_limited_on_their_pages(client, pillar, monkeypatch):
    monkeypatch.setattr(ratelimits, "PUBLIC", Limit("public-test", "3/m", methods=ratelimits.ALL_METHODS))
    client.force_login(pillar)
    for _ in range(10):
        assert client.get("/families/").status_code == 200


def test_a_deployment_can_change_a_rate_by_group(client, pillar, settings):
    settings.RATE_LIMITS = {"login-account": "2/m"}
    assert login(client).status_code == 302
    assert login(client).status_code == 302
    assert_limited(login(client))


def test_public_limit_decorator(rf):
    @public_limit("2/m", group="test-decorator")
    def view(request):
        return HttpResponse("ok")

    request = rf.post("/x/", REMOTE_ADDR="10.6.6.6")
    assert view(request).status_code == 200
    assert view(request).status_code == 200
    assert_limited(view(request))


# ------------------------------------------------------------------------------------ cache choice


def test_development_cache_is_local_memory_with_the_check_silenced(monkeypatch):
    monkeypatch.delenv("DTSEN_REDIS_URL", raising=False)
    module = runpy.run_path(str(SETTINGS))
    assert module["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert module["SILENCED_SYSTEM_CHECKS"] == ["django_ratelimit.E003", "django_ratelimit.W001"]


def test_production_cache_is_redis_and_nothing_is_silenced(monkeypatch):
    monkeypatch.setenv("DTSEN_REDIS_URL", REDIS_URL)
    module = runpy.run_path(str(SETTINGS))
    assert module["CACHES"]["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    assert module["CACHES"]["default"]["LOCATION"] == REDIS_URL
    assert module["SILENCED_SYSTEM_CHECKS"] == []


def test_the_ratelimit_check_refuses_local_memory_when_not_silenced(settings):
    settings.SILENCED_SYSTEM_CHECKS = []
    with pytest.raises(SystemCheckError, match=r"django_ratelimit\.E003"):
        call_command("check", tags=["caches"])


@pytest.fixture
def redis_cache(settings):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dtsen-test",
        }
    }
    settings.SILENCED_SYSTEM_CHECKS = []
    caches["default"].clear()
    yield caches["default"]
    caches["default"].clear()


def test_limits_count_in_redis(client, pillar, redis_cache):
    call_command("check", tags=["caches"])  # django-ratelimit accepts Redis: no error
    for _ in range(5):
        assert login(client).status_code == 302

    assert_limited(login(client))
    assert redis_cache.keys("rl:*")  # the counters are in Redis, shared by every worker


def test_redis_down_fails_open_without_server_error(client, pillar, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/15",
            "OPTIONS": {"IGNORE_EXCEPTIONS": True},
        }
    }
    for _ in range(7):
        assert login(client).status_code == 302  # not counted, not refused; axes still guards the passwords


def test_every_limit_of_a_request_is_counted_in_one_redis_round_trip(client, pillar, redis_cache, monkeypatch):
    import redis

    sent: list[tuple[object, ...]] = []
    send = redis.connection.Connection.send_command

    def spy(self, *args, **kwargs):
        sent.append(args)
        return send(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.Connection, "send_command", spy)
    login(client, ip="10.7.7.7")

    counting = [args for args in sent if args[0] in ("EVALSHA", "EVAL")]
    assert len(counting) == 1  # login-account, login-address and the anonymous limit in one script call
    assert counting[0][2] == 3
    for group in ("login-account", "login-address", "public"):
        [key] = redis_cache.keys(f"rl:{group}:*")
        assert redis_cache.ttl(key) > 0  # the window expires
