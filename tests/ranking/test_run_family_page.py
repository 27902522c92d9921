"""The staff family page shows the family's desil, its ranking period and why ("lantai ...: −0.12"), and marks
a desil computed after the run as provisional."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from dtsen.ranking import services as svc
from dtsen.ranking.models import RankingResult
from dtsen.registry import choices as c
from dtsen.registry import services as reg
from tests.ranking import conftest_run as fx
from tests.registry.factories import condition

pytestmark = pytest.mark.django_db

ranker = fx.ranker
registrar = fx.registrar
synth_dir = fx.synth_dir
work_dir = fx.work_dir


def _desil_section(client, family) -> str:
    body = client.get(f"/families/{family.pk}/").content.decode()
    match = re.search(r'id="h-desil".*?</section>', body, re.S)
    assert match is not None, "no desil section"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(0)).split())


def test_family_page_explains_the_desil(client, ranker, registrar, synth_dir, work_dir):
    fx.registry_load(synth_dir, limit=200)
    family = fx.family_register(registrar, serial=921)
    before = client
    before.force_login(registrar)
    assert "h-desil" not in before.get(f"/families/{family.pk}/").content.decode()  # no run yet: no card

    run = svc.ranking_run(actor=ranker, period="2026-Q4", cutoff=timezone.localdate(), work_dir=work_dir)
    stored = RankingResult.objects.get(run=run, family=family)
    text = _desil_section(client, family)
    assert f"Desil {stored.desil}" in text
    assert "2026-Q4" in text
    assert "sementara" not in text
    assert re.search(r": [+−]\d\.\d\d", text), text  # contribution lines like "lantai tanah: −0.12"

    reg.condition_record(actor=registrar, family=family, channel=c.Channel.GROUND_CHECK,
                         data=condition(observed_on=timezone.localdate()))  # fmt: skip
    assert "sementara sampai pemeringkatan berikutnya" in _desil_section(client, family)
