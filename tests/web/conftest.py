"""Fixtures of the web tests: staff users and families registered through the services (regions are loaded
for the whole session by tests/conftest.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from dtsen.accounts.services import role_assign, system_actor
from dtsen.registry import choices as c
from dtsen.registry.models import Condition, Event, Family, FamilyKkNumber, Person
from dtsen.registry.nik import nik_build
from dtsen.registry.services import (
    ConditionData,
    PersonData,
    condition_record,
    exclusion_flag_add,
    family_change_kk,
    family_register,
    person_update,
)

PASSWORD = "kata-sandi-uji-2025"
VILLAGE_A = "34.01.01.2001"  # Jangkaran, Temon, Kulon Progo
VILLAGE_B = "34.01.02.2001"  # a desa in Wates, Kulon Progo
KK_A = "3401012001250001"
KK_A_NEW = "3401012001250099"
KK_B = "3401022001250002"


def person(
    born: dt.date, sex: str, serial: int, name: str, rel: str, kec: str = "34.01.01", **kw
) -> PersonData:
    nik = nik_build(kecamatan_code=kec, birth_date=born, sex=sex, serial=serial)
    return PersonData(nik=nik, name=name, sex=sex, birth_date=born, relationship=rel, **kw)


def condition(**kw) -> ConditionData:
    base = {
        "observed_on": dt.date(2025, 3, 1), "tenure": c.HousingTenure.OWNED, "floor_area_m2": Decimal("36.0"),
        "floor_material": c.FloorMaterial.EARTH, "wall_material": c.WallMaterial.WOVEN_BAMBOO,
        "roof_material": c.RoofMaterial.CLAY_TILE, "toilet": c.Toilet.SHARED,
        "drinking_water": c.DrinkingWater.PROTECTED_WELL, "lighting": c.Lighting.PLN_METER,
        "cooking_fuel": c.CookingFuel.FIREWOOD, "power_va": 450, "assets": {"motorcycle", "mobile_phone"},
        "officer": "Sri Wahyuni",
    }
    base.update(kw)
    return ConditionData(**base)


def register_family(*, village: str, kk: str, serial: int, head_name: str, kec: str) -> Family:
    head = person(dt.date(1980, 5, 12), "L", serial, head_name, c.Relationship.HEAD, kec=kec,
                  marital_status=c.MaritalStatus.MARRIED, education=c.Education.SD,
                  sector=c.Sector.AGRICULTURE, employment_type=c.EmploymentType.INFORMAL, occupation="Petani",
                  birth_place="Kulon Progo")
    wife = person(dt.date(1990, 2, 20), "P", serial, "Siti Aminah", c.Relationship.SPOUSE, kec=kec,
                  marital_status=c.MaritalStatus.MARRIED, education=c.Education.SMP, pregnant=True)
    child = person(dt.date(2012, 7, 1), "P", serial + 1, "Dewi Lestari", c.Relationship.CHILD, kec=kec,
                   school_level=c.SchoolLevel.SMP, education=c.Education.SD,
                   disability=c.Disability.SENSORY, disability_severity=c.DisabilitySeverity.MILD)
    return family_register(
        actor=system_actor(), channel=c.Channel.REGSOSEK, reason="Pendataan awal Regsosek 2022",
        kk_number=kk, village_code=village, head=head, members=[wife, child], rw="03", rt="011",
        address="Dusun Sidorejo", condition=condition(),
    )


@dataclass
class PastFamily:
    family: Family
    before: dt.date  # a day when the family had its first KK number and first condition
    after: dt.date  # the day of the changes


def backdate(family: Family, days: int) -> None:
    """Move every version, snapshot and event of the family `days` into the past (tests only)."""
    shift = dt.timedelta(days=days)
    for row in Family.history.filter(id=family.pk):
        Family.history.filter(pk=row.pk).update(history_date=row.history_date - shift)
    for row in Person.history.filter(family_id=family.pk):
        Person.history.filter(pk=row.pk).update(history_date=row.history_date - shift)
    for cond in Condition.objects.filter(family=family):
        Condition.objects.filter(pk=cond.pk).update(recorded_at=cond.recorded_at - shift)
    for ev in Event.objects.filter(family=family):
        Event.objects.filter(pk=ev.pk).update(
            recorded_at=ev.recorded_at - shift, event_date=ev.event_date - shift
        )
    FamilyKkNumber.objects.filter(family=family).update(valid_from=timezone.localdate() - shift)


@pytest.fixture
def operator_a(db):
    user = get_user_model().objects.create_user("operator.a", password=PASSWORD, first_name="Operator A")
    role_assign(user=user, role="operator_desa", region_code=VILLAGE_A)
    return user


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("pusat", "pusat@example.id", PASSWORD)


@pytest.fixture
def staff_without_role(db):
    return get_user_model().objects.create_user("tamu", password=PASSWORD, is_staff=True)


@pytest.fixture
def family_a(db) -> Family:
    family = register_family(village=VILLAGE_A, kk=KK_A, serial=101, head_name="Budi Santoso", kec="34.01.01")
    child = Person.objects.get(family=family, relationship=c.Relationship.CHILD)
    exclusion_flag_add(actor=system_actor(), person=child, category=c.ExclusionCategory.VILLAGE_OFFICIAL,
                       source=c.ExclusionSource.FIELD, observed_on=dt.date(2025, 2, 1),
                       channel=c.Channel.GROUND_CHECK,
                       reason="Temuan verifikasi lapangan")
    return family


@pytest.fixture
def family_b(db) -> Family:
    return register_family(village=VILLAGE_B, kk=KK_B, serial=201, head_name="Joko Widodo", kec="34.01.02")


@pytest.fixture
def family_with_past(family_a: Family, operator_a) -> PastFamily:
    """Family A registered 60 days ago; today an operator changed its KK number, corrected the head's
    education at a village meeting and recorded a new condition snapshot."""
    backdate(family_a, 60)
    family_change_kk(actor=operator_a, family=family_a, kk_number=KK_A_NEW, valid_from=timezone.localdate(),
                     channel=c.Channel.WEB, reason="KK baru setelah pecah KK anak")
    head = Person.objects.get(pk=family_a.head_id)
    person_update(actor=operator_a, person=head, channel=c.Channel.MUSDES, reason="Koreksi hasil musdes",
                  education=c.Education.SMP)
    condition_record(actor=operator_a, family=family_a, channel=c.Channel.GROUND_CHECK,
                     data=condition(observed_on=timezone.localdate(), floor_material=c.FloorMaterial.CEMENT,
                                    assets={"motorcycle", "mobile_phone", "refrigerator"}))
    family_a.refresh_from_db()
    today = timezone.localdate()
    return PastFamily(family=family_a, before=today - dt.timedelta(days=30), after=today)
