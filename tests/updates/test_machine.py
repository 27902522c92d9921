"""The transition tables are the only way statuses move: every pair not in a table is refused with a bilingual
reason and changes nothing; two approvals racing on one item leave exactly one winner; a step that fails
half-way leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from dtsen.core.errors import ApplicationError, Conflict, PermissionDenied, ValidationFailed
from dtsen.documents.models import Document
from dtsen.registry import services as reg
from dtsen.registry.crypto import nik_hash
from dtsen.registry.models import Family, Person
from dtsen.updates import machine
from dtsen.updates import services as svc
from dtsen.updates.cutoff import cutoff_run
from dtsen.updates.models import (
    Musdes,
    MusdesKind,
    Penetapan,
    Submission,
    SubmissionStatus,
    Transition,
    Usulan,
    UsulanKind,
    UsulanStatus,
    Visit,
    VisitStatus,
)
from dtsen.updates.schedule import current_schedule
from dtsen.updates.visits import visit_submit
from tests.updates.conftest import CONDITION, NEW_FAMILY, VILLAGE_A, VILLAGE_B, jpeg, minutes_pdf

U = UsulanStatus


def today() -> dt.date:
    return timezone.localdate()


def _usulan_in(status: str, creator, family=None) -> Usulan:
    kind = UsulanKind.PROGRAM if family is not None else UsulanKind.NEW_FAMILY
    return Usulan.objects.create(
        reference=f"USL-T-{status}"[:32], kind=kind, status=status, village_code=VILLAGE_A, family=family,
        payload={"program": "pkh"}, created_by=creator, status_changed_at=timezone.now(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("workflow", ["usulan", "pengajuan", "kunjungan"])
def test_every_pair_outside_the_table_is_refused(workflow):
    _, table, choices = machine.TABLES[workflow]
    illegal = [(a, b) for a, b in itertools.product(choices.values, repeat=2) if (a, b) not in table]
    assert len(illegal) > len(table)  # the table is a small subset of all pairs
    for src, dst in illegal:
        with pytest.raises(machine.IllegalTransition) as err:
            machine.rule_for(workflow, src, dst)
        assert err.value.message_id.startswith("Status tidak dapat diubah")
        assert src in err.value.message_en


@pytest.mark.django_db
def test_illegal_moves_on_stored_usulan_change_nothing(system, geotagged_a):
    """Every status an usulan can be in, moved to every status the table does not allow from it."""
    for src in U.values:
        usulan = _usulan_in(src, system, geotagged_a)
        for dst in U.values:
            if (src, dst) in machine.USULAN:
                continue
            with pytest.raises(machine.IllegalTransition), transaction.atomic():
                machine.advance(usulan, dst, actor=system, reason="uji",
                                evidence=dict.fromkeys(machine.EVIDENCE_TEXT, 1))
        usulan.refresh_from_db()
        assert usulan.status == src
        assert usulan.version == 1
    assert not Transition.objects.exists()


@pytest.mark.django_db
def test_services_refuse_moves_out_of_order(operator_a, dinsos, ratifier, geotagged_a):
    usulan = svc.usulan_create(actor=operator_a, kind=UsulanKind.PROGRAM, village_code=VILLAGE_A,
                               family=geotagged_a, payload={"program": "pkh"})
    for call in (
        lambda: svc.usulan_send_to_dinsos(actor=operator_a, usulan=usulan),
        lambda: svc.usulan_return(actor=dinsos, usulan=usulan, reason="x"),
        lambda: svc.usulan_verify(actor=dinsos, usulan=usulan),
        lambda: svc.penetapan_create(actor=ratifier, region_code="34.01", decree_number="1/2026", decree_date=today(),
                                     usulan_ids=[usulan.pk]),
    ):
        with pytest.raises(machine.IllegalTransition):
            call()
    usulan.refresh_from_db()
    assert usulan.status == U.DRAFT
    assert not Penetapan.objects.exists()


@pytest.mark.django_db
def test_wrong_role_or_region_is_refused(operator_a, operator_b, dinsos, worker, geotagged_a):
    usulan = svc.usulan_create(actor=operator_a, kind=UsulanKind.PROGRAM, village_code=VILLAGE_A,
                               family=geotagged_a, payload={"program": "pkh"})
    with pytest.raises(PermissionDenied):
        svc.usulan_to_musdes(actor=operator_b, usulan=usulan)  # another village's operator
    with pytest.raises(PermissionDenied):
        svc.usulan_to_musdes(actor=dinsos, usulan=usulan)  # Dinsos does not draft
    with pytest.raises(PermissionDenied):
        svc.usulan_create(actor=worker, kind=UsulanKind.PROGRAM, village_code=VILLAGE_A, family=geotagged_a,
                          payload={"program": "pkh"})
    with pytest.raises(ValidationFailed) as err:  # a return needs its reason
        svc.usulan_cancel(actor=operator_a, usulan=usulan, reason="  ")
    assert err.value.code == "evidence_missing"
    usulan.refresh_from_db()
    assert usulan.status == U.DRAFT


@pytest.mark.django_db
def test_a_stale_approval_loses(operator_a, dinsos, geotagged_a):
    usulan = _usulan_in(U.DINSOS_CHECK, operator_a, geotagged_a)
    first, second = Usulan.objects.get(pk=usulan.pk), Usulan.objects.get(pk=usulan.pk)
    with transaction.atomic():
        machine.advance(first, U.RETURNED, actor=dinsos, reason="KK belum dilampirkan")
    with pytest.raises(Conflict) as err, transaction.atomic():
        machine.advance(second, U.RETURNED, actor=dinsos, reason="kedua")
    assert err.value.code == "stale"
    assert Transition.objects.filter(object_id=usulan.pk).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="real concurrent transactions need PostgreSQL")
def test_two_ratifications_racing_leave_one_winner(ratifier, geotagged_a):
    usulan = _usulan_in(U.VERIFIED, ratifier, geotagged_a)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def ratify(number: str) -> None:
        try:
            barrier.wait()
            svc.penetapan_create(actor=ratifier, region_code="34.01", decree_number=number, decree_date=today(),
                                 usulan_ids=[usulan.pk])
            outcomes.append("won")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=ratify, args=(f"460/{n}/2026",)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes)[-1] == "won"
    assert outcomes.count("won") == 1
    assert Penetapan.objects.count() == 1
    usulan.refresh_from_db()
    assert usulan.status == U.RATIFIED
    assert usulan.penetapan == Penetapan.objects.get()
    assert Transition.objects.filter(object_id=usulan.pk, to_status=U.RATIFIED).count() == 1


# ---------------------------------------------------------------------------------- nothing half-written


@pytest.mark.django_db
def test_musdes_with_one_bad_decision_records_nothing(operator_a, operator_b, geotagged_a, family_b):
    ours = svc.usulan_create(actor=operator_a, kind=UsulanKind.PROGRAM, village_code=VILLAGE_A, family=geotagged_a,
                             payload={"program": "pkh"})
    svc.usulan_to_musdes(actor=operator_a, usulan=ours)
    theirs = svc.usulan_create(actor=operator_b, kind=UsulanKind.PROGRAM, village_code=VILLAGE_B, family=family_b,
                               payload={"program": "pkh"})
    svc.usulan_to_musdes(actor=operator_b, usulan=theirs)
    docs = Document.objects.count()
    with pytest.raises(ValidationFailed):
        svc.musdes_record(actor=operator_a, village_code=VILLAGE_A, kind=MusdesKind.MUSDES, held_on=today(),
                          signed_by="Kepala Desa", minutes=minutes_pdf(),
                          decisions={ours.pk: (True, ""), theirs.pk: (True, "")})
    ours.refresh_from_db()
    assert ours.status == U.TO_MUSDES
    assert not Musdes.objects.exists()
    assert Document.objects.count() == docs


def _ratified(operator_a, dinsos, worker, ratifier, payload, number):
    usulan = svc.usulan_create(actor=operator_a, kind=UsulanKind.NEW_FAMILY, village_code=VILLAGE_A, payload=payload)
    svc.usulan_to_musdes(actor=operator_a, usulan=usulan)
    svc.musdes_record(actor=operator_a, village_code=VILLAGE_A, kind=MusdesKind.MUSDES, held_on=today(),
                      signed_by="Kepala Desa", minutes=minutes_pdf(), decisions={usulan.pk: (True, "")})
    svc.usulan_send_to_dinsos(actor=operator_a, usulan=usulan)
    visit = svc.usulan_order_visit(actor=dinsos, usulan=usulan, worker=worker, due_on=today())
    visit_submit(actor=worker, visit=visit, outcome="ditemukan", visited_on=today(), interview={},
                 condition=CONDITION, photos=[("house_front", jpeg())])
    svc.usulan_verify(actor=dinsos, usulan=usulan)
    svc.penetapan_create(actor=ratifier, region_code="34.01", decree_number=number, decree_date=today(),
                         usulan_ids=[usulan.pk])
    return Usulan.objects.get(pk=usulan.pk)


@pytest.mark.django_db
def test_cutoff_failure_half_way_leaves_no_trace(operator_a, dinsos, worker, ratifier, system, geotagged_a,
                                                 monkeypatch):
    good = _ratified(operator_a, dinsos, worker, ratifier, NEW_FAMILY, "1/2026")
    other = {**NEW_FAMILY, "kk_number": "3401012001260078", "members": [
        {"nik": "3401010101850007", "name": "WAGIMAN", "sex": "L", "birth_date": "1985-01-01",
         "relationship": "kepala"}]}
    bad = _ratified(operator_a, dinsos, worker, ratifier, other, "2/2026")
    real = reg.condition_record

    def failing(*, family, **kw):  # the second family's condition fails after its family row was written
        if family.kk_number == "3401012001260078":
            raise ValidationFailed("Kondisi ditolak (uji).", "Condition refused (test).")
        return real(family=family, **kw)

    monkeypatch.setattr(reg, "condition_record", failing)
    sched = current_schedule(today())
    result = cutoff_run(actor=system, month=sched.month, today=sched.cutoff)
    assert result.applied == [good.reference]
    assert [r for r, _ in result.returned] == [bad.reference]
    bad.refresh_from_db()
    assert bad.status == U.RETURNED
    assert "Kondisi ditolak" in bad.return_reason
    assert not Family.objects.filter(kk_number="3401012001260078").exists()
    assert not Person.objects.filter(nik_hash=nik_hash("3401010101850007")).exists()
    assert Family.objects.filter(kk_number="3401012001260077").count() == 1


@pytest.mark.django_db
def test_visit_with_one_photo_without_gps_stores_nothing(operator_a, dinsos, worker, geotagged_a):
    usulan = _usulan_in(U.DINSOS_CHECK, operator_a, geotagged_a)
    visit = svc.usulan_order_visit(actor=dinsos, usulan=usulan, worker=worker, due_on=today())
    docs = Document.objects.count()
    with pytest.raises(ValidationFailed):
        visit_submit(actor=worker, visit=visit, outcome="ditemukan", visited_on=today(), interview={},
                     condition=CONDITION, photos=[("house_front", jpeg()), ("house_inside", jpeg(lat=None))])
    visit.refresh_from_db()
    assert visit.status == VisitStatus.ASSIGNED
    assert Document.objects.count() == docs


@pytest.mark.django_db
def test_only_the_assigned_worker_submits(operator_a, dinsos, worker, worker_wates, geotagged_a):
    usulan = _usulan_in(U.DINSOS_CHECK, operator_a, geotagged_a)
    with pytest.raises(ValidationFailed):  # a worker whose region does not cover the family
        svc.usulan_order_visit(actor=dinsos, usulan=usulan, worker=worker_wates, due_on=today())
    visit = svc.usulan_order_visit(actor=dinsos, usulan=usulan, worker=worker, due_on=today())
    with pytest.raises(ApplicationError):
        visit_submit(actor=worker_wates, visit=visit, outcome="ditemukan", visited_on=today(), interview={},
                     condition=None, photos=[("house_front", jpeg())])
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.ASSIGNED
    assert not Submission.objects.exclude(status=SubmissionStatus.SUBMITTED).exists()
