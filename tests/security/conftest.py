"""Fixtures of the authentication and hardening tests: staff of each kind in Kulon Progo, two families in two
kecamatan, API tokens issued through the service, TOTP codes computed with django-otp's own `totp`, and a
frozen rate-limit clock (dtsen.core.ratelimits counts in fixed windows: a window edge between two rapid requests
would reset the count).

Every test here runs with the second factor enforced (the rest of the suite logs staff in with `force_login`
and leaves it off: tests/conftest.py), the citizen URLs mounted, and a fast password hasher.
"""

from __future__ import annotations

import datetime as dt
import time
from binascii import unhexlify
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from dtsen.accounts.auth_services import api_token_issue, two_factor_enrol, two_factor_new_key
from dtsen.accounts.models import Role
from dtsen.accounts.permissions import REGISTRY_VIEW
from dtsen.accounts.services import role_assign, system_actor
from dtsen.core import ratelimits
from dtsen.registry import choices as c
from dtsen.registry.models import Family
from dtsen.registry.services import family_register
from tests.registry.factories import VILLAGE_A, VILLAGE_B, condition, household

PASSWORD = "kata-sandi-uji-keamanan-2025"
KEC_A = "34.01.01"  # Temon: VILLAGE_A is inside, VILLAGE_B (Wates) is not
KK_A = "3401012001250001"
KK_B = "3401022001250002"
NOW = 1_900_000_000  # the frozen rate-limit clock (2030-03-17)


@pytest.fixture(autouse=True)
def _security_settings(settings):
    settings.TWO_FACTOR_ENFORCED = True
    settings.ROOT_URLCONF = "tests.security.urls"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def frozen_ratelimit_clock(monkeypatch):
    """The rate limits' clock, fixed: every request of the test falls in the same window."""
    monkeypatch.setattr(ratelimits, "time", SimpleNamespace(time=lambda: NOW, monotonic=time.monotonic))


def make_user(username: str, *roles: tuple[str, str], superuser: bool = False):
    model = get_user_model()
    if superuser:
        return model.objects.create_superuser(username, f"{username}@example.id", PASSWORD)
    user = model.objects.create_user(username, password=PASSWORD)
    for role, region in roles:
        role_assign(user=user, role=role, region_code=region, reason="uji / test")
    return user


@pytest.fixture
def operator(db):
    """Village operator of VILLAGE_A: may change the registry, so needs the second factor."""
    return make_user("operator.a", (Role.OPERATOR_DESA, VILLAGE_A))


@pytest.fixture
def pillar(db):
    """A read-only viewer scoped to kecamatan Temon: no second factor. (Field workers no longer qualify: they
    submit verification visits, which is more than viewing.)"""
    return make_user("pemantau.a", (Role.PROVINCIAL_VIEWER, KEC_A))


@pytest.fixture
def superuser(db):
    return make_user("pusat", superuser=True)


@pytest.fixture
def api_user(db):
    """A system client reading kecamatan Temon (through a view role there)."""
    return make_user("siks.temon", (Role.SYSTEM_CLIENT, ""), (Role.TKSK, KEC_A))


def _family(*, village: str, kk: str, serial: int, kec: str) -> Family:
    head, members = household(serial0=serial, kec=kec)
    return family_register(
        actor=system_actor(),
        channel=c.Channel.REGSOSEK,
        reason="Pendataan awal Regsosek 2022",
        kk_number=kk,
        village_code=village,
        head=head,
        members=members,
        rw="03",
        rt="011",
        address="Dusun Sidorejo",
        condition=condition(),
    )


@pytest.fixture
def family_a(db) -> Family:
    return _family(village=VILLAGE_A, kk=KK_A, serial=101, kec=KEC_A)


@pytest.fixture
def family_b(db) -> Family:
    return _family(village=VILLAGE_B, kk=KK_B, serial=201, kec="34.01.02")


def code_for(key_hex: str, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (or `steps_ahead` 30-second steps later)."""
    return f"{totp(unhexlify(key_hex), drift=steps_ahead):06d}"


def enrol(user) -> TOTPDevice:
    """Give `user` a confirmed TOTP device, through the service (the code of the current step is used up)."""
    key = two_factor_new_key()
    return two_factor_enrol(actor=user, key=key, token=code_for(key))


def login_verified(client, user) -> TOTPDevice:
    """Log `user` in with both factors done (a device is enrolled when the user has none)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or enrol(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def issue(user, *, actor, scopes=(REGISTRY_VIEW,), days: int = 30, name: str = "SIKS-NG uji"):
    return api_token_issue(
        actor=actor,
        user=user,
        name=name,
        scopes=list(scopes),
        expires_at=timezone.now() + dt.timedelta(days=days),
    )


@pytest.fixture
def token(api_user, superuser) -> str:
    """A valid token of `api_user` with the scope registry.view."""
    return issue(api_user, actor=superuser).secret


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def text(response) -> str:
    return response.content.decode()


def assert_bilingual_html(response) -> None:
    body = text(response)
    assert 'lang="id"' in body
    assert 'lang="en"' in body


def now() -> float:
    return time.time()
