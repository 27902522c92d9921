"""The permission matrix is data, documented in docs/security.md, and the scope rules hold."""

import importlib.util
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from dtsen.accounts.models import Role
from dtsen.accounts.permissions import MATRIX, REGISTRY_CHANGE, REGISTRY_VIEW
from dtsen.accounts.selectors import scope_for
from dtsen.accounts.services import role_assign, role_revoke

ROOT = Path(__file__).resolve().parents[2]


def test_every_role_is_in_the_matrix():
    assert set(MATRIX) == {r.value for r in Role}


def test_security_doc_shows_the_current_matrix():
    spec = importlib.util.spec_from_file_location(
        "render_permissions", ROOT / "scripts" / "render_permissions.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (ROOT / "docs" / "security.md").read_text()
    assert module.rendered(text) == text, "run scripts/render_permissions.py"


@pytest.mark.django_db
def test_scope_covers_subtree_only_for_the_granted_permission():
    user = get_user_model().objects.create_user("pendamping")
    role_assign(user=user, role=Role.PENDAMPING_PKH, region_code="34.01.01")
    view = scope_for(user, REGISTRY_VIEW)
    assert view.covers("34.01.01.2001")
    assert view.covers("34.01.01")
    assert not view.covers("34.01.010")  # a prefix of digits is not a subtree
    assert not view.covers("34.01.02.2001")
    assert scope_for(user, REGISTRY_CHANGE).empty


@pytest.mark.django_db
def test_national_and_nested_assignments():
    user = get_user_model().objects.create_user("analis")
    role_assign(user=user, role=Role.OPERATOR_DESA, region_code="34.01.01.2001")
    role_assign(user=user, role=Role.DINSOS_VERIFIER, region_code="34.01")
    scope = scope_for(user, REGISTRY_CHANGE)
    assert scope.prefixes == ("34.01",)  # the village is inside the kabupaten: one root
    role_assign(user=user, role=Role.AUDITOR, region_code="")
    assert scope_for(user, REGISTRY_VIEW).national
    assert not scope_for(user, REGISTRY_CHANGE).national


@pytest.mark.django_db
def test_inactive_user_and_inactive_assignment_see_nothing():
    user = get_user_model().objects.create_user("lama")
    assignment = role_assign(user=user, role=Role.OPERATOR_DESA, region_code="34.01.01.2001")
    role_revoke(assignment=assignment, reason="pindah tugas")
    assert scope_for(user, REGISTRY_VIEW).empty
    user.is_active = False
    user.save()
    role_assign(user=user, role=Role.OPERATOR_DESA, region_code="34.01.01.2001")
    assert scope_for(user, REGISTRY_VIEW).empty
