"""The role × region matrix: for every page and API endpoint that touches personal data, a user of each role
inside and outside the region gets exactly what the permission matrix (accounts/permissions.py) says.

Each role is assigned on kecamatan 34.01.01 (Temon), which holds family A's village; family B lives in
34.01.02 (Wates), outside it. 2FA is switched on, and every user has completed it, so only the matrix decides.
"""

import re

import pytest
from django.urls import reverse

from dtsen.accounts.models import Role
from dtsen.accounts.permissions import MATRIX, REGISTRY_VIEW
from dtsen.registry import selectors as sel
from dtsen.registry.crypto import nik_decrypt
from tests.security.conftest import bearer, issue, login_verified, make_user

pytestmark = pytest.mark.django_db

SCOPE = "34.01.01"


def _pages(family, person):
    return [
        reverse("registry:family_detail", args=[family.pk]),
        reverse("registry:family_detail", args=[family.pk]) + "?tab=history",
        reverse("registry:family_detail", args=[family.pk]) + "?as_of=2026-01-01",
        reverse("registry:person_detail", args=[person.pk]),
    ]


@pytest.fixture(autouse=True)
def _two_factor_on(settings):
    settings.TWO_FACTOR_ENFORCED = True


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_pages_follow_the_matrix(client, role, family_a, family_b):
    user = make_user(f"u-{role}", (role, SCOPE))
    login_verified(client, user)
    can_view = REGISTRY_VIEW in MATRIX[role]
    inside = _pages(family_a, family_a.head)
    outside = _pages(family_b, family_b.head)
    for url in inside:
        status = client.get(url).status_code
        assert status == (200 if can_view else 403), (role, url, status)
    for url in outside:
        status = client.get(url).status_code
        assert status == (404 if can_view else 403), (role, url, status)
    listing = client.get(reverse("registry:family_list"))
    if can_view:
        body = listing.content.decode()
        assert listing.status_code == 200
        assert family_a.family_code in body
        assert family_b.family_code not in body
    else:
        assert listing.status_code == 403


@pytest.mark.parametrize("role", [r.value for r in Role if REGISTRY_VIEW in MATRIX[r.value]])
def test_api_follows_the_matrix(client, role, family_a, family_b, superuser):
    user = make_user(f"api-{role}", (role, SCOPE))
    secret = issue(user, actor=superuser).secret
    ok = client.get(f"/api/v1/families/{family_a.family_code}", **bearer(secret))
    assert ok.status_code == 200, (role, ok.content)
    assert client.get(f"/api/v1/families/{family_b.family_code}", **bearer(secret)).status_code == 404
    nik_b = nik_decrypt(family_b.head.nik_enc)
    found = client.get("/api/v1/persons", HTTP_X_NIK=nik_b, **bearer(secret))
    assert found.status_code == 200
    assert found.json() == {"count": 0, "results": []}  # a person outside the region does not exist for them
    nik_a = nik_decrypt(family_a.head.nik_enc)
    own = client.get("/api/v1/persons", HTTP_X_NIK=nik_a, **bearer(secret)).json()
    assert own["count"] == 1


@pytest.mark.parametrize("role", [r.value for r in Role if REGISTRY_VIEW not in MATRIX[r.value]])
def test_roles_without_view_cannot_get_a_reading_token(role, superuser):
    from dtsen.core.errors import ApplicationError

    user = make_user(f"nv-{role}", (role, SCOPE))
    with pytest.raises(ApplicationError):
        issue(user, actor=superuser)


def test_operator_of_village_a_cannot_reach_village_b_by_any_id_or_parameter(client, family_a, family_b):
    user = make_user("op-a", (Role.OPERATOR_DESA, "34.01.01.2001"))
    login_verified(client, user)
    members_b = sel.family_members(actor=make_user("root-view", (Role.PUSDATIN, "")), family=family_b)
    for url in [
        *_pages(family_b, members_b[0]),
        *[reverse("registry:person_detail", args=[m.pk]) for m in members_b],
        reverse("registry:family_list") + f"?q={family_b.family_code}",
        reverse("registry:family_list") + f"?q={family_b.kk_number}",
        reverse("registry:family_list") + f"?q={nik_decrypt(members_b[0].nik_enc)}",
        reverse("registry:family_list") + "?region=34.01.02",
    ]:
        response = client.get(url)
        # what the user typed is echoed in form values (search box, language switch "next"): ignore those
        body = re.sub(r'value="[^"]*"', "", response.content.decode())
        assert f"/families/{family_b.pk}/" not in body, url
        assert family_b.kk_number not in body, url
        assert family_b.family_code not in body, url
        assert response.status_code in (200, 404), url
