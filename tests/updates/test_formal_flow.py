"""The formal channel end to end through the services: draft, musdes, Dinsos check, visit, ratification,
cut-off into the registry, and a provisional desil from the latest ranking run."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from dtsen.core.errors import ValidationFailed
from dtsen.registry.crypto import nik_hash
from dtsen.registry.models import Family, Person
from dtsen.updates import services as svc
from dtsen.updates.cutoff import cutoff_run
from dtsen.updates.models import MusdesKind, Transition, UsulanKind, UsulanStatus, VisitFlag
from dtsen.updates.schedule import current_schedule
from dtsen.updates.visits import visit_submit
from tests.ranking import conftest_run as fx
from tests.updates.conftest import CONDITION, NEW_FAMILY, VILLAGE_A, jpeg, minutes_pdf

pytestmark = pytest.mark.django_db
U = UsulanStatus
synth_dir = fx.synth_dir
work_dir = fx.work_dir


def today() -> dt.date:
    return timezone.localdate()


def new_family_to_verified(operator_a, dinsos, worker, geotagged_a):
    usulan = svc.usulan_create(actor=operator_a, kind=UsulanKind.NEW_FAMILY, village_code=VILLAGE_A,
                               payload=NEW_FAMILY)
    assert usulan.status == U.DRAFT
    assert usulan.reference.startswith("USL-")
    assert "3401011203900005" not in str(usulan.payload)  # the NIK is kept encrypted only
    svc.usulan_to_musdes(actor=operator_a, usulan=usulan)
    svc.musdes_record(actor=operator_a, village_code=VILLAGE_A, kind=MusdesKind.MUSDES, held_on=today(),
                      signed_by="Kepala Desa Sutrisno", minutes=minutes_pdf(), decisions={usulan.pk: (True, "layak")})
    usulan = svc.usulan_send_to_dinsos(actor=operator_a, usulan=usulan)
    assert usulan.status == U.DINSOS_CHECK
    visit = svc.usulan_order_visit(actor=dinsos, usulan=usulan, worker=worker, due_on=today() + dt.timedelta(days=7))
    visit = visit_submit(actor=worker, visit=visit, outcome="ditemukan", visited_on=today(),
                         interview={"income_monthly": "1.200.000", "occupation": "Buruh tani", "aid_received": []},
                         condition=CONDITION, photos=[("house_front", jpeg()), ("house_inside", jpeg("dalam.jpg"))])
    assert visit.status == "selesai"
    assert visit.flags == []
    usulan = svc.usulan_verify(actor=dinsos, usulan=usulan)
    assert usulan.status == U.VERIFIED
    return usulan


def test_new_family_from_draft_to_registry(operator_a, dinsos, worker, ratifier, system, geotagged_a):
    usulan = new_family_to_verified(operator_a, dinsos, worker, geotagged_a)
    assert not Person.objects.filter(nik_hash=nik_hash("3401011203900005")).exists()  # nothing written yet
    batch = svc.penetapan_create(actor=ratifier, region_code="34.01", decree_number="460/123/2026",
                                 decree_date=today(), usulan_ids=[usulan.pk])
    usulan.refresh_from_db()
    assert usulan.status == U.RATIFIED
    assert usulan.penetapan == batch
    sched = current_schedule(today())  # the first cut-off on or after the decree
    result = cutoff_run(actor=system, month=sched.month, today=sched.cutoff)
    usulan.refresh_from_db()
    assert result.applied == [usulan.reference]
    assert usulan.status == U.APPLIED
    family = Family.objects.get(pk=usulan.applied_family_id)
    assert family.kk_number == "3401012001260077"
    assert family.village_code == VILLAGE_A
    assert family.members.count() == 2
    cond = family.conditions.get()
    assert cond.channel == "ground_check"
    assert cond.source_ref == usulan.reference
    assert cond.asset_motorcycle
    assert family.history.first().history_channel == "musdes"
    steps = list(Transition.objects.filter(workflow="usulan", object_id=usulan.pk).values_list("to_status", flat=True))
    assert steps == [U.DRAFT, U.TO_MUSDES, U.MUSDES_APPROVED, U.DINSOS_CHECK, U.FIELD_CHECK, U.VERIFIED, U.RATIFIED,
                     U.APPLIED]
    # a second cut-off run applies nothing twice
    again = cutoff_run(actor=system, month=sched.month, today=sched.cutoff)
    assert again.applied == []
    assert Family.objects.filter(kk_number="3401012001260077").count() == 1


def test_returned_incomplete_then_resubmitted(operator_a, dinsos, geotagged_a):
    usulan = svc.usulan_create(actor=operator_a, kind=UsulanKind.NEW_FAMILY, village_code=VILLAGE_A,
                               payload=NEW_FAMILY)
    svc.usulan_to_musdes(actor=operator_a, usulan=usulan)
    svc.musdes_record(actor=operator_a, village_code=VILLAGE_A, kind=MusdesKind.SPTJM, held_on=today(),
                      signed_by="Kepala Desa", minutes=minutes_pdf(), decisions={usulan.pk: (True, "")})
    svc.usulan_send_to_dinsos(actor=operator_a, usulan=usulan)
    usulan = svc.usulan_return(actor=dinsos, usulan=usulan, reason="Alamat RT/RW kurang lengkap, lampirkan KK")
    assert usulan.status == U.RETURNED
    assert "RT/RW" in usulan.return_reason
    fixed = {**NEW_FAMILY, "address": "Dusun Kaligintung RT 12 RW 4"}
    usulan = svc.usulan_edit(actor=operator_a, usulan=usulan, payload=fixed, reason="Alamat dilengkapi")
    usulan = svc.usulan_send_to_dinsos(actor=operator_a, usulan=usulan)
    assert usulan.status == U.DINSOS_CHECK
    assert usulan.payload["address"].endswith("RW 4")
    assert usulan.return_reason == ""


def test_visit_flags_far_and_early_photo(operator_a, dinsos, worker, geotagged_a):
    usulan = svc.usulan_create(actor=operator_a, kind=UsulanKind.DEACTIVATION, village_code=VILLAGE_A,
                               family=geotagged_a, payload={"reason": "mampu"})
    svc.usulan_to_musdes(actor=operator_a, usulan=usulan)
    svc.musdes_record(actor=operator_a, village_code=VILLAGE_A, kind=MusdesKind.MUSDES, held_on=today(),
                      signed_by="Kepala Desa", minutes=minutes_pdf(), decisions={usulan.pk: (True, "")})
    svc.usulan_send_to_dinsos(actor=operator_a, usulan=usulan)
    visit = svc.usulan_order_visit(actor=dinsos, usulan=usulan, worker=worker, due_on=today())
    from tests.updates.conftest import FAR_AWAY
    early = timezone.now() - dt.timedelta(days=3)
    visit = visit_submit(actor=worker, visit=visit, outcome="ditemukan", visited_on=today(), interview={},
                         condition=None, photos=[("house_front", jpeg(lat=FAR_AWAY[0], lon=FAR_AWAY[1], taken=early))])
    assert set(visit.flags) == {VisitFlag.FAR, VisitFlag.PHOTO_BEFORE_TASK}
    assert visit.distance_km > 300


def test_photo_without_gps_refused_and_task_stays_open(operator_a, dinsos, worker, geotagged_a):
    usulan = svc.usulan_create(actor=operator_a, kind=UsulanKind.PROGRAM, village_code=VILLAGE_A,
                               family=geotagged_a, payload={"program": "pkh"})
    svc.usulan_to_musdes(actor=operator_a, usulan=usulan)
    svc.musdes_record(actor=operator_a, village_code=VILLAGE_A, kind=MusdesKind.MUSDES, held_on=today(),
                      signed_by="Kepala Desa", minutes=minutes_pdf(), decisions={usulan.pk: (True, "")})
    svc.usulan_send_to_dinsos(actor=operator_a, usulan=usulan)
    visit = svc.usulan_order_visit(actor=dinsos, usulan=usulan, worker=worker, due_on=today())
    with pytest.raises(ValidationFailed) as err:
        visit_submit(actor=worker, visit=visit, outcome="ditemukan", visited_on=today(), interview={},
                     condition=None, photos=[("house_front", jpeg(lat=None))])
    assert err.value.code == "photo_without_gps"
    visit.refresh_from_db()
    assert visit.status == "ditugaskan"
    assert visit.photos.count() == 0


def test_applied_new_family_gets_a_provisional_desil(operator_a, dinsos, worker, ratifier, system, geotagged_a,
                                                    synth_dir, work_dir):
    """After the cut-off the new family has no desil of its own yet: the latest run's cut-points give it a
    provisional one, until the next run ranks it."""
    from dtsen.ranking import services as ranking
    from dtsen.ranking.selectors import family_desil

    fx.registry_load(synth_dir, limit=300)
    ranking.ranking_run(actor=system, period="2026-Q4", cutoff=today(), work_dir=work_dir)
    usulan = new_family_to_verified(operator_a, dinsos, worker, geotagged_a)
    svc.penetapan_create(actor=ratifier, region_code="34.01", decree_number="460/7/2026", decree_date=today(),
                         usulan_ids=[usulan.pk])
    sched = current_schedule(today())
    cutoff_run(actor=system, month=sched.month, today=sched.cutoff)
    usulan.refresh_from_db()
    family = Family.objects.get(pk=usulan.applied_family_id)
    desil = family_desil(actor=dinsos, family=family, explain=False)
    assert desil.provisional
    assert desil.run is not None
    assert desil.desil in range(1, 11)
