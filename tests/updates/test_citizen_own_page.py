"""The citizen's own family page shows the family's program memberships, payments and pending submissions, with
the buttons of the participation channel; another family's page does not."""

from __future__ import annotations

import datetime as dt

import pytest

from dtsen.programs.models import Membership
from dtsen.updates import submissions as sub

pytestmark = pytest.mark.django_db


def test_own_page_lists_programs_and_submissions(client, active, family_a):
    Membership.objects.create(family=family_a, program="pkh", status="aktif", since=dt.date(2026, 1, 15))
    item = sub.own_correction(actor=active.user, description="Atap bocor")
    client.force_login(active.user)
    body = client.get(f"/warga/keluarga/{family_a.pk}/").content.decode()
    assert "PKH" in body
    assert item.reference in body
    for url in ("/warga/pengajuan/usul/", "/warga/pengajuan/sanggah/", "/warga/pengajuan/perbaikan/", "/warga/unduh/"):
        assert f'href="{url}"' in body, url
