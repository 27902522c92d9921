"""The search follows a family or a person to another village (on PostgreSQL through registry_personsearch, kept
by triggers, registry migration 0002; on SQLite through the family)."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from dtsen.accounts.services import system_actor
from dtsen.programs.public import public_recipient_search
from dtsen.registry import choices as c
from dtsen.registry.models import Person
from dtsen.registry.services import family_update_address, person_move, person_record_death, person_update
from tests.public.conftest import _register
from tests.registry.factories import VILLAGE_A, VILLAGE_B, person

REASON = "Pindah alamat sesuai KK baru"


def _names(village: str, name: str) -> list[str]:
    return [r.masked_name for r in public_recipient_search(village_code=village, name=name)]


def test_family_moved_to_another_village(recipient):
    assert _names(VILLAGE_A, "budi santoso")
    family_update_address(actor=system_actor(), family=recipient, channel=c.Channel.REGSOSEK, reason=REASON,
                          village_code=VILLAGE_B)
    assert _names(VILLAGE_A, "budi santoso") == []
    assert _names(VILLAGE_B, "budi santoso")
    if connection.vendor == "postgresql":
        ids = list(Person.objects.filter(family=recipient).values_list("pk", flat=True))
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT village_code FROM registry_personsearch WHERE person_id = ANY(%s)", [ids])
            assert cursor.fetchall() == [(VILLAGE_B,)]


def test_person_moved_into_a_recipient_family(recipient):
    head = person("34.01.02", dt.date(1962, 7, 1), "L", 21, "Slamet Riyadi", c.Relationship.HEAD)
    son = person("34.01.02", dt.date(1990, 7, 1), "L", 22, "Joko Susilo", c.Relationship.CHILD)
    other = _register("3401022001250009", head, [son], address="Dusun Kulon")
    family_update_address(actor=system_actor(), family=other, channel=c.Channel.REGSOSEK, reason=REASON,
                          village_code=VILLAGE_B)
    joko = Person.objects.get(family=other, name__istartswith="joko")
    assert _names(VILLAGE_A, "joko") == []
    person_move(actor=system_actor(), person=joko, to_family=recipient, event_date=dt.date(2026, 1, 5),
                channel=c.Channel.REGSOSEK, reason=REASON, relationship=c.Relationship.OTHER)
    assert _names(VILLAGE_A, "joko")


def _words(person_id: int) -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT village_code, word, name FROM registry_personword WHERE person_id = %s ORDER BY word",
                       [person_id])
        return cursor.fetchall()


def test_name_words_follow_the_person(recipient):
    """registry_personword (registry migration 0004): one row per word of the name, rewritten when the name or
    the village changes, removed when the person dies; the search finds the person by any word of the new name
    and no longer by the old one."""
    if connection.vendor != "postgresql":
        return  # SQLite searches through the family (no word table)
    budi = Person.objects.get(family=recipient, name__istartswith="budi")
    assert _words(budi.pk) == [(VILLAGE_A, "BUDI", "BUDI SANTOSO"), (VILLAGE_A, "SANTOSO", "BUDI SANTOSO")]
    person_update(actor=system_actor(), person=budi, channel=c.Channel.REGSOSEK, reason="Ejaan nama sesuai KTP",
                  name="Budi Santosa Wibowo")
    new = "BUDI SANTOSA WIBOWO"
    assert _words(budi.pk) == [(VILLAGE_A, "BUDI", new), (VILLAGE_A, "SANTOSA", new), (VILLAGE_A, "WIBOWO", new)]
    assert _names(VILLAGE_A, "wibo")
    assert _names(VILLAGE_A, "santosa budi")
    assert _names(VILLAGE_A, "santoso") == []
    family_update_address(actor=system_actor(), family=recipient, channel=c.Channel.REGSOSEK, reason=REASON,
                          village_code=VILLAGE_B)
    assert {v for v, _, _ in _words(budi.pk)} == {VILLAGE_B}
    person_record_death(actor=system_actor(), person=Person.objects.get(pk=budi.pk), channel=c.Channel.REGSOSEK,
                        reason="Meninggal dunia", death_date=dt.date(2026, 10, 1), source=c.DeathSource.values[0])
    assert _words(budi.pk) == []
