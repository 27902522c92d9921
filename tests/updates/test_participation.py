"""The participation channel through the services: automatic rejections with the reason, the Dinsos queue,
and a verified sanggah that becomes a deactivation in the formal channel (nothing deleted)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from dtsen.accounts.services import system_actor
from dtsen.core.errors import PermissionDenied, ValidationFailed
from dtsen.registry import choices as c
from dtsen.registry.models import Family, Person
from dtsen.registry.services import family_register
from dtsen.updates import services as svc
from dtsen.updates import submissions as sub
from dtsen.updates.cutoff import cutoff_run
from dtsen.updates.models import AutoRejectReason, Submission, SubmissionStatus, Usulan, UsulanKind, UsulanStatus
from dtsen.updates.schedule import current_schedule
from dtsen.updates.visits import visit_submit
from tests.registry.factories import VILLAGE_A, condition, person
from tests.updates.conftest import CONDITION, jpeg

pytestmark = pytest.mark.django_db
S = SubmissionStatus


def today() -> dt.date:
    return timezone.localdate()


@pytest.fixture
def neighbour(db) -> Family:
    """Pak Karto's family, also in Siti's desa; his wife Sumini is contested as deceased."""
    head = person("34.01.01", dt.date(1950, 4, 2), "L", 31, "Karto Wiyono", c.Relationship.HEAD,
                  marital_status=c.MaritalStatus.MARRIED)
    wife = person("34.01.01", dt.date(1952, 8, 9), "P", 31, "Sumini", c.Relationship.SPOUSE,
                  marital_status=c.MaritalStatus.MARRIED)
    return family_register(actor=system_actor(), channel=c.Channel.REGSOSEK, reason="Regsosek 2022",
                           kk_number="3401012001150031", village_code=VILLAGE_A, head=head, members=[wife],
                           rw="02", rt="005", address="Dusun Kepek", condition=condition())


def usul(active, nik: str, **kw) -> Submission:
    return sub.usul_registration(actor=active.user, proposed_who="keluarga_lain", nik=nik, name="TUKIYEM",
                                 kk_number="3401012001260091", village_code=VILLAGE_A, rw="1", rt="2",
                                 address="Dusun Sidorejo", documents=[("house_front", jpeg())], **kw)


def test_usul_invalid_nik_is_rejected_at_once_with_the_reason(active):
    item = usul(active, "3401013213990001")  # day 32
    assert item.status == S.REJECTED
    assert item.auto_reject_reason == AutoRejectReason.NIK_INVALID
    assert item.reference.startswith("USG-")
    assert item.decision_reason


def test_duplicate_usul_is_rejected(active):
    first = usul(active, "3401014406880002")
    assert first.status == S.SUBMITTED
    second = usul(active, "3401014406880002")
    assert second.status == S.REJECTED
    assert second.auto_reject_reason == AutoRejectReason.DUPLICATE
    assert Submission.objects.filter(status=S.SUBMITTED).count() == 1


def test_usul_of_someone_already_registered_is_rejected(active, family_a):
    from tests.updates.conftest import member, nik_of

    item = usul(active, nik_of(member(family_a, c.Relationship.HEAD)))
    assert item.auto_reject_reason == AutoRejectReason.ALREADY_REGISTERED


def test_program_usul_checks_exclusion_and_unknown_nik(active, family_a, neighbour):
    from tests.updates.conftest import member, nik_of

    excluded = sub.usul_program(actor=active.user, nik=nik_of(member(family_a, c.Relationship.HEAD)), program="pkh")
    assert excluded.auto_reject_reason == AutoRejectReason.EXCLUDED  # family A's child is a village official
    unknown = sub.usul_program(actor=active.user, nik="3401014406880002", program="pkh")
    assert unknown.auto_reject_reason == AutoRejectReason.NIK_UNKNOWN
    ok = sub.usul_program(actor=active.user, nik=nik_of(member(neighbour, c.Relationship.HEAD)), program="pkh")
    assert ok.status == S.SUBMITTED
    assert ok.family == neighbour


def test_usul_needs_a_house_photo(active):
    with pytest.raises(ValidationFailed):
        sub.usul_registration(actor=active.user, proposed_who="keluarga_lain", nik="3401014406880002",
                              name="TUKIYEM", village_code=VILLAGE_A, documents=[])
    assert not Submission.objects.exists()


def test_sanggah_outside_own_village_is_refused(active, family_b):
    with pytest.raises(PermissionDenied) as err:
        sub.sanggah_create(actor=active.user, family_id=family_b.pk, reason="mampu", description="Punya mobil")
    assert err.value.code == "outside_village"
    assert not Submission.objects.exists()


def test_inactive_citizen_cannot_submit(awaiting, neighbour):
    with pytest.raises(PermissionDenied):
        sub.sanggah_create(actor=awaiting.user, family_id=neighbour.pk, reason="mampu", description="x")


def test_sanggah_deceased_verified_becomes_deactivation(active, neighbour, dinsos, worker, ratifier):
    wife = Person.objects.get(family=neighbour, relationship=c.Relationship.SPOUSE)
    item = sub.sanggah_create(actor=active.user, family_id=neighbour.pk, person_id=wife.pk, reason="meninggal",
                              description="Bu Sumini meninggal bulan lalu")
    assert item.status == S.SUBMITTED
    again = sub.sanggah_create(actor=active.user, family_id=neighbour.pk, person_id=wife.pk, reason="meninggal",
                               description="lagi")
    assert again.auto_reject_reason == AutoRejectReason.DUPLICATE
    visit = sub.submission_order_visit(actor=dinsos, submission=item, worker=worker, due_on=today())
    visit_submit(actor=worker, visit=visit, outcome="meninggal", visited_on=today(),
                 interview={"notes": "Keterangan dari ketua RT"}, condition=None, photos=[("house_front", jpeg())])
    item = sub.submission_verify(actor=dinsos, submission=item)
    item = sub.submission_accept(actor=dinsos, submission=item, note="Terbukti")
    assert item.status == S.ACCEPTED
    usulan = Usulan.objects.get(submission=item)
    assert usulan.kind == UsulanKind.DEACTIVATION
    assert usulan.status == UsulanStatus.VERIFIED
    assert usulan.person == wife
    assert usulan.origin == "warga"
    wife.refresh_from_db()
    assert wife.life_status == c.LifeStatus.ALIVE  # nothing changes before ratification and the cut-off
    svc.penetapan_create(actor=ratifier, region_code="34.01", decree_number="460/9/2026", decree_date=today(),
                         usulan_ids=[usulan.pk])
    sched = current_schedule(today())
    cutoff_run(actor=system_actor(), month=sched.month, today=sched.cutoff)
    wife.refresh_from_db()
    usulan.refresh_from_db()
    assert usulan.status == UsulanStatus.APPLIED
    assert wife.life_status == c.LifeStatus.DECEASED
    assert wife.death_source == c.DeathSource.SANGGAH
    assert Person.objects.filter(pk=wife.pk).exists()
    assert wife.history.count() >= 2
    assert Family.objects.get(pk=neighbour.pk).status == c.RecordStatus.ACTIVE  # Pak Karto still lives there


def test_rejected_sanggah_keeps_reason(active, neighbour, dinsos):
    item = sub.sanggah_create(actor=active.user, family_id=neighbour.pk, reason="mampu", description="Rumahnya besar")
    item = sub.submission_reject(actor=dinsos, submission=item, reason="Rumah milik orang tua, bukan KPM")
    assert item.status == S.REJECTED
    assert "orang tua" in item.decision_reason


def test_own_correction_becomes_correction_with_visit_condition(active, dinsos, worker, family_a):
    item = sub.own_correction(actor=active.user, description="Atap sudah bocor, dinding bambu",
                              address={"rw": "3", "rt": "11", "address": "Dusun Sidorejo"})
    visit = sub.submission_order_visit(actor=dinsos, submission=item, worker=worker, due_on=today())
    visit_submit(actor=worker, visit=visit, outcome="ditemukan", visited_on=today(), interview={},
                 condition=CONDITION, photos=[("house_front", jpeg())])
    sub.submission_verify(actor=dinsos, submission=item)
    item = sub.submission_accept(actor=dinsos, submission=item)
    usulan = Usulan.objects.get(submission=item)
    assert usulan.kind == UsulanKind.CORRECTION
    assert usulan.payload["condition_from_visit"] is True


def test_sanggah_exclusion_category_named_by_the_verifier(active, neighbour, dinsos, worker):
    head = Person.objects.get(family=neighbour, relationship=c.Relationship.HEAD)
    item = sub.sanggah_create(actor=active.user, family_id=neighbour.pk, person_id=head.pk, reason="asn_tni_polri",
                              description="Pensiunan guru PNS")
    visit = sub.submission_order_visit(actor=dinsos, submission=item, worker=worker, due_on=today())
    visit_submit(actor=worker, visit=visit, outcome="ditemukan", visited_on=today(), interview={}, condition=None,
                 photos=[("house_front", jpeg())])
    sub.submission_verify(actor=dinsos, submission=item)
    with pytest.raises(ValidationFailed):
        sub.submission_accept(actor=dinsos, submission=item, exclusion_category="bukan_kategori")
    item = sub.submission_accept(actor=dinsos, submission=item, exclusion_category="pensiunan")
    usulan = Usulan.objects.get(submission=item)
    assert usulan.payload == {"reason": "pengecualian", "category": "pensiunan",
                              "note": f"Sanggah {item.reference}: Pensiunan guru PNS"}


def test_program_usul_of_a_current_recipient_is_rejected(active, neighbour):
    from dtsen.programs.models import Membership
    from tests.updates.conftest import member, nik_of

    Membership.objects.create(family=neighbour, program="pkh", status="aktif", since=today())
    item = sub.usul_program(actor=active.user, nik=nik_of(member(neighbour, c.Relationship.HEAD)), program="pkh")
    assert item.auto_reject_reason == AutoRejectReason.ALREADY_RECIPIENT
    other = sub.usul_program(actor=active.user, nik=nik_of(member(neighbour, c.Relationship.HEAD)), program="sembako")
    assert other.status == S.SUBMITTED
