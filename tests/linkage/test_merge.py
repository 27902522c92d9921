"""Merges and their undo (issue 9, "Review and merge"): a merge deactivates the absorbed record the registry
way, its undo restores the registry exactly (every field of every Person, Family and program Membership row
but the `updated_at` timestamps; versions, events and audit records are history and grow), both are in the
audit trail; two reviewers deciding the same pair: one wins.

Also the fixtures of the linkage review tests (imported by test_review.py and test_pages.py): Kulon Progo
families registered through the registry services with duplicates injected the way they happen in the field
(the same child registered in her grandparents' KK; the same man in a ghost family of his own), a Bantul
family with its own duplicate, and the Dinsos verifiers of both kabupaten.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.forms.models import model_to_dict
from django.utils import timezone

from dtsen.accounts.models import Role
from dtsen.accounts.services import role_assign, system_actor
from dtsen.audit.models import AuditRecord
from dtsen.core.errors import Conflict, NotFound, ValidationFailed
from dtsen.linkage import services as svc
from dtsen.linkage.models import CandidatePair, LinkageRun, Merge, MergeAction, PairDecision, PairStatus
from dtsen.programs.models import Membership
from dtsen.registry import choices as c
from dtsen.registry.models import Event, Family, Person
from dtsen.registry.services import family_register
from tests.registry.factories import VILLAGE_A, VILLAGE_B, person

VILLAGE_BANTUL = "34.02.01.2001"
STAFF_PASSWORD = "kata-sandi-staf-2025"


def staff(username: str, role: str, region: str):
    user = get_user_model().objects.create_user(username, password=STAFF_PASSWORD, first_name=username)
    role_assign(user=user, role=role, region_code=region, reason="uji / test")
    return user


def _register(kk: str, village: str, head, members=()) -> Family:
    return family_register(actor=system_actor(), channel=c.Channel.REGSOSEK, reason="Pendataan awal Regsosek 2022",
                           kk_number=kk, village_code=village, head=head, members=list(members))


def by_name(name: str, family: Family) -> Person:
    return Person.objects.get(family=family, name=name.upper())


@pytest.fixture
def dups(db) -> dict[str, Family]:
    """f1: Budi Santoso's family (Temon); f2: the grandparents' family (Wates), where the child Dewi is
    registered a second time with a typo in her name; f3: a ghost family in Wates whose only member is Budi
    registered again; bantul, bantul2: two Bantul families with the son Agus registered in both."""
    budi = person("34.01.01", dt.date(1980, 5, 12), "L", 11, "Budi Santoso", c.Relationship.HEAD,
                  marital_status=c.MaritalStatus.MARRIED)
    siti = person("34.01.01", dt.date(1984, 2, 29), "P", 11, "Siti Aminah", c.Relationship.SPOUSE,
                  marital_status=c.MaritalStatus.MARRIED)
    dewi = person("34.01.01", dt.date(2012, 7, 1), "P", 12, "Dewi Lestari", c.Relationship.CHILD)
    f1 = _register("3401012001250001", VILLAGE_A, budi, [siti, dewi])
    sukir = person("34.01.02", dt.date(1950, 8, 17), "L", 21, "Sukirman", c.Relationship.HEAD,
                   marital_status=c.MaritalStatus.MARRIED)
    painem = person("34.01.02", dt.date(1954, 3, 9), "P", 21, "Painem", c.Relationship.SPOUSE,
                    marital_status=c.MaritalStatus.MARRIED)
    dewi2 = person("34.01.01", dt.date(2012, 7, 1), "P", 12, "Dewi Lestary", c.Relationship.GRANDCHILD)
    f2 = _register("3401022001250002", VILLAGE_B, sukir, [painem, dewi2])
    budi2 = person("34.01.01", dt.date(1980, 5, 12), "L", 11, "Budi Santosa", c.Relationship.HEAD)
    f3 = _register("3401022001250003", VILLAGE_B, budi2)
    wati = person("34.02.01", dt.date(1979, 11, 2), "P", 31, "Suwarti", c.Relationship.HEAD)
    anak = person("34.02.01", dt.date(2005, 1, 20), "L", 31, "Agus Prasetyo", c.Relationship.CHILD)
    bantul = _register("3402012001250004", VILLAGE_BANTUL, wati, [anak])
    paijo = person("34.02.01", dt.date(1948, 6, 30), "L", 41, "Paijo", c.Relationship.HEAD)
    agus2 = person("34.02.01", dt.date(2005, 1, 20), "L", 31, "Agus Prasetya", c.Relationship.GRANDCHILD)
    bantul2 = _register("3402012001250005", VILLAGE_BANTUL, paijo, [agus2])
    return {"f1": f1, "f2": f2, "f3": f3, "bantul": bantul, "bantul2": bantul2}


@pytest.fixture
def dinsos(db):
    return staff("dinsos.kp", Role.DINSOS_VERIFIER, "34.01")


@pytest.fixture
def dinsos2(db):
    return staff("dinsos.kp2", Role.DINSOS_SUPERVISOR, "34.01")


@pytest.fixture
def dinsos_bantul(db):
    return staff("dinsos.bantul", Role.DINSOS_VERIFIER, "34.02")


def queued(a: Person, b: Person, evidence: float = 31.5) -> CandidatePair:
    """A pair as a run queues it (services tests do not need the engine; test_review.py runs it)."""
    run = LinkageRun.objects.filter(region_code=a.family.village_code[:5]).first() or LinkageRun.objects.create(
        region_code=a.family.village_code[:5], engine="duckdb", model_name="dtsen-person-v1", params={},
        params_sha256="0" * 64, review_bits=20, match_bits=25, started_at=timezone.now(),
    )
    low, high = sorted((a, b), key=lambda p: p.pk)
    return CandidatePair.objects.create(run=run, person_a=low, person_b=high, evidence=evidence,
                                        match_probability=0.9999, region_code=low.family.village_code[:5])


def registry_state() -> dict[str, list[dict]]:
    """Every field of every Person, Family and Membership row but `updated_at`."""
    def rows(model):
        return [{k: v for k, v in model_to_dict(o, fields=[f.name for f in model._meta.concrete_fields]).items()
                 if k != "updated_at"} for o in model.objects.order_by("pk")]
    return {"persons": rows(Person), "families": rows(Family), "memberships": rows(Membership)}


def actions() -> list[str]:
    return list(AuditRecord.objects.order_by("seq").values_list("action", flat=True))


def test_merge_then_undo_restores_the_registry_exactly(dups, dinsos):
    dewi, dewi2 = by_name("Dewi Lestari", dups["f1"]), by_name("Dewi Lestary", dups["f2"])
    Membership.objects.create(family=dups["f2"], program="PKH", status="aktif", since=dt.date(2024, 1, 1))
    pair = queued(dewi, dewi2)
    before = registry_state()
    versions = dewi2.history.count()

    merge = svc.pair_merge(actor=dinsos, pair=pair, keep=dewi, reason="NIK dan tanggal lahir sama; nama salah ketik")
    dewi2.refresh_from_db()
    assert merge.action == MergeAction.PERSON
    assert merge.kept == dewi
    assert merge.absorbed == dewi2
    assert (dewi2.status, dewi2.status_reason) == (c.RecordStatus.REMOVED, c.RemovalReason.DUPLICATE)
    assert registry_state() != before
    pair.refresh_from_db()
    assert pair.status == PairStatus.MERGED
    assert pair.decided_by == dinsos
    assert PairDecision.objects.filter(person_low=pair.person_a, person_high=pair.person_b).exists()
    assert Event.objects.filter(person=dewi2, kind=c.EventKind.REMOVED).count() == 1
    assert dewi2.history.count() == versions + 1

    undone = svc.merge_undo(actor=dinsos, merge=merge, reason="Ternyata dua anak berbeda")
    assert undone.undone_at is not None
    assert undone.undone_by == dinsos
    assert registry_state() == before
    assert Event.objects.filter(person=dewi2, kind=c.EventKind.RESTORED).count() == 1
    assert dewi2.history.count() == versions + 2  # both changes stay in the history
    pair.refresh_from_db()
    assert pair.status == PairStatus.PENDING
    assert not PairDecision.objects.exists()
    trail = actions()
    assert trail.index("person_remove") < trail.index("linkage.merge") < trail.index("person_restore") < trail.index(
        "linkage.merge_undo")
    merge_rec = AuditRecord.objects.get(action="linkage.merge")
    assert merge_rec.actor_id == dinsos.pk
    assert f",{dewi2.pk}," in merge_rec.persons
    assert AuditRecord.objects.get(action="linkage.merge_undo").reason == "Ternyata dua anak berbeda"


def test_ghost_family_merge_deactivates_the_family_and_undo_restores_it(dups, dinsos):
    budi, budi2 = by_name("Budi Santoso", dups["f1"]), by_name("Budi Santosa", dups["f3"])
    pair = queued(budi, budi2)
    before = registry_state()
    merge = svc.pair_merge(actor=dinsos, pair=pair, keep=budi, reason="Orang yang sama, KK hantu")
    f3 = Family.objects.get(pk=dups["f3"].pk)
    assert merge.action == MergeAction.FAMILY
    assert (f3.status, f3.status_reason) == (c.RecordStatus.REMOVED, c.RemovalReason.DUPLICATE)
    svc.merge_undo(actor=dinsos, merge=merge, reason="Salah gabung")
    assert registry_state() == before
    assert {"family_remove", "linkage.merge", "family_restore", "linkage.merge_undo"} <= set(actions())


def test_head_with_other_members_cannot_be_absorbed(dups, dinsos):
    budi, budi2 = by_name("Budi Santoso", dups["f1"]), by_name("Budi Santosa", dups["f3"])
    pair = queued(budi, budi2)
    before, trail = registry_state(), actions()
    with pytest.raises(ValidationFailed):
        svc.pair_merge(actor=dinsos, pair=pair, keep=budi2, reason="keep the ghost")  # Budi heads f1 (3 members)
    assert registry_state() == before
    assert actions() == trail
    pair.refresh_from_db()
    assert pair.status == PairStatus.PENDING
    assert not Merge.objects.exists()


def test_reason_and_keep_are_checked(dups, dinsos, dinsos2):
    dewi, dewi2 = by_name("Dewi Lestari", dups["f1"]), by_name("Dewi Lestary", dups["f2"])
    pair = queued(dewi, dewi2)
    with pytest.raises(ValidationFailed):
        svc.pair_merge(actor=dinsos, pair=pair, keep=dewi, reason="  ")
    with pytest.raises(ValidationFailed):
        svc.pair_merge(actor=dinsos, pair=pair, keep=by_name("Siti Aminah", dups["f1"]), reason="x")
    merge = svc.pair_merge(actor=dinsos, pair=pair, keep=dewi2, reason="Data di KK kakek lebih baru")
    svc.merge_undo(actor=dinsos, merge=merge, reason="salah")
    with pytest.raises(Conflict):
        svc.merge_undo(actor=dinsos2, merge=merge, reason="lagi")


def test_second_decision_on_a_stale_pair_is_a_conflict(dups, dinsos, dinsos2):
    """Two Dinsos opened the same pair; the first merges, the second's merge or dismissal is refused."""
    dewi, dewi2 = by_name("Dewi Lestari", dups["f1"]), by_name("Dewi Lestary", dups["f2"])
    pair = queued(dewi, dewi2)
    stale = CandidatePair.objects.get(pk=pair.pk)
    svc.pair_merge(actor=dinsos, pair=pair, keep=dewi, reason="sama")
    state, trail = registry_state(), actions()
    with pytest.raises(Conflict):
        svc.pair_merge(actor=dinsos2, pair=stale, keep=dewi2, reason="sama juga")
    with pytest.raises(Conflict):
        svc.pair_dismiss(actor=dinsos2, pair=stale, reason="bukan")
    assert registry_state() == state
    assert actions() == trail
    assert Merge.objects.count() == 1
    assert PairDecision.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks and parallel sessions: PostgreSQL")
