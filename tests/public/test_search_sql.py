"""Cek Bansos' fast path (dtsen.core.public_search): the one-statement search gives exactly what
dtsen.programs.public.public_recipient_search gives (memberships, ratified family and person results, decrees
national or regional, simulations, other villages, removed and deceased persons), and the cached region option
lists mark the chosen region and follow a change of the current edition."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from dtsen.accounts.services import system_actor
from dtsen.core import public_search
from dtsen.core.masking import mask_name
from dtsen.core.public_search import recipient_search, region_options, region_options_clear
from dtsen.programs.models import (
    Decree,
    EligibilityResult,
    EligibilityRun,
    Membership,
    MembershipStatus,
    Outcome,
    RunStatus,
)
from dtsen.programs.public import MAX_ROWS, public_recipient_search
from dtsen.ranking.models import RankingRun
from dtsen.regions.models import Edition
from dtsen.registry import choices as c
from dtsen.registry.models import Family, Person
from tests.public.conftest import _register
from tests.registry.factories import VILLAGE_A, VILLAGE_B, person

TODAY = dt.date(2026, 11, 29)
QUERIES = ["budi", "joko wid", "BUDI SANT", "santoso budi", "siti", "sri", "joko", "ani", "sut", "di santoso", "wati",
           "rahayu sri", "bud", "xyz", "b_d", "10%"]


def _run(period: str, *, simulation: bool = False) -> EligibilityRun:
    ranking = RankingRun.objects.create(period="2026-Q1", cutoff=timezone.localdate(), frozen_at=timezone.now(),
                                        engine="duckdb", model_id="uji", model_sha256="0" * 64, model_artefact={},
                                        status="finished", finished_at=timezone.now())
    return EligibilityRun.objects.create(period=period, as_of=timezone.localdate(), ranking_run=ranking,
                                         edition="uji", rules_text="{}", rules_sha256="0" * 64,
                                         simulation=simulation, status=RunStatus.FINISHED,
                                         created_by=system_actor(), finished_at=timezone.now())


def _result(run: EligibilityRun, family: Family, program: str, *, person_obj: Person | None = None,
            outcome: str = Outcome.SELECTED, village: str = "") -> None:
    EligibilityResult.objects.create(run=run, program=program, family=family, person=person_obj,
                                     region_code=family.village_code[:5], village_code=village or family.village_code,
                                     desil=2, percentile=Decimal("15.0"), outcome=outcome)


def _decree(run: EligibilityRun, program: str, region: str = "") -> None:
    Decree.objects.create(run=run, program=program, region_code=region, decree_number=f"SK-{run.pk}-{program}-{region}",
                          decree_date=dt.date(2026, 1, 10), ratified_by=system_actor())


def _family(serial: int, names: list[str], village: str = VILLAGE_A) -> Family:
    kec = village.rsplit(".", 1)[0]
    people = [person(kec, dt.date(1970 + i, 3, 1 + i), "L" if i % 2 == 0 else "P", serial * 10 + i, name,
                     c.Relationship.HEAD if i == 0 else c.Relationship.CHILD) for i, name in enumerate(names)]
    family = _register(f"34010120012{serial:05d}", people[0], people[1:], address="Dusun Uji")
    if village != VILLAGE_A:
        Family.objects.filter(pk=family.pk).update(village_code=village)
        family.refresh_from_db()
    return family


@pytest.fixture
def registry(db) -> None:
    get_user_model()  # the system actor's model is ready
    f1 = _family(1, ["Budi Santoso", "Siti Rahayu", "Sri Wati"])
    Membership.objects.create(family=f1, program="pkh", status=MembershipStatus.ACTIVE, since=dt.date(2024, 3, 1))
    f2 = _family(2, ["Budi Hartono", "Ani Sutanti"])
    Membership.objects.create(family=f2, program="pkh", status=MembershipStatus.DEACTIVATED,
                              since=dt.date(2020, 1, 1))
    f3 = _family(3, ["Joko Susilo", "Sri Rahayu Ningsih", "Sutarmi"])
    f4 = _family(4, ["Bud Di", "Siti Aminah"])
    f5 = _family(5, ["Budi Santosa"], village=VILLAGE_B)
    Membership.objects.create(family=f5, program="bpnt", status=MembershipStatus.ACTIVE, since=dt.date(2025, 1, 1))
    f6 = _family(6, ["Siti Sutarni", "Joko Widodo"])
    f7 = _family(7, ["B_di Persen", "Wati 10%"])
    Membership.objects.create(family=f7, program="sembako", status=MembershipStatus.ACTIVE,
                              since=dt.date(2025, 6, 1))
    old, new, sim, unratified = _run("2025-T4"), _run("2026-T1"), _run("2026-T2", simulation=True), _run("2026-T3")
    # a family program ratified nationally in two runs (the later period wins), and one also a membership
    for run in (old, new):
        _result(run, f3, "sembako")
        _result(run, f1, "pkh")
        _decree(run, "sembako")
        _decree(run, "pkh")
    # a person program ratified for the kabupaten, another one ratified for another kabupaten only
    sri = Person.objects.get(family=f3, name__iexact="Sri Rahayu Ningsih")
    _result(new, f3, "pbi", person_obj=sri)
    _decree(new, "pbi", "34.01")
    joko = Person.objects.get(family=f6, name__iexact="Joko Widodo")
    _result(new, f6, "pip", person_obj=joko)
    _decree(new, "pip", "34.02")
    # not selected, a simulation, a run without decree, a result recorded for another village
    _result(new, f4, "bpnt", outcome=Outcome.NOT_SELECTED)
    _decree(new, "bpnt")
    _result(sim, f4, "pkh")
    _decree(sim, "pkh")
    _result(unratified, f6, "sembako")
    _result(old, f6, "pkh", village=VILLAGE_B)
    # removed and deceased persons of a recipient family
    Person.objects.filter(family=f1, name__iexact="Sri Wati").update(status=c.RecordStatus.REMOVED)
    Person.objects.filter(family=f3, name__iexact="Sutarmi").update(life_status=c.LifeStatus.DECEASED)


@pytest.mark.parametrize("village", [VILLAGE_A, VILLAGE_B, "34.01.01.2002", ""])
@pytest.mark.parametrize("name", QUERIES)
def test_same_result_as_the_orm_search(registry, village, name):
    expected = public_recipient_search(village_code=village, name=name, today=TODAY)
    assert recipient_search(village_code=village, name=name, today=TODAY) == expected


def test_the_fixture_covers_every_source(registry):
    found = {r.masked_name: r for r in recipient_search(village_code=VILLAGE_A, name="sri", today=TODAY)}
    assert set(found) == {mask_name("SRI RAHAYU NINGSIH")}  # Sri Wati is removed
    programs = {p.program: p for p in found[mask_name("SRI RAHAYU NINGSIH")].programs}
    assert programs["SEMBAKO"].period == "2026-T1"  # the later of two ratified runs
    assert programs["PBI"].period == "2026-T1"  # the person's own result
    budi = recipient_search(village_code=VILLAGE_A, name="budi", today=TODAY)
    # Hartono's membership ended, Bud Di was not selected
    assert [r.masked_name for r in budi] == [mask_name("BUDI SANTOSO")]
    assert budi[0].programs[0].since == dt.date(2024, 3, 1)  # the membership beats the ratified result
    assert recipient_search(village_code=VILLAGE_A, name="joko wid", today=TODAY) == []  # decree of another kab
    assert [r.masked_name for r in recipient_search(village_code=VILLAGE_A, name="b_d", today=TODAY)] == [
        mask_name("B_DI PERSEN")]


def test_at_most_max_rows(db):
    kec = "34.01.01"
    for serial in range(MAX_ROWS + 3):
        head = person(kec, dt.date(1980, 1, 1), "L", 100 + serial, f"Slamet Nomor{serial:02d}", c.Relationship.HEAD)
        family = _register(f"3401012002{serial:06d}", head, [], address="Dusun Uji")
        Membership.objects.create(family=family, program="pkh", status=MembershipStatus.ACTIVE,
                                  since=dt.date(2024, 1, 1))
    expected = public_recipient_search(village_code=VILLAGE_A, name="slamet", today=TODAY)
    assert len(expected) == MAX_ROWS
    assert recipient_search(village_code=VILLAGE_A, name="slamet", today=TODAY) == expected


@pytest.mark.django_db
def test_region_options_marked_and_escaped():
    region_options_clear()
    provinces = region_options("")
    assert "34" in provinces.regions
    html = provinces.render("34")
    assert html.count(" selected") == 1
    assert '<option value="34" selected>' in html
    assert " selected" not in provinces.render("99")  # not a child: nothing chosen
    assert " selected" not in provinces.render("")
    kab = region_options("34")
    assert set(kab.regions) >= {"34.01", "34.04"}
    assert all(code.startswith("34.") for code in kab.regions)


@pytest.mark.django_db
def test_region_options_follow_the_current_edition(monkeypatch):
    region_options_clear()
    first = region_options("34.01.01")
    assert region_options("34.01.01") is first  # cached
    current = Edition.objects.get(is_current=True)
    other = Edition.objects.exclude(pk=current.pk).first()
    assert other is not None
    Edition.objects.filter(pk=current.pk).update(is_current=False)
    Edition.objects.filter(pk=other.pk).update(is_current=True)
    assert region_options("34.01.01") is first  # checked again only after EDITION_CHECK_SECONDS
    monkeypatch.setattr(public_search, "EDITION_CHECK_SECONDS", 0)
    again = region_options("34.01.01")
    assert again is not first
    assert all(r.edition_id == other.pk for r in again.regions.values())
    region_options_clear()


def test_next_prefix_bounds_every_text_with_the_prefix():
    """The upper bound of the index range (text_pattern_ops compares UTF-8 bytes = code points): every text
    that starts with the prefix is below it, and the prefix's next sibling is not."""
    import random

    from dtsen.core.public_search import _next_prefix

    assert _next_prefix("MAR") == "MAS"
    assert _next_prefix("A\U0010ffff") == "B"
    assert _next_prefix("A\ud7ff") == "A\ue000"  # no surrogate
    rng = random.Random(7)
    alphabet = "AMZ \u00c9\u00ff\u0100\ud7ff\ue000\U0001f600\U0010ffff"
    for _ in range(2000):
        prefix = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4)))
        if set(prefix) == {"\U0010ffff"}:
            continue  # no text is above every text starting with it (see _next_prefix)
        text = prefix + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))
        high = _next_prefix(prefix)
        assert prefix.encode() <= text.encode() < high.encode()
        assert not high.startswith(prefix)
