"""Our families and persons in the standard's record shapes (`reg_records`): a family is a `Group`
(DCI social registry data object DO.SR.02, with `group_head_info` and `member_list` of `Member`s), a person
an `SRPerson` (DO.SR.01), as in the standard's examples (processflow1-1res, processflow2res).

Identifiers: a person carries `NIK` and our `PERSON_CODE`; a family `KK` (the No. KK) and our `FAMILY_CODE`.
The NIK and the KK number are given in full only to partners registered with `may_see_nik`; every other
partner gets them masked like the staff pages show them (340101******0012), and matches on the codes.
`poverty_score` is the family's desil in the latest ranking run (1 = the poorest tenth of the population,
10 = the richest; `poverty_score_type` says so), null when the family was not ranked.
"""

from __future__ import annotations

from typing import Any

from dtsen.dci.selectors import SearchPage
from dtsen.ranking.models import RankingRun
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_decrypt, nik_mask
from dtsen.registry.models import Family, Person

CONTEXT = {
    "@vocab": "https://schema.spdci.org/extensions/social/v1",
    "common": "https://schema.spdci.org/common/v1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
SEX: dict[str, str] = {c.Sex.MALE: "male", c.Sex.FEMALE: "female"}
MARITAL: dict[str, str] = {
    c.MaritalStatus.SINGLE: "single",
    c.MaritalStatus.MARRIED: "married",
    c.MaritalStatus.DIVORCED: "divorced",
    c.MaritalStatus.WIDOWED: "widowed",
}
RELATIONSHIP: dict[str, str] = {
    c.Relationship.HEAD: "self",
    c.Relationship.SPOUSE: "spouse",
    c.Relationship.CHILD: "child",
    c.Relationship.CHILD_IN_LAW: "child_in_law",
    c.Relationship.GRANDCHILD: "grandchild",
    c.Relationship.PARENT: "parent",
    c.Relationship.OTHER_RELATIVE: "other_relative",
    c.Relationship.OTHER: "other",
}


def _identifier(kind: str, value: str) -> dict[str, str]:
    return {"@type": "Identifier", "identifier_type": kind, "identifier_value": value}


def _number(value: str, full: bool) -> str:
    return value if full else nik_mask(value)


def poverty_score_type(run: RankingRun | None) -> str:
    period = f" {run.period}" if run is not None else ""
    return f"desil{period} (DTSEN national welfare decile: 1 = poorest 10%, 10 = richest 10%)"


def _address(family: Family) -> dict[str, Any]:
    return {
        "@type": "Address",
        "address_line1": family.address,
        "address_line2": f"RT {family.rt} RW {family.rw}" if family.rt or family.rw else "",
        "region_code": family.village_code,
        "sub_region_code": family.village_code[:8],
        "country_code": "ID",
    }


def person_record(person: Person, *, family: Family, desil: int | None, run: RankingRun | None,
                  full_ids: bool) -> dict[str, Any]:  # fmt: skip
    """An SRPerson (also the `demographic_info` of a Member)."""
    nik = nik_decrypt(person.nik_enc)
    return {
        "@context": CONTEXT,
        "@id": f"urn:dtsen:person:{person.person_code}",
        "@type": "SRPerson",
        "identifier": [_identifier("NIK", _number(nik, full_ids)), _identifier("PERSON_CODE", person.person_code)],
        "name": {"@type": "Name", "given_name": person.name, "surname": ""},
        "sex": SEX.get(person.sex, ""),
        "birth_date": person.birth_date.isoformat(),
        "marital_status": MARITAL.get(person.marital_status, ""),
        "is_disabled": person.disability != c.Disability.NONE,
        "is_deceased": person.life_status == c.LifeStatus.DECEASED,
        "death_date": person.death_date.isoformat() if person.death_date else "",
        "occupation": person.occupation,
        "relationship_head": RELATIONSHIP.get(person.relationship, "other"),
        "household_identifier": family.family_code,
        "poverty_score": desil,
        "poverty_score_type": poverty_score_type(run),
        "address": [_address(family)],
        "registration_date": person.created_at.isoformat(),
        "last_updated": person.updated_at.isoformat(),
    }


def _member(person: Person, *, family: Family, desil: int | None, run: RankingRun | None,
            full_ids: bool) -> dict[str, Any]:  # fmt: skip
    return {
        "@type": "Member",
        "@id": f"urn:dtsen:person:{person.person_code}",
        "member_identifier": [_identifier("PERSON_CODE", person.person_code)],
        "demographic_info": person_record(person, family=family, desil=desil, run=run, full_ids=full_ids),
        "relationship_head": RELATIONSHIP.get(person.relationship, "other"),
        "is_disabled": person.disability != c.Disability.NONE,
        "marital_status": MARITAL.get(person.marital_status, ""),
        "registration_date": person.created_at.isoformat(),
    }


def group_record(family: Family, members: list[Person], *, desil: int | None, run: RankingRun | None,
                 full_ids: bool) -> dict[str, Any]:  # fmt: skip
    head = next((p for p in members if p.pk == family.head_id), None)

    def member(p: Person) -> dict[str, Any]:
        return _member(p, family=family, desil=desil, run=run, full_ids=full_ids)

    return {
        "@context": CONTEXT,
        "@id": f"urn:dtsen:family:{family.family_code}",
        "@type": "Group",
        "group_identifier": [
            _identifier("KK", _number(family.kk_number, full_ids)),
            _identifier("FAMILY_CODE", family.family_code),
        ],
        "group_type": "family",
        "place": {"@type": "Place", "address": _address(family)},
        "poverty_score": desil,
        "poverty_score_type": poverty_score_type(run),
        "group_size": len(members),
        "group_head_info": member(head) if head is not None else None,
        "member_list": [member(p) for p in members],
        "registration_date": family.created_at.isoformat(),
        "last_updated": family.updated_at.isoformat(),
    }


def page_records(page: SearchPage, *, full_ids: bool) -> list[dict[str, Any]]:
    if page.families:
        return [
            group_record(f, page.members.get(f.pk, []), desil=page.desil.get(f.pk), run=page.run,
                         full_ids=full_ids)
            for f in page.families
        ]  # fmt: skip
    return [
        person_record(p, family=p.family, desil=page.desil.get(p.family_id), run=page.run, full_ids=full_ids)
        for p in page.persons
    ]


def page_person_ids(page: SearchPage) -> list[int]:
    """Every person whose data the page shows (for the audit trail)."""
    if page.families:
        return [p.pk for members in page.members.values() for p in members]
    return [p.pk for p in page.persons]
