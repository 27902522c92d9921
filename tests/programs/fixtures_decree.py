"""Fixtures of the decree, disbursement and BNBA tests: a small synthetic register of Kulon Progo (34.01),
ranked and decided (one eligibility run), and users of the roles that ratify, disburse and view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from dtsen.accounts.services import role_assign, system_actor
from dtsen.programs import services as svc
from dtsen.programs.models import EligibilityResult, EligibilityRun, Outcome
from dtsen.ranking import services as ranking
from tests.ranking import conftest_run as fx

REGENCY = "34.01"  # Kulon Progo: every synthetic family lives here
OTHER_REGENCY = "34.02"  # Bantul
FAMILIES = 250
PASSWORD = "rahasia-sekali-123"

synth_dir = fx.synth_dir
work_dir = fx.work_dir


def user_with(username: str, role: str, region: str) -> Any:
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    role_assign(user=user, role=role, region_code=region)
    return user


@pytest.fixture
def ranked(synth_dir: Path, work_dir: Path) -> Any:
    fx.registry_load(synth_dir, limit=FAMILIES)
    return ranking.ranking_run(actor=system_actor(), period="2026-Q1", cutoff=timezone.localdate(),
                               work_dir=work_dir)


@pytest.fixture
def run(ranked: Any, work_dir: Path) -> EligibilityRun:
    return svc.eligibility_run(actor=system_actor(), period="2026-T1", as_of=timezone.localdate(), work_dir=work_dir)


@pytest.fixture
def ratifier(db: None) -> Any:
    return user_with("kadinsos.kp", "ratifier", REGENCY)


@pytest.fixture
def ratifier_other(db: None) -> Any:
    return user_with("kadinsos.bantul", "ratifier", OTHER_REGENCY)


@pytest.fixture
def dinsos(db: None) -> Any:
    return user_with("dinsos.kp", "dinsos_verifier", REGENCY)


@pytest.fixture
def dinsos_other(db: None) -> Any:
    return user_with("dinsos.bantul", "dinsos_verifier", OTHER_REGENCY)


def selected(run: EligibilityRun, program: str = "pkh") -> Any:
    return EligibilityResult.objects.filter(run=run, program=program, outcome=Outcome.SELECTED)


def busiest_village(run: EligibilityRun, program: str = "pkh") -> str:
    """The village with the most selected families of the program (the BNBA list to export)."""
    counts: dict[str, int] = {}
    for code in selected(run, program).values_list("village_code", flat=True):
        counts[code] = counts.get(code, 0) + 1
    return max(sorted(counts), key=lambda c: counts[c])
