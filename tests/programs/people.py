"""Builders for the membership and empowerment tests: staff with a role in a region, families registered
through the registry services (Kulon Progo: VILLAGE_A in Temon, VILLAGE_B in Wates), memberships, runs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from dtsen.accounts.services import role_assign, system_actor
from dtsen.programs.models import EligibilityResult, EligibilityRun, Membership, MembershipStatus, RunStatus
from dtsen.ranking.models import RankingRun
from dtsen.registry import choices as c
from dtsen.registry.models import Family
from dtsen.registry.services import family_register
from tests.registry.factories import VILLAGE_A, VILLAGE_B, household

__all__ = ["VILLAGE_A", "VILLAGE_B", "eligibility_run", "membership", "register", "staff"]
PASSWORD = "kata-sandi-staf-2025"


def staff(username: str, role: str, region: str) -> Any:
    user = get_user_model().objects.create_user(username, password=PASSWORD, first_name=username)
    role_assign(user=user, role=role, region_code=region, reason="uji / test")
    return user


def register(serial: int, village: str = VILLAGE_A) -> Family:
    """A family of three (head, wife as pengurus, a daughter in SMP), registered through the services."""
    kec = village.rsplit(".", 1)[0]
    head, members = household(serial, kec=kec)
    return family_register(actor=system_actor(), channel=c.Channel.REGSOSEK, reason="Pendataan uji",
                           kk_number=village.replace(".", "")[:10] + f"26{serial:04d}", village_code=village,
                           head=head, members=members)


def membership(family: Family, program: str = "pkh", status: str = MembershipStatus.ACTIVE,
               reason: str = "") -> Membership:
    return Membership.objects.create(family=family, program=program, status=status, reason=reason,
                                     since=dt.date(2025, 1, 15))


def eligibility_run(results: list[tuple[Family, str, str, str]], *, simulation: bool = False) -> EligibilityRun:
    """A finished run with the given (family, program, outcome, reason) rows."""
    ranking = RankingRun.objects.create(period="2026-Q1", cutoff=timezone.localdate(), frozen_at=timezone.now(),
                                        engine="duckdb", model_id="uji", model_sha256="0" * 64, model_artefact={},
                                        status="finished", finished_at=timezone.now())
    run = EligibilityRun.objects.create(period="2026-T1", as_of=timezone.localdate(), ranking_run=ranking,
                                        edition="uji", rules_text="{}", rules_sha256="0" * 64, simulation=simulation,
                                        status=RunStatus.FINISHED, created_by=system_actor(),
                                        finished_at=timezone.now())
    for fam, program, outcome, reason in results:
        EligibilityResult.objects.create(run=run, program=program, family=fam, region_code=fam.village_code[:5],
                                         village_code=fam.village_code, desil=2, percentile=Decimal("15.0"),
                                         outcome=outcome, reason=reason)
    return run
