"""The staff page at /pertukaran/: registry.bulk holders see exports, schedules and imports and download files
(audited); other staff are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from dtsen.audit.models import AuditRecord
from dtsen.exchange import services as svc
from dtsen.ranking.models import RankingRun
from tests.exchange import fixtures as fx

pytestmark = pytest.mark.django_db

synth_dir = fx.synth_dir
work_dir = fx.work_dir
ranked = fx.ranked
pusdatin = fx.pusdatin
dinsos = fx.dinsos


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_bulk_holder_lists_and_downloads(ranked: RankingRun, pusdatin: Any, tmp_path: Path) -> None:
    record = svc.export_ranking(actor=pusdatin, run_id=ranked.pk, out_dir=tmp_path / "out", formats=["csv"])
    client = _client(pusdatin)
    page = client.get(reverse("exchange:index"))
    assert page.status_code == 200
    name = record.files[0]["name"]
    assert name in page.content.decode()
    response = client.get(reverse("exchange:download", args=[record.pk, name]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (Path(record.directory) / name).read_bytes()
    assert AuditRecord.objects.filter(action="exportrecord.download", object_id=str(record.pk)).count() == 1
    assert client.get(f"/pertukaran/ekspor/{record.pk}/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert client.get(reverse("exchange:download", args=[record.pk, "other.csv"])).status_code == 404


def test_other_staff_are_refused(ranked: RankingRun, pusdatin: Any, dinsos: Any, tmp_path: Path) -> None:
    record = svc.export_ranking(actor=pusdatin, run_id=ranked.pk, out_dir=tmp_path / "out")
    client = _client(dinsos)
    assert client.get(reverse("exchange:index")).status_code == 403
    assert client.get(reverse("exchange:download", args=[record.pk, "manifest.json"])).status_code == 403
    assert Client().get(reverse("exchange:index")).status_code == 302
