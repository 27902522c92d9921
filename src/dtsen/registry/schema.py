"""The bulk exchange format: one table per entity, CSV (UTF-8, header row, comma) or Parquet.

This module is the single definition used by the importer, the exporter and the synthetic population,
and rendered in docs/import-format.md. A row is identified by its code column (`family_code`,
`person_code`, ...), so importing the same file twice changes nothing and a changed row becomes a new
version. Values of coded columns are the codes of `dtsen.registry.choices`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dtsen.registry import choices as c


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # "str", "int", "float", "bool", "date"
    required: bool = True
    choices: tuple[str, ...] | None = None
    doc: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    key: str
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def names(self) -> list[str]:
        return [col.name for col in self.columns]


def _codes(choices: type) -> tuple[str, ...]:
    return tuple(str(v) for v in choices.values)  # type: ignore[attr-defined]


FAMILIES = Table(
    "families",
    "family_code",
    (
        Column("family_code", "str", doc="Stable registry id of the family (ID keluarga)."),
        Column("kk_number", "str", doc="Current No. KK, 16 digits."),
        Column("village_code", "str", doc="Kemendagri desa/kelurahan code, e.g. 34.01.01.2001."),
        Column("rw", "str", required=False, doc="RW (SLS)."),
        Column("rt", "str", required=False, doc="RT (SLS)."),
        Column("address", "str", required=False, doc="Street address."),
        Column(
            "dwelling_code",
            "str",
            required=False,
            doc="Dwelling (building) id; several families may share one.",
        ),
        Column("building_no", "int", required=False, doc="Regsosek code 109: building serial in the SLS."),
        Column("family_no", "int", required=False, doc="Regsosek code 110: family serial in the building."),
        Column("latitude", "float", required=False, doc="Dwelling geotag latitude (WGS84)."),
        Column("longitude", "float", required=False, doc="Dwelling geotag longitude (WGS84)."),
        Column("head_person_code", "str", doc="person_code of the head of family (must be a member)."),
        Column(
            "pengurus_person_code", "str", required=False, doc="person_code of the aid recipient (a member)."
        ),
        Column(
            "kk_previous", "str", required=False, doc="Earlier KK numbers, separated by '|' (oldest first)."
        ),
    ),
)

PERSONS = Table(
    "persons",
    "person_code",
    (
        Column("person_code", "str", doc="Stable registry id of the person."),
        Column("family_code", "str", doc="The family the person belongs to now."),
        Column("nik", "str", doc="NIK, 16 digits, structurally valid (see docs)."),
        Column("name", "str", doc="Full name as on the KTP/KK."),
        Column("sex", "str", choices=_codes(c.Sex), doc="L or P."),
        Column("birth_date", "date", doc="YYYY-MM-DD."),
        Column("birth_place", "str", required=False),
        Column("relationship", "str", choices=_codes(c.Relationship)),
        Column("marital_status", "str", choices=_codes(c.MaritalStatus)),
        Column("education", "str", choices=_codes(c.Education), doc="Highest level completed."),
        Column("school_level", "str", choices=_codes(c.SchoolLevel), doc="Current enrolment."),
        Column("sector", "str", choices=_codes(c.Sector)),
        Column("employment_type", "str", choices=_codes(c.EmploymentType)),
        Column("occupation", "str", required=False),
        Column("disability", "str", choices=_codes(c.Disability)),
        Column("disability_severity", "str", choices=_codes(c.DisabilitySeverity)),
        Column("pregnant", "bool"),
        Column("life_status", "str", choices=_codes(c.LifeStatus)),
        Column("death_date", "date", required=False),
        Column("death_source", "str", required=False, choices=_codes(c.DeathSource)),
    ),
)

CONDITIONS = Table(
    "conditions",
    "family_code",
    (
        Column("family_code", "str"),
        Column("observed_on", "date", doc="Date of the observation (interview)."),
        Column("source_ref", "str", required=False, doc="Reference of the source document or survey."),
        Column("officer", "str", required=False, doc="Enumerator or officer name."),
        Column("tenure", "str", choices=_codes(c.HousingTenure)),
        Column("floor_area_m2", "float"),
        Column("floor_material", "str", choices=_codes(c.FloorMaterial)),
        Column("wall_material", "str", choices=_codes(c.WallMaterial)),
        Column("roof_material", "str", choices=_codes(c.RoofMaterial)),
        Column("toilet", "str", choices=_codes(c.Toilet)),
        Column("drinking_water", "str", choices=_codes(c.DrinkingWater)),
        Column("lighting", "str", choices=_codes(c.Lighting)),
        Column("power_va", "int", required=False),
        Column("cooking_fuel", "str", choices=_codes(c.CookingFuel)),
        Column("received_credit", "bool"),
        *(
            Column(f"asset_{name}", "bool", doc=f"{label_id} / {label_en}")
            for name, label_id, label_en in c.ASSETS
        ),
    ),
)

EXCLUSIONS = Table(
    "exclusions",
    "person_code",
    (
        Column("person_code", "str"),
        Column("category", "str", choices=_codes(c.ExclusionCategory)),
        Column("source", "str", choices=_codes(c.ExclusionSource)),
        Column("source_ref", "str", required=False),
        Column("observed_on", "date"),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (FAMILIES, PERSONS, CONDITIONS, EXCLUSIONS)}
