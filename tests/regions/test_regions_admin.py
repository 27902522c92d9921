"""Admin: region tables are browsable and read-only."""

import pytest
from django.urls import reverse

from dtsen.regions.models import Edition, Region

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["edition", "region", "regionchange"])
def test_changelists_render(admin_client, model):
    response = admin_client.get(reverse(f"admin:regions_{model}_changelist"))
    assert response.status_code == 200


def test_region_search_and_filters(admin_client):
    url = reverse("admin:regions_region_changelist")
    current = Edition.objects.get(code="2025")
    response = admin_client.get(
        url, {"q": "Kulon Progo", "edition__id__exact": current.pk, "level__exact": "2"}
    )
    assert response.status_code == 200
    assert b"34.01" in response.content
    response = admin_client.get(url, {"q": "34.01.01", "kind__exact": "desa"})
    assert response.status_code == 200
    assert b"Jangkaran" in response.content


def test_nothing_can_be_added_changed_or_deleted(admin_client):
    region = Region.objects.get(edition__code="2025", code="34.01")
    assert admin_client.get(reverse("admin:regions_region_add")).status_code == 403
    assert admin_client.get(reverse("admin:regions_region_delete", args=[region.pk])).status_code == 403
    # The change page shows the record but offers no save
    response = admin_client.get(reverse("admin:regions_region_change", args=[region.pk]))
    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    response = admin_client.post(reverse("admin:regions_region_change", args=[region.pk]), {"name": "X"})
    assert response.status_code == 403
    region.refresh_from_db()
    assert region.name == "Kabupaten Kulon Progo"
