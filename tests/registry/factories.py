"""Builders of realistic registry data for tests (real Kulon Progo villages, NIKs that parse)."""

import datetime as dt
from decimal import Decimal

from dtsen.registry import choices as c
from dtsen.registry.nik import nik_build
from dtsen.registry.services import ConditionData, PersonData

VILLAGE_A = "34.01.01.2001"  # a desa in Temon, Kulon Progo
VILLAGE_B = "34.01.02.2001"  # a desa in Wates, Kulon Progo


def person(kec: str, born: dt.date, sex: str, serial: int, name: str, rel: str, **kw) -> PersonData:
    return PersonData(
        nik=nik_build(kecamatan_code=kec, birth_date=born, sex=sex, serial=serial),
        name=name,
        sex=sex,
        birth_date=born,
        relationship=rel,
        **kw,
    )


def household(serial0: int = 1, kec: str = "34.01.01") -> tuple[PersonData, list[PersonData]]:
    head = person(
        kec,
        dt.date(1980, 5, 12),
        "L",
        serial0,
        "Budi Santoso",
        c.Relationship.HEAD,
        marital_status=c.MaritalStatus.MARRIED,
        education=c.Education.SD,
        sector=c.Sector.AGRICULTURE,
        employment_type=c.EmploymentType.INFORMAL,
    )
    wife = person(
        kec,
        dt.date(1984, 2, 29),
        "P",
        serial0,
        "Siti Aminah",
        c.Relationship.SPOUSE,
        marital_status=c.MaritalStatus.MARRIED,
        education=c.Education.SMP,
    )
    child = person(
        kec,
        dt.date(2012, 7, 1),
        "P",
        serial0,
        "Dewi Lestari",
        c.Relationship.CHILD,
        school_level=c.SchoolLevel.SMP,
        education=c.Education.SD,
    )
    return head, [wife, child]


def condition(**kw) -> ConditionData:
    base = dict(  # noqa: C408 - keyword form reads like the dataclass
        observed_on=dt.date(2025, 3, 1),
        tenure=c.HousingTenure.OWNED,
        floor_area_m2=Decimal("36.0"),
        floor_material=c.FloorMaterial.EARTH,
        wall_material=c.WallMaterial.WOVEN_BAMBOO,
        roof_material=c.RoofMaterial.CLAY_TILE,
        toilet=c.Toilet.SHARED,
        drinking_water=c.DrinkingWater.PROTECTED_WELL,
        lighting=c.Lighting.PLN_METER,
        cooking_fuel=c.CookingFuel.FIREWOOD,
        power_va=450,
        assets={"motorcycle", "mobile_phone"},
    )
    base.update(kw)
    return ConditionData(**base)