def test_race_of_two_merges_one_wins(dups, dinsos, dinsos2):
    """Two reviewers merge the same pair at the same moment, keeping opposite records: one merge commits,
    the other gets a conflict, and exactly one record is deactivated."""
    from django.db import connections

    dewi, dewi2 = by_name("Dewi Lestari", dups["f1"]), by_name("Dewi Lestary", dups["f2"])
    pair = queued(dewi, dewi2)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def merge(actor, keep):
        try:
            barrier.wait()
            svc.pair_merge(actor=actor, pair=pair, keep=keep, reason="balapan")
            outcomes.append("merged")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=merge, args=(dinsos, dewi)), threading.Thread(target=merge,
                                                                                      args=(dinsos2, dewi2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "merged"]
    assert Merge.objects.count() == 1
    assert Person.objects.filter(pk__in=[dewi.pk, dewi2.pk], status=c.RecordStatus.REMOVED).count() == 1
    assert AuditRecord.objects.filter(action="linkage.merge").count() == 1


def test_scope_other_kabupaten_is_not_found_and_nothing_changes(dups, dinsos_bantul, dinsos):
    dewi, dewi2 = by_name("Dewi Lestari", dups["f1"]), by_name("Dewi Lestary", dups["f2"])
    pair = queued(dewi, dewi2)
    state, trail = registry_state(), actions()
    for call in (lambda: svc.pair_merge(actor=dinsos_bantul, pair=pair, keep=dewi, reason="x"),
                 lambda: svc.pair_dismiss(actor=dinsos_bantul, pair=pair, reason="x")):
        with pytest.raises(NotFound):
            call()
    merge = svc.pair_merge(actor=dinsos, pair=pair, keep=dewi, reason="sama")
    state, trail = registry_state(), actions()
    with pytest.raises(NotFound):
        svc.merge_undo(actor=dinsos_bantul, merge=merge, reason="x")
    assert registry_state() == state
    assert actions() == trail
    pair.refresh_from_db()
    assert pair.status == PairStatus.MERGED


def test_vendor_marker_is_real():
    assert connection.vendor in {"sqlite", "postgresql"}
