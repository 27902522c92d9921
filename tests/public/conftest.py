"""Fixtures of the Cek Bansos tests: two families in a desa of Temon (Kulon Progo) registered through the registry
services; Budi Santoso's family is an active PKH member, Budi Hartono's PKH membership ended."""

from __future__ import annotations

import datetime as dt

import pytest

from dtsen.accounts.services import system_actor
from dtsen.programs.models import Membership, MembershipStatus
from dtsen.registry import choices as c
from dtsen.registry.models import Family
from dtsen.registry.services import family_register
from tests.registry.factories import VILLAGE_A, condition, person

SITI_NIK_SERIAL = 11


@pytest.fixture(autouse=True)
def _public_settings(settings):
    settings.ROOT_URLCONF = "tests.public.urls"
    settings.CAPTCHA_TEST_MODE = True


def _register(kk: str, head, members, *, address: str) -> Family:
    return family_register(
        actor=system_actor(), channel=c.Channel.REGSOSEK, reason="Pendataan awal Regsosek 2022", kk_number=kk,
        village_code=VILLAGE_A, head=head, members=members, rw="03", rt="011", address=address,
        condition=condition(), registered_on=dt.date(2015, 3, 12),
    )


@pytest.fixture
def recipient(db) -> Family:
    head = person("34.01.01", dt.date(1980, 5, 12), "L", 11, "Budi Santoso", c.Relationship.HEAD,
                  marital_status=c.MaritalStatus.MARRIED)
    wife = person("34.01.01", dt.date(1984, 2, 29), "P", 12, "Siti Nurhaliza", c.Relationship.SPOUSE,
                  marital_status=c.MaritalStatus.MARRIED)
    family = _register("3401012001250001", head, [wife], address="Dusun Sidorejo")
    Membership.objects.create(family=family, program="pkh", status=MembershipStatus.ACTIVE,
                              since=dt.date(2024, 3, 1))
    Membership.objects.create(family=family, program="bpnt", status=MembershipStatus.ACTIVE,
                              since=dt.date(2025, 1, 1))
    return family


@pytest.fixture
def former(db) -> Family:
    head = person("34.01.01", dt.date(1970, 1, 3), "L", 13, "Budi Hartono", c.Relationship.HEAD)
    family = _register("3401012001250003", head, [], address="Dusun Krajan")
    Membership.objects.create(family=family, program="pkh", status=MembershipStatus.DEACTIVATED,
                              since=dt.date(2020, 1, 1))
    return family
