"""Bad input to the workflow services is refused with a bilingual message and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from dtsen.core.errors import ApplicationError, PermissionDenied, ValidationFailed
from dtsen.documents.models import Document
from dtsen.updates import services as svc
from dtsen.updates import submissions as sub
from dtsen.updates.models import Musdes, MusdesKind, Penetapan, Submission, Usulan, UsulanKind, UsulanStatus
from dtsen.updates.visits import visit_submit
from tests.updates.conftest import NEW_FAMILY, VILLAGE_A, jpeg, minutes_pdf

pytestmark = pytest.mark.django_db
U = UsulanStatus


def today() -> dt.date:
    return timezone.localdate()


@pytest.fixture
def waiting(operator_a, geotagged_a) -> Usulan:
    usulan = svc.usulan_create(actor=operator_a, kind=UsulanKind.PROGRAM, village_code=VILLAGE_A,
                               family=geotagged_a, payload={"program": "sembako"})
    return svc.usulan_to_musdes(actor=operator_a, usulan=usulan)


def _unchanged(usulan: Usulan) -> None:
    usulan.refresh_from_db()
    assert usulan.status == U.TO_MUSDES
    assert usulan.version == 2
    assert not Musdes.objects.exists()


@pytest.mark.parametrize(("upload", "code"), [
    (SimpleUploadedFile("ba.exe", b"MZ\x90\x00" + b"\0" * 2000, content_type="application/pdf"),
     "file_type_unsupported"),
    (SimpleUploadedFile("ba.pdf", b"%PDF-1.4\n" + b"0" * (8 * 1024 * 1024 + 1)), "file_too_large"),
])
def test_minutes_upload_refused(operator_a, waiting, upload, code):
    docs = Document.objects.count()
    with pytest.raises(ApplicationError) as err:
        svc.musdes_record(actor=operator_a, village_code=VILLAGE_A, kind=MusdesKind.MUSDES, held_on=today(),
                          signed_by="Kepala Desa", minutes=upload, decisions={waiting.pk: (True, "")})
    assert err.value.code == code
    assert err.value.message_id
    assert err.value.message_en
    _unchanged(waiting)
    assert Document.objects.count() == docs


def test_future_meeting_date_refused(operator_a, waiting):
    with pytest.raises(ValidationFailed) as err:
        svc.musdes_record(actor=operator_a, village_code=VILLAGE_A, kind=MusdesKind.MUSDES,
                          held_on=today() + dt.timedelta(days=1), signed_by="Kepala Desa", minutes=minutes_pdf(),
                          decisions={waiting.pk: (True, "")})
    assert err.value.extra["field"] == "held_on"
    _unchanged(waiting)


def _verified(operator_a, dinsos, worker, family) -> Usulan:
    usulan = svc.usulan_create(actor=operator_a, kind=UsulanKind.PROGRAM, village_code=VILLAGE_A, family=family,
                               payload={"program": "pkh"})
    svc.usulan_to_musdes(actor=operator_a, usulan=usulan)
    svc.musdes_record(actor=operator_a, village_code=VILLAGE_A, kind=MusdesKind.MUSKEL, held_on=today(),
                      signed_by="Lurah", minutes=minutes_pdf(), decisions={usulan.pk: (True, "")})
    svc.usulan_send_to_dinsos(actor=operator_a, usulan=usulan)
    visit = svc.usulan_order_visit(actor=dinsos, usulan=usulan, worker=worker, due_on=today())
    visit_submit(actor=worker, visit=visit, outcome="ditemukan", visited_on=today(), interview={}, condition=None,
                 photos=[("house_front", jpeg())])
    return svc.usulan_verify(actor=dinsos, usulan=usulan)


def test_future_decree_date_and_foreign_region_refused(operator_a, dinsos, worker, ratifier, ratifier_bantul,
                                                       geotagged_a):
    usulan = _verified(operator_a, dinsos, worker, geotagged_a)
    with pytest.raises(ValidationFailed):
        svc.penetapan_create(actor=ratifier, region_code="34.01", decree_number="1/2026",
                             decree_date=today() + dt.timedelta(days=2), usulan_ids=[usulan.pk])
    with pytest.raises(PermissionDenied):  # Bantul's ratifier, for Kulon Progo
        svc.penetapan_create(actor=ratifier_bantul, region_code="34.01", decree_number="1/2026",
                             decree_date=today(), usulan_ids=[usulan.pk])
    with pytest.raises(PermissionDenied):  # Bantul's ratifier, own region, Kulon Progo's usulan
        svc.penetapan_create(actor=ratifier_bantul, region_code="34.02", decree_number="1/2026",
                             decree_date=today(), usulan_ids=[usulan.pk])
    usulan.refresh_from_db()
    assert usulan.status == U.VERIFIED
    assert not Penetapan.objects.exists()


def test_visit_future_date_and_bad_photos_refused(operator_a, dinsos, worker, geotagged_a):
    usulan = svc.usulan_create(actor=operator_a, kind=UsulanKind.PROGRAM, village_code=VILLAGE_A,
                               family=geotagged_a, payload={"program": "pkh"})
    Usulan.objects.filter(pk=usulan.pk).update(status=U.DINSOS_CHECK)
    usulan.refresh_from_db()
    with pytest.raises(ValidationFailed):
        svc.usulan_order_visit(actor=dinsos, usulan=usulan, worker=worker, due_on=today() - dt.timedelta(days=1))
    visit = svc.usulan_order_visit(actor=dinsos, usulan=usulan, worker=worker, due_on=today())
    cases = [
        {"visited_on": today() + dt.timedelta(days=1), "photos": [("house_front", jpeg())]},
        {"visited_on": today(), "photos": [("house_front", SimpleUploadedFile("r.jpg", b"not an image at all"))]},
        {"visited_on": today(), "photos": [("house_inside", jpeg())]},  # found, but no front photo
        {"visited_on": today(), "photos": []},
    ]
    for case in cases:
        with pytest.raises(ApplicationError):
            visit_submit(actor=worker, visit=visit, outcome="ditemukan", interview={}, condition=None, **case)
    visit.refresh_from_db()
    assert visit.status == "ditugaskan"
    assert visit.photos.count() == 0


def test_new_family_payload_checked(operator_a):
    bad_nik = {**NEW_FAMILY, "members": [{**NEW_FAMILY["members"][0], "nik": "3401011203900000"}]}
    no_head = {**NEW_FAMILY, "members": NEW_FAMILY["members"][1:]}
    future = {**NEW_FAMILY, "members": [{**NEW_FAMILY["members"][0], "birth_date": "2999-01-01"}]}
    for payload in (bad_nik, no_head, future, {**NEW_FAMILY, "kk_number": "12"}):
        with pytest.raises(ValidationFailed):
            svc.usulan_create(actor=operator_a, kind=UsulanKind.NEW_FAMILY, village_code=VILLAGE_A, payload=payload)
    with pytest.raises(ValidationFailed):
        svc.usulan_create(actor=operator_a, kind=UsulanKind.NEW_FAMILY, village_code="34.01.01.9999",
                          payload=NEW_FAMILY)
    assert not Usulan.objects.exists()


def test_citizen_upload_not_an_image(active):
    with pytest.raises(ApplicationError) as err:
        sub.usul_registration(actor=active.user, proposed_who="keluarga_lain", nik="3401014406880002", name="TUKIYEM",
                              village_code=VILLAGE_A,
                              documents=[("house_front", SimpleUploadedFile("a.jpg", b"GIF89a"))])
    assert err.value.status in (400, 415)
    assert not Submission.objects.exists()


def test_correction_checked_at_draft(operator_a, geotagged_a):
    head = geotagged_a.head
    with pytest.raises(ValidationFailed):  # the head alone cannot be removed
        svc.usulan_create(actor=operator_a, kind=UsulanKind.CORRECTION, village_code=VILLAGE_A, family=geotagged_a,
                          payload={"members_remove": [{"person_id": head.pk, "removal_reason": "pindah"}]})
    with pytest.raises(ValidationFailed):  # a value the registry would refuse
        svc.usulan_create(actor=operator_a, kind=UsulanKind.CORRECTION, village_code=VILLAGE_A, family=geotagged_a,
                          payload={"members_update": [{"person_id": head.pk, "changes": {"sex": "X"}}]})
    ok = svc.usulan_create(actor=operator_a, kind=UsulanKind.CORRECTION, village_code=VILLAGE_A, family=geotagged_a,
                           payload={"members_update": [{"person_id": head.pk, "changes": {"occupation": "Petani"}}]})
    assert ok.status == U.DRAFT
    assert Usulan.objects.count() == 1


def test_deactivating_an_inactive_family_is_returned_at_cutoff(operator_a, dinsos, worker, ratifier, system,
                                                               geotagged_a):
    from dtsen.registry import choices as c
    from dtsen.registry.services import family_remove
    from dtsen.updates.cutoff import cutoff_run
    from dtsen.updates.schedule import current_schedule

    usulan = svc.usulan_create(actor=operator_a, kind=UsulanKind.DEACTIVATION, village_code=VILLAGE_A,
                               family=geotagged_a, payload={"reason": "mampu"})
    Usulan.objects.filter(pk=usulan.pk).update(status=U.VERIFIED)
    svc.penetapan_create(actor=ratifier, region_code="34.01", decree_number="5/2026", decree_date=today(),
                         usulan_ids=[usulan.pk])
    family_remove(actor=system, family=geotagged_a, removal_reason=c.RemovalReason.MOVED, channel=c.Channel.ADMIN,
                  reason="Pindah (data Dukcapil)")
    sched = current_schedule(today())
    result = cutoff_run(actor=system, month=sched.month, today=sched.cutoff)
    usulan.refresh_from_db()
    assert result.applied == []
    assert usulan.status == U.RETURNED
    assert "tidak aktif" in usulan.return_reason
    geotagged_a.refresh_from_db()
    assert geotagged_a.status_reason == c.RemovalReason.MOVED  # the earlier removal stands
