"""The role × region matrix through the API: for every role, held in kecamatan Temon (34.01.01, family A's
village inside, family B's Wates outside), a token carrying every permission the role has reaches each endpoint
exactly as the permission matrix (accounts/permissions.py) and the pages say: 200 inside, 404 (or absent from
lists) outside, 403 `scope_missing` for an endpoint whose permission the role lacks; writes likewise.

The page side of the same matrix is tests/security/test_role_region_matrix.py."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from dtsen.accounts.models import Role
from dtsen.accounts.permissions import (
    MATRIX,
    PROGRAM_VIEW,
    REGISTRY_VIEW,
    USULAN_CHECK,
    USULAN_DRAFT,
    USULAN_RATIFY,
    VISIT_DO,
)
from dtsen.core.errors import ApplicationError
from dtsen.registry.crypto import nik_decrypt
from dtsen.registry.models import Person
from dtsen.updates import services as svc
from tests.updates.conftest import NEW_FAMILY, VILLAGE_A, VILLAGE_B

from .conftest import KEC_A, assert_error, bearer, issue, new_key, user_with

pytestmark = pytest.mark.django_db
ROLES = [r.value for r in Role]


@pytest.fixture
def world(family_a, family_b, operator_a, operator_b, dinsos, worker, ranked):
    """Usulan in both villages, a visit task in village A assigned to someone else, a ranking run."""
    usulan_a = svc.usulan_create(actor=operator_a, kind="program", village_code=VILLAGE_A, family=family_a,
                                 payload={"program": "pkh"})
    usulan_b = svc.usulan_create(actor=operator_b, kind="program", village_code=VILLAGE_B, family=family_b,
                                 payload={"program": "sembako"})
    visit = svc.visit_create(actor=dinsos, worker=worker, due_on=timezone.localdate() + dt.timedelta(days=7),
                             village_code=VILLAGE_A, family=family_a, instructions="Cek rumah")
    return {"a": family_a, "b": family_b, "usulan_a": usulan_a, "usulan_b": usulan_b, "visit": visit, "run": ranked}


def _reads(w) -> list[tuple[str, str, str]]:
    """(permission, address inside, address outside) of every read of personal data keyed by a family or an
    usulan; the outside one must be 404."""
    a, b = w["a"].family_code, w["b"].family_code
    pairs = [(REGISTRY_VIEW, f"/api/v1/families/{a}{tail}", f"/api/v1/families/{b}{tail}")
             for tail in ("", "/members", "/conditions", "/desil")]
    pairs.append((PROGRAM_VIEW, f"/api/v1/families/{a}/memberships", f"/api/v1/families/{b}/memberships"))
    pairs.append((REGISTRY_VIEW, f"/api/v1/usulan/{w['usulan_a'].reference}",
                  f"/api/v1/usulan/{w['usulan_b'].reference}"))
    return pairs


COVERED = {
    "family_get", "family_members", "family_conditions", "family_desil", "family_memberships", "usulan_get",
    "family_list", "usulan_list", "person_find", "ranking_distribution", "region_get", "program_list",
    "visit_list", "visit_get", "usulan_report", "ranking_run_list", "ranking_run_get", "eligibility_run_list",
    "region_list", "region_children", "eligibility_results", "usulan_transition", "visit_submit", "usulan_create",
}
# eligibility_run_get answers national metadata only (no region, no person): checked for scope in test_read.
NOT_REGIONAL = {"eligibility_run_get"}


def test_the_matrix_covers_every_operation(client):
    schema = client.get("/api/v1/openapi.json").json()
    operations = {op["operationId"] for ops in schema["paths"].values() for op in ops.values()}
    assert operations == COVERED | NOT_REGIONAL


@pytest.mark.parametrize("role", ROLES)
def test_api_follows_the_matrix(client, role, world):
    granted = MATRIX[role]
    user = user_with(f"api.{role}", role, KEC_A)
    if not granted:  # a bare system client: no scope to carry, no token
        with pytest.raises(ApplicationError):
            issue(user, REGISTRY_VIEW)
        return
    token = issue(user)
    auth = bearer(token)

    for permission, inside, outside in _reads(world):
        if permission in granted:
            assert client.get(inside, **auth).status_code == 200, (role, inside)
            assert_error(client.get(outside, **auth), 404, "not_found")
        else:
            assert_error(client.get(inside, **auth), 403, "scope_missing")
            assert_error(client.get(outside, **auth), 403, "scope_missing")

    # lists and lookups: only what is inside
    families = client.get("/api/v1/families", **auth).json()["results"]
    assert [f["family_code"] for f in families] == [world["a"].family_code]
    usulan = client.get("/api/v1/usulan", **auth).json()["results"]
    assert [u["reference"] for u in usulan] == [world["usulan_a"].reference]
    for family, count in ((world["a"], 1), (world["b"], 0)):
        nik = nik_decrypt(Person.objects.get(pk=family.head_id).nik_enc)
        assert client.get("/api/v1/persons", HTTP_X_NIK=nik, **auth).json()["count"] == count
    dist = client.get(f"/api/v1/ranking/runs/{world['run'].pk}/distribution", **auth).json()
    assert dist["total"] == 1
    assert client.get("/api/v1/regions/34.01", **auth).status_code == 200

    if PROGRAM_VIEW in granted:
        assert client.get("/api/v1/programs", **auth).status_code == 200
    else:
        assert_error(client.get("/api/v1/programs", **auth), 403, "scope_missing")

    # visit tasks: the own list needs visit.do; someone else's task is seen only by Dinsos and ratifiers
    visit_url = f"/api/v1/visits/{world['visit'].pk}"
    if VISIT_DO in granted:
        assert client.get("/api/v1/visits", **auth).json()["results"] == []
    else:
        assert_error(client.get("/api/v1/visits", **auth), 403, "scope_missing")
    if USULAN_CHECK in granted or USULAN_RATIFY in granted:
        assert client.get(visit_url, **auth).status_code == 200
    elif VISIT_DO in granted:
        assert_error(client.get(visit_url, **auth), 404, "not_found")
    else:
        assert_error(client.get(visit_url, **auth), 403, "scope_missing")

    # the remaining reads: national metadata and reference data, by permission only
    for permission, url in ((REGISTRY_VIEW, "/api/v1/usulan/laporan"), (REGISTRY_VIEW, "/api/v1/ranking/runs"),
                            (REGISTRY_VIEW, f"/api/v1/ranking/runs/{world['run'].pk}"),
                            (PROGRAM_VIEW, "/api/v1/programs/runs"), (None, "/api/v1/regions"),
                            (None, "/api/v1/regions/34.01/children")):
        if permission is None or permission in granted:
            assert client.get(url, **auth).status_code == 200, (role, url)
        else:
            assert_error(client.get(url, **auth), 403, "scope_missing")
    if PROGRAM_VIEW in granted:
        assert_error(client.get("/api/v1/programs/runs/999999/results", **auth), 404, "not_found")
    else:
        assert_error(client.get("/api/v1/programs/runs/999999/results", **auth), 403, "scope_missing")

    # transitions: the step's permission, inside only; a visit result only by the assigned worker
    def move(usulan, to: str):
        return client.post(f"/api/v1/usulan/{usulan.reference}/transitions", json.dumps({"to": to}),
                           content_type="application/json", **bearer(token, new_key()))

    assert_error(move(world["usulan_b"], "diajukan_musdes"), 404, "not_found")
    if USULAN_DRAFT in granted:
        assert move(world["usulan_a"], "diajukan_musdes").status_code == 200, role
    else:
        assert_error(move(world["usulan_a"], "diajukan_musdes"), 403, "scope_missing")
    result = client.post(f"{visit_url}/result", json.dumps({"outcome": "pindah", "visited_on": "2026-01-01",
                                                            "photos": []}),
                         content_type="application/json", **bearer(token, new_key()))
    if VISIT_DO in granted:
        assert_error(result, 404, "not_found")
    else:
        assert_error(result, 403, "scope_missing")

    # writes: drafting needs usulan.draft, and only inside the user's regions
    def draft(village: str):
        data = {"kind": "keluarga_baru", "village_code": village, "payload": NEW_FAMILY}
        return client.post("/api/v1/usulan", json.dumps(data), content_type="application/json",
                           **bearer(token, new_key()))

    if USULAN_DRAFT in granted:
        assert draft(VILLAGE_A).status_code == 201, role
        assert_error(draft(VILLAGE_B), 403, "permission_denied")
    else:
        assert_error(draft(VILLAGE_A), 403, "scope_missing")
