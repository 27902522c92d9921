"""Fixtures of the API tests: the families, staff and photos of the update-workflow tests (family A in a desa of
Temon with a geotagged dwelling, family B in Wates), tokens issued through the service, and a real ranking run
over the two families (DuckDB, the shipped model)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from dtsen.accounts.auth_services import api_token_issue
from dtsen.accounts.models import Role
from dtsen.accounts.permissions import MATRIX
from dtsen.accounts.services import role_assign, system_actor
from dtsen.ranking import services as ranking
from tests.updates.conftest import (  # noqa: F401 - fixtures re-exported for this package
    _citizen_settings,
    dinsos,
    family_a,
    family_b,
    geotagged_a,
    operator_a,
    operator_b,
    worker,
    worker_wates,
)

KEC_A = "34.01.01"  # Temon: family A's village is inside, family B's (Wates) is not


def issue(user, *scopes: str) -> str:
    """A token of `user` with `scopes` (default: every permission the user's roles give)."""
    if not scopes:
        scopes = tuple(sorted({p for a in user.role_assignments.filter(active=True) for p in MATRIX[a.role]}))
    return api_token_issue(actor=system_actor(), user=user, name="Klien uji", scopes=list(scopes),
                           expires_at=timezone.now() + dt.timedelta(days=30)).secret


def bearer(secret: str, key: str | None = None) -> dict[str, str]:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return headers


def new_key() -> str:
    return str(uuid.uuid4())


def user_with(username: str, role: str, region: str):
    user = get_user_model().objects.create_user(username, password="kata-sandi-api-2026", first_name=username)
    role_assign(user=user, role=role, region_code=region, reason="uji / test")
    return user


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code, body
    assert body["message_id"]
    assert body["message_en"]
    assert body["message_id"] != body["message_en"]
    return body


@pytest.fixture
def temon(db):
    """A TKSK of kecamatan Temon (field scopes: registry.view, visit.do, program.view, ...) and a token."""
    user = user_with("tksk.temon", Role.TKSK, KEC_A)
    return user, issue(user)


@pytest.fixture
def ranked(family_a, family_b, tmp_path):  # noqa: F811 - the fixtures of those names
    """A finished ranking run over the two families."""
    analyst = user_with("bps.api", Role.BPS_ANALYST, "")
    return ranking.ranking_run(actor=analyst, period="2026-Q4", cutoff=timezone.localdate(), work_dir=tmp_path)
