"""The Django admin: the register is browsable (with its history) and read-only for everyone; role
assignments are for superusers only."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from dtsen.accounts.models import RoleAssignment
from dtsen.accounts.services import role_assign
from dtsen.registry.crypto import nik_decrypt, nik_mask
from dtsen.registry.history import stamp
from dtsen.registry.models import Condition, Dwelling, Event, ExclusionFlag, Family, FamilyKkNumber, Person

from .conftest import KK_A, KK_B, PASSWORD, VILLAGE_A

pytestmark = pytest.mark.django_db

REGISTRY_MODELS = [Family, Person, Dwelling, Condition, ExclusionFlag, Event, FamilyKkNumber]


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def staff_operator(db):
    """A staff user of village A with the view permissions of the registry models."""
    user = get_user_model().objects.create_user("staf.desa", password=PASSWORD, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="registry", codename__startswith="view_")
    )
    role_assign(user=user, role="operator_desa", region_code=VILLAGE_A)
    return user


@pytest.mark.parametrize("model", REGISTRY_MODELS, ids=lambda m: m.__name__)
def test_changelists_load(admin_client, family_a, model):
    response = admin_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200


def test_admin_index_lists_the_register(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    body = text(response)
    assert "Keluarga" in body
    assert "Individu" in body
    assert "Penugasan peran" in body


def test_family_change_page_is_view_only(admin_client, family_a):
    response = admin_client.get(admin_url(Family, "change", family_a.pk))
    assert response.status_code == 200
    body = text(response)
    assert KK_A in body
    assert 'name="_save"' not in body
    assert 'name="kk_number"' not in body


@pytest.mark.parametrize("model", REGISTRY_MODELS, ids=lambda m: m.__name__)
def test_admin_refuses_add_change_and_delete(admin_client, family_a, model):
    if model is Dwelling:
        dwelling = Dwelling(dwelling_code="D340101200100001", village_code=VILLAGE_A)
        stamp(dwelling, actor=None, channel="system", reason="uji")
        dwelling.save()
    obj = model.objects.first()
    assert admin_client.get(admin_url(model, "add")).status_code == 403
    assert admin_client.post(admin_url(model, "add"), {}).status_code == 403
    assert admin_client.post(admin_url(model, "change", obj.pk), {}).status_code == 403
    assert admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_changelist_has_no_bulk_delete(admin_client, family_a):
    response = admin_client.post(
        admin_url(Family, "changelist"), {"action": "delete_selected", "_selected_action": [family_a.pk]}
    )
    assert Family.objects.filter(pk=family_a.pk).exists()
    assert response.status_code in {200, 302}


def test_history_is_browsable(admin_client, family_with_past):
    family = family_with_past.family
    response = admin_client.get(admin_url(Family, "history", family.pk))
    assert response.status_code == 200
    body = text(response)
    assert "KK baru setelah pecah KK anak" in body
    assert "Pendataan awal Regsosek 2022" in body
    assert "operator.a" in body
    assert "web" in body
    version = family.history.order_by("history_date").first()
    url = reverse("admin:registry_family_simple_history", args=[family.pk, version.history_id])
    response = admin_client.get(url)
    assert response.status_code == 200
    body = text(response)
    assert KK_A in body
    assert "Revert" not in body
    assert "Kembalikan" not in body
    assert 'name="_save"' not in body


def test_history_version_cannot_be_reverted(admin_client, family_with_past):
    family = family_with_past.family
    version = family.history.order_by("history_date").first()
    url = reverse("admin:registry_family_simple_history", args=[family.pk, version.history_id])
    response = admin_client.post(url, {"kk_number": KK_A, "family_code": family.family_code})
    assert response.status_code == 403
    family.refresh_from_db()
    assert family.kk_number != KK_A
    assert family.history.count() == Family.history.filter(id=family.pk).count()


def test_person_admin_masks_the_nik_and_searches_by_codes_kk_and_nik(admin_client, family_a):
    head = Person.objects.get(pk=family_a.head_id)
    nik = nik_decrypt(head.nik_enc)
    response = admin_client.get(admin_url(Person, "changelist"))
    body = text(response)
    assert nik_mask(nik) in body
    assert nik not in body
    assert head.nik_enc not in body
    for term in (head.person_code, family_a.family_code, KK_A, nik):
        response = admin_client.get(admin_url(Person, "changelist"), {"q": term})
        assert response.status_code == 200
        assert head.person_code in text(response), term
    page = text(admin_client.get(admin_url(Person, "change", head.pk)))
    assert nik_mask(nik) in page
    assert nik not in page
    assert head.nik_hash not in page
    history = text(admin_client.get(admin_url(Person, "history", head.pk)))
    assert nik not in history
    assert head.nik_hash not in history


def test_staff_sees_only_their_region(client, staff_operator, family_a, family_b):
    client.force_login(staff_operator)
    body = text(client.get(admin_url(Family, "changelist")))
    assert KK_A in body
    assert KK_B not in body
    assert client.get(admin_url(Family, "history", family_b.pk)).status_code == 404
    version = family_b.history.first()
    url = reverse("admin:registry_family_simple_history", args=[family_b.pk, version.history_id])
    assert client.get(url).status_code == 404
    assert client.get(admin_url(Family, "history", family_a.pk)).status_code == 200
    persons = text(client.get(admin_url(Person, "changelist")))
    assert "BUDI SANTOSO" in persons
    assert "JOKO WIDODO" not in persons


def test_staff_without_role_sees_no_rows(client, family_a):
    user = get_user_model().objects.create_user("staf.tanpa.peran", password=PASSWORD, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="registry", codename="view_family")
    )
    client.force_login(user)
    response = client.get(admin_url(Family, "changelist"))
    assert response.status_code == 200
    assert KK_A not in text(response)


def test_superuser_manages_role_assignments(admin_client, operator_a):
    url = reverse("admin:accounts_roleassignment_add")
    data = {"user": operator_a.pk, "role": "tksk", "region_code": "340101", "active": "on"}
    response = admin_client.post(url, data)
    assert response.status_code == 302
    assignment = RoleAssignment.objects.get(user=operator_a, role="tksk")
    assert assignment.region_code == "34.01.01"  # stored dotted
    data = {"user": operator_a.pk, "role": "psm", "region_code": "99.99", "active": "on"}
    response = admin_client.post(url, data)
    assert response.status_code == 200
    body = text(response)
    assert "tidak ada pada edisi yang berlaku" in body
    assert "does not exist in the current edition" in body
    assert not RoleAssignment.objects.filter(role="psm").exists()


def test_role_assignments_are_for_superusers_only(client, staff_operator):
    client.force_login(staff_operator)
    assert client.get(reverse("admin:accounts_roleassignment_changelist")).status_code == 403
    assert client.get(reverse("admin:accounts_roleassignment_add")).status_code == 403
