"""Public reads (Cek Bansos, issue 7): who receives aid in a village, by name, for anyone without a login.

A public selector takes no actor: it returns only masked, non-identifying fields (masked name, age in years,
program codes and their period) and never a NIK, KK number, address, desil or any row id. Only living,
active persons of active families are matched, and only when the family has an ACTIVE membership of a
program, or the family (or, for person programs, the person) is SELECTED in a run whose result for that
program was ratified by a decree (national, or for the family's kabupaten/kota).

The name must match word by word: every word typed (case-insensitive) must be the start of a word of the
person's name, in any order ("budi", "BUDI SANT", "santoso budi"). At least `MIN_QUERY_LETTERS` letters are
needed, so no one can list a village with a single letter.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from dtsen.core.masking import mask_name
from dtsen.programs.models import Decree, EligibilityResult, Membership, MembershipStatus, Outcome
from dtsen.registry import choices as c
from dtsen.registry.models import Person

MAX_ROWS = 20
MIN_QUERY_LETTERS = 3
MAX_QUERY_LENGTH = 120


@dataclass(frozen=True, slots=True)
class PublicProgram:
    program: str  # the program code in capitals, e.g. "PKH"
    period: str  # the ratified run's period (YYYY-Tn), "" for a membership
    since: dt.date | None  # a membership's start date, None for a ratified result


@dataclass(frozen=True, slots=True)
class PublicRecipient:
    masked_name: str
    age: int
    programs: tuple[PublicProgram, ...]


def query_words(name: str) -> list[str]:
    """The words of a typed name, upper-cased; [] when it is too short to search with."""
    words = name[:MAX_QUERY_LENGTH].upper().split()
    if sum(len(w) for w in words) < MIN_QUERY_LETTERS:
        return []
    return words


def _like_escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _age(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _name_matches(name: str, words: list[str]) -> bool:
    parts = name.upper().split()
    return all(any(p.startswith(w) for p in parts) for w in words)


def _ratified_selected() -> Q:
    """Selected results covered by a decree of their run and program (national or for their kab/kota)."""
    decree = Decree.objects.filter(run_id=OuterRef("run_id"), program=OuterRef("program")).filter(
        Q(region_code="") | Q(region_code=OuterRef("region_code"))
    )
    return Q(outcome=Outcome.SELECTED, run__simulation=False) & Q(Exists(decree))


def public_recipient_search(*, village_code: str, name: str, today: dt.date | None = None) -> list[PublicRecipient]:
    """Recipients in `village_code` whose name matches `name` (see the module), at most `MAX_ROWS`, masked."""
    words = query_words(name)
    if not words or not village_code:
        return []
    today = today or timezone.localdate()
    results = EligibilityResult.objects.filter(_ratified_selected(), village_code=village_code)
    family_results = results.filter(person__isnull=True, family_id=OuterRef("family_id"))
    person_results = results.filter(person_id=OuterRef("pk"))
    memberships = Membership.objects.filter(family_id=OuterRef("family_id"), status=MembershipStatus.ACTIVE)
    persons = Person.objects.filter(
        family__village_code=village_code,
        family__status=c.RecordStatus.ACTIVE,
        status=c.RecordStatus.ACTIVE,
        life_status=c.LifeStatus.ALIVE,
    )
    if connection.vendor == "postgresql":
        # registry_personword and its index over (village, word), registry migrations 0002 and 0004: only the
        # persons of this village whose name has words starting with the typed ones are read (the filters below
        # still decide): the index finds a word starting with the longest typed word, and each typed word starts
        # the name or a word of it; only placeholders in the text: the words are parameters
        likes = " AND (w.name LIKE upper(%s) OR w.name LIKE upper(%s))" * len(words)
        sql = ("SELECT w.person_id FROM registry_personword w"  # noqa: S608
               f" WHERE w.village_code = %s AND w.word LIKE upper(%s){likes}")
        params = [village_code, f"{_like_escape(max(words, key=len))}%"]
        for word in words:
            params += [f"{_like_escape(word)}%", f"% {_like_escape(word)}%"]
        narrowed = RawSQL(sql, params)  # noqa: S611
        persons = persons.filter(pk__in=narrowed)
    for word in words:
        persons = persons.filter(name__icontains=word)
    persons = persons.filter(Exists(memberships) | Exists(family_results) | Exists(person_results))
    candidates = [
        p for p in persons.order_by("name", "pk").only("pk", "family_id", "name", "birth_date")[: MAX_ROWS * 5]
        if _name_matches(p.name, words)
    ][:MAX_ROWS]
    if not candidates:
        return []
    family_ids = {p.family_id for p in candidates}
    person_ids = {p.pk for p in candidates}
    by_family: dict[int, dict[str, PublicProgram]] = defaultdict(dict)
    by_person: dict[int, dict[str, PublicProgram]] = defaultdict(dict)
    for family_id, program, since in Membership.objects.filter(
        family_id__in=family_ids, status=MembershipStatus.ACTIVE
    ).values_list("family_id", "program", "since"):
        code = program.upper()
        by_family[family_id][code] = PublicProgram(code, "", since)
    for family_id, person_id, program, period in (
        results.filter(Q(person__isnull=True, family_id__in=family_ids) | Q(person_id__in=person_ids))
        .order_by("run__period")
        .values_list("family_id", "person_id", "program", "run__period")
    ):
        code = program.upper()
        if person_id:
            by_person[person_id][code] = PublicProgram(code, period, None)
        elif code not in by_family[family_id] or by_family[family_id][code].since is None:
            by_family[family_id][code] = PublicProgram(code, period, None)  # the latest period wins
    out = []
    for p in candidates:
        programs = {**by_family.get(p.family_id, {}), **by_person.get(p.pk, {})}
        if not programs:
            continue
        out.append(PublicRecipient(
            masked_name=mask_name(p.name),
            age=_age(p.birth_date, today),
            programs=tuple(programs[k] for k in sorted(programs)),
        ))
    return out
