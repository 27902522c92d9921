"""An eligibility run over a small synthetic register: every candidate has an outcome and, when not selected,
a reason; a past run is reproducible with its stored rules after the rules change."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from dtsen.accounts.services import system_actor
from dtsen.programs import services as svc
from dtsen.programs.models import EligibilityResult, Outcome
from dtsen.programs.rules import rules_default
from dtsen.ranking import services as ranking
from tests.ranking import conftest_run as fx

pytestmark = pytest.mark.django_db
synth_dir = fx.synth_dir
work_dir = fx.work_dir


@pytest.fixture
def ranked(synth_dir, work_dir):
    fx.registry_load(synth_dir, limit=400)
    return ranking.ranking_run(actor=system_actor(), period="2026-Q4", cutoff=timezone.localdate(),
                               work_dir=work_dir)


def _rows(run) -> list[tuple]:
    return list(EligibilityResult.objects.filter(run=run).order_by("program", "family_id", "person_id").values_list(
        "program", "family_id", "person_id", "outcome", "reason", "queue_no", "waiting_no", "amount", "components"))


def test_run_decides_every_candidate(ranked, work_dir):
    run = svc.eligibility_run(actor=system_actor(), period="2026-T4", as_of=timezone.localdate(), work_dir=work_dir)
    assert run.status == "finished"
    assert run.counts["rows"] == EligibilityResult.objects.filter(run=run).count() > 0
    rows = EligibilityResult.objects.filter(run=run)
    assert not rows.filter(outcome=Outcome.NOT_SELECTED, reason="").exists()
    assert not rows.filter(outcome=Outcome.SELECTED).exclude(reason="").exists()
    pkh = rows.filter(program="pkh")
    assert set(pkh.values_list("desil", flat=True)) <= {1, 2, 3, 4}
    assert pkh.filter(outcome=Outcome.SELECTED, amount__gt=0).exists()


def test_past_run_reproducible_after_rule_change(ranked, work_dir):
    actor = system_actor()
    first = svc.eligibility_run(actor=actor, period="2026-T4", as_of=timezone.localdate(), work_dir=work_dir)
    changed = json.loads(rules_default().text)
    changed["edition"] = "kepmensos-uji-2026"
    for p in changed["programs"]:
        if p["code"] == "pkh":
            p["desil_max"] = 3
    svc.rule_edition_add(actor=actor, text=json.dumps(changed), valid_from=timezone.localdate(),
                         reason="PKH desil 1-3 (uji)")
    assert svc.rules_in_force(timezone.localdate()).program("pkh").desil_max == 3
    again = svc.eligibility_rerun(actor=actor, run=first, work_dir=work_dir)
    assert again.rules_sha256 == first.rules_sha256
    assert again.input_sha256 == first.input_sha256
    assert [r[:] for r in _rows(again)] == _rows(first)
    new = svc.eligibility_run(actor=actor, period="2026-T4", as_of=timezone.localdate(), work_dir=work_dir)
    assert not EligibilityResult.objects.filter(run=new, program="pkh", desil=4).exists()
