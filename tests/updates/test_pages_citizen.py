"""The participation channel through the pages: a citizen's usul rejected automatically (invalid NIK, duplicate),
a sanggah "deceased" verified by a field visit and turned into a deactivation that the cut-off applies, and
the refusals (a family outside the citizen's village, an account not yet verified, a missing house photo)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from dtsen.accounts.services import system_actor
from dtsen.registry import choices as c
from dtsen.registry.models import Family, Person
from dtsen.registry.services import family_register
from dtsen.updates import services as svc
from dtsen.updates.cutoff import cutoff_run
from dtsen.updates.models import (
    AutoRejectReason,
    Origin,
    Submission,
    SubmissionStatus,
    Transition,
    Usulan,
    UsulanKind,
    UsulanStatus,
    Visit,
)
from dtsen.updates.schedule import current_schedule
from tests.registry.factories import condition, person
from tests.updates.conftest import VILLAGE_A, jpeg, staff

pytestmark = pytest.mark.django_db
S = SubmissionStatus
VALID_UNKNOWN_NIK = "3401011203900005"  # parses (Temon, born 12-03-1990), not in the registry


def today() -> dt.date:
    return timezone.localdate()


def label(choice) -> str:
    with translation.override("id"):
        return escape(str(choice.label))


@pytest.fixture
def dinsos_bantul(db):
    return staff("dinsos.bantul", "dinsos_verifier", "34.02")


@pytest.fixture
def neighbour(db) -> Family:
    """Another family of VILLAGE_A (Siti's village): Pak Harjo and his mother, Mbah Sainem."""
    head = person("34.01.01", dt.date(1970, 8, 17), "L", 31, "Harjo Wiyono", c.Relationship.HEAD,
                  marital_status=c.MaritalStatus.MARRIED)
    mother = person("34.01.01", dt.date(1940, 1, 5), "P", 32, "Sainem", c.Relationship.PARENT,
                    marital_status=c.MaritalStatus.WIDOWED)
    return family_register(
        actor=system_actor(), channel=c.Channel.REGSOSEK, reason="Pendataan awal Regsosek 2022",
        kk_number="3401012001250031", village_code=VILLAGE_A, head=head, members=[mother], rw="02", rt="004",
        address="Dusun Kragilan", condition=condition(),
    )


def usul(client, nik: str, name: str = "PARJIYO") -> Submission:
    response = client.post(reverse("submissions:usul"), {
        "proposed_who": "keluarga_lain", "nik": nik, "name": name, "kk_number": "3401012001260077",
        "village_code": VILLAGE_A, "rw": "04", "rt": "012", "address": "Dusun Kaligintung",
        "description": "Rumah bambu, penghasilan tidak tetap", "house_front": jpeg(),
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    return Submission.objects.order_by("-pk").first()


# ------------------------------------------------------------------------------------- (b) automatic checks


def test_usul_with_invalid_nik_is_rejected_at_once_with_the_reason(client, active):
    client.force_login(active.user)
    assert client.get(reverse("submissions:usul")).status_code == 200
    sub = usul(client, "1234567890123456")
    assert sub.status == S.REJECTED
    assert sub.auto_reject_reason == AutoRejectReason.NIK_INVALID
    assert sub.reference.startswith("USG-")
    assert sub.documents.count() == 1
    page = client.get(reverse("submissions:detail", args=[sub.reference]))
    assert page.status_code == 200
    body = page.content.decode()
    assert sub.reference in body
    assert 'data-status="ditolak"' in body
    assert 'id="reject-reason"' in body
    assert label(AutoRejectReason.NIK_INVALID) in body
    listing = client.get(reverse("submissions:list")).content.decode()
    assert f'data-reference="{sub.reference}"' in listing
    assert label(AutoRejectReason.NIK_INVALID) in listing


def test_second_usul_for_the_same_nik_is_rejected_as_duplicate(client, active):
    client.force_login(active.user)
    first = usul(client, VALID_UNKNOWN_NIK)
    assert first.status == S.SUBMITTED
    assert first.auto_reject_reason == ""
    assert VALID_UNKNOWN_NIK not in str(first.payload)  # kept encrypted; the page shows it masked
    second = usul(client, VALID_UNKNOWN_NIK, name="PARJIYO BIN KARTO")
    assert second.status == S.REJECTED
    assert second.auto_reject_reason == AutoRejectReason.DUPLICATE
    body = client.get(reverse("submissions:detail", args=[second.reference])).content.decode()
    assert label(AutoRejectReason.DUPLICATE) in body
    listing = client.get(reverse("submissions:list")).content.decode()
    assert first.reference in listing
    assert second.reference in listing
    assert VALID_UNKNOWN_NIK not in listing
    assert VALID_UNKNOWN_NIK not in client.get(reverse("submissions:detail", args=[first.reference])).content.decode()


def test_usul_without_house_photo_is_refused_and_nothing_stored(client, active):
    client.force_login(active.user)
    response = client.post(reverse("submissions:usul"), {
        "proposed_who": "keluarga_lain", "nik": VALID_UNKNOWN_NIK, "name": "PARJIYO", "village_code": VILLAGE_A,
    })
    assert response.status_code == 400
    assert "Foto depan rumah" in response.content.decode()
    assert VALID_UNKNOWN_NIK not in response.content.decode()  # the NIK is not sent back into the page
    assert not Submission.objects.exists()


def test_program_usul_for_an_unknown_nik_and_own_correction(client, active):
    client.force_login(active.user)
    assert client.get(reverse("submissions:program")).status_code == 200
    response = client.post(reverse("submissions:program"), {"nik": VALID_UNKNOWN_NIK, "program": "pkh"})
    assert response.status_code == 302
    sub = Submission.objects.get()
    assert sub.auto_reject_reason == AutoRejectReason.NIK_UNKNOWN
    assert client.get(reverse("submissions:correction")).status_code == 200
    response = client.post(reverse("submissions:correction"), {"description": "Lantai sudah keramik", "rt": "012"})
    assert response.status_code == 302
    fix = Submission.objects.get(kind="perbaikan_sendiri")
    assert fix.status == S.SUBMITTED
    assert fix.payload == {"address": {"rt": "012"}}
    response = client.post(reverse("submissions:correction"), {"description": " "})
    assert response.status_code == 400


def test_account_not_yet_verified_gets_the_not_verified_message(client, awaiting):
    client.force_login(awaiting.user)
    for name in ("usul", "program", "sanggah", "correction"):
        response = client.get(reverse(f"submissions:{name}"))
        assert response.status_code == 403
        assert "belum diverifikasi" in response.content.decode()
    response = client.post(reverse("submissions:usul"), {"proposed_who": "keluarga_lain", "nik": VALID_UNKNOWN_NIK,
                                                         "name": "X", "house_front": jpeg()})
    assert response.status_code == 403
    assert not Submission.objects.exists()
    assert client.get(reverse("submissions:list")).status_code == 200  # an empty list


# ------------------------------------------------------------------------------------------- sanggah


def test_sanggah_on_a_family_outside_my_village_is_refused(client, active, family_b):
    client.force_login(active.user)
    head = Person.objects.get(pk=family_b.head_id)
    response = client.post(reverse("submissions:sanggah"), {
        "family_id": family_b.pk, "person_id": head.pk, "reason": "meninggal", "description": "Sudah meninggal",
        "evidence": jpeg(),
    })
    assert response.status_code == 403
    assert 'data-error-code="outside_village"' in response.content.decode()
    assert not Submission.objects.exists()
    # nor can the family be opened on the page
    response = client.get(reverse("submissions:sanggah") + f"?keluarga={family_b.pk}")
    assert response.status_code == 403
    assert "JOKO" not in response.content.decode().upper()


def test_sanggah_page_lists_only_my_village(client, active, neighbour, family_b):
    client.force_login(active.user)
    body = client.get(reverse("submissions:sanggah")).content.decode().upper()
    assert "HARJO WIYONO" in body
    assert "JOKO SUSILO" not in body
    body = client.get(reverse("submissions:sanggah") + f"?keluarga={neighbour.pk}").content.decode()
    assert "SAINEM" in body.upper()
    assert 'name="reason"' in body
    for member in neighbour.members.all():
        assert member.nik_hash not in body


def test_sanggah_deceased_verified_becomes_a_deactivation_applied_at_cutoff(
        client, active, neighbour, dinsos, worker, ratifier, system, geotagged_a):
    mother = Person.objects.get(family=neighbour, relationship=c.Relationship.PARENT)
    persons, families = Person.objects.count(), Family.objects.count()

    # the citizen contests Mbah Sainem: deceased
    client.force_login(active.user)
    response = client.post(reverse("submissions:sanggah"), {
        "family_id": neighbour.pk, "person_id": mother.pk, "reason": "meninggal",
        "description": "Mbah Sainem meninggal bulan lalu, masih tercatat penerima", "evidence": jpeg("makam.jpg"),
    })
    assert response.status_code == 302
    sub = Submission.objects.get()
    assert sub.status == S.SUBMITTED
    assert sub.person == mother
    assert sub.family == neighbour
    assert response["Location"] == reverse("submissions:detail", args=[sub.reference])

    # Dinsos sees it in the queue and orders a visit
    client.force_login(dinsos)
    assert sub.reference in client.get(reverse("submissions:dinsos_queue")).content.decode()
    page = client.get(reverse("submissions:dinsos_detail", args=[sub.pk])).content.decode()
    assert "SAINEM" in page.upper()
    assert f'value="{worker.pk}"' in page
    response = client.post(reverse("submissions:dinsos_order_visit", args=[sub.pk]), {
        "worker": worker.pk, "due_on": (today() + dt.timedelta(days=5)).isoformat(), "instructions": "Cek ke rumah",
    })
    assert response.status_code == 302
    sub.refresh_from_db()
    visit = Visit.objects.get(submission=sub)
    assert sub.status == S.FIELD_CHECK
    assert visit.assigned_to == worker

    # verify is refused before the visit is done
    response = client.post(reverse("submissions:dinsos_verify", args=[sub.pk]))
    assert response.status_code == 400
    sub.refresh_from_db()
    assert sub.status == S.FIELD_CHECK

    # the worker records the visit: deceased, with a KK photo taken at the house
    client.force_login(worker)
    page = client.get(reverse("updates:visit_detail", args=[visit.pk])).content.decode()
    assert "SAINEM" in page.upper()
    assert sub.reference in page
    response = client.post(reverse("updates:visit_detail", args=[visit.pk]), {
        "outcome": "meninggal", "visited_on": today().isoformat(), "notes": "Menurut keluarga, meninggal 3 minggu lalu",
        "photo_kk": jpeg("kk.jpg"), "photo_house_front": jpeg(),
    })
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == "selesai"
    assert visit.outcome == "meninggal"
    assert visit.flags == []

    # Dinsos verifies, then accepts: an usulan of the formal channel, verified, linked to the submission
    client.force_login(dinsos)
    page = client.get(reverse("submissions:dinsos_detail", args=[sub.pk])).content.decode()
    assert 'data-outcome="meninggal"' in page
    assert client.post(reverse("submissions:dinsos_verify", args=[sub.pk])).status_code == 302
    response = client.post(reverse("submissions:dinsos_accept", args=[sub.pk]), {"note": "Sesuai hasil kunjungan"})
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.status == S.ACCEPTED
    usulan = Usulan.objects.get(submission=sub)
    assert usulan.kind == UsulanKind.DEACTIVATION
    assert usulan.status == UsulanStatus.VERIFIED
    assert usulan.origin == Origin.CITIZEN
    assert usulan.person == mother
    assert usulan.payload["reason"] == "meninggal"

    # the citizen follows the status
    client.force_login(active.user)
    body = client.get(reverse("submissions:detail", args=[sub.reference])).content.decode()
    assert 'data-status="diterima"' in body
    steps = list(Transition.objects.filter(workflow="pengajuan", object_id=sub.pk).values_list("to_status", flat=True))
    assert steps == [S.SUBMITTED, S.FIELD_CHECK, S.VERIFIED, S.ACCEPTED]
    mother.refresh_from_db()
    assert mother.life_status == c.LifeStatus.ALIVE  # nothing changes before ratification and the cut-off

    # ratification and the month's cut-off mark her deceased; nothing was deleted
    svc.penetapan_create(actor=ratifier, region_code="34.01", decree_number="460/77/2026", decree_date=today(),
                         usulan_ids=[usulan.pk])
    sched = current_schedule(today())
    result = cutoff_run(actor=system, month=sched.month, today=sched.cutoff)
    assert result.applied == [usulan.reference]
    mother.refresh_from_db()
    assert mother.life_status == c.LifeStatus.DECEASED
    assert Person.objects.count() == persons
    assert Family.objects.count() == families


def test_dinsos_rejects_with_a_reason_the_citizen_reads(client, active, neighbour, dinsos, dinsos_bantul):
    client.force_login(active.user)
    head = Person.objects.get(pk=neighbour.head_id)
    client.post(reverse("submissions:sanggah"), {"family_id": neighbour.pk, "person_id": head.pk,
                                                 "reason": "asn_tni_polri", "description": "Katanya PNS"})
    sub = Submission.objects.get()
    # Dinsos of another kabupaten neither sees nor decides it
    client.force_login(dinsos_bantul)
    assert client.get(reverse("submissions:dinsos_detail", args=[sub.pk])).status_code == 404
    assert client.post(reverse("submissions:dinsos_reject", args=[sub.pk]), {"reason": "x"}).status_code == 404
    client.force_login(dinsos)
    response = client.post(reverse("submissions:dinsos_reject", args=[sub.pk]), {"reason": " "})
    assert response.status_code == 400
    response = client.post(reverse("submissions:dinsos_reject", args=[sub.pk]),
                           {"reason": "Tidak terdaftar sebagai ASN menurut data BKN"})
    assert response.status_code == 302
    client.force_login(active.user)
    body = client.get(reverse("submissions:detail", args=[sub.reference])).content.decode()
    assert 'data-status="ditolak"' in body
    assert "Tidak terdaftar sebagai ASN menurut data BKN" in body


def test_a_citizen_sees_only_own_submissions(client, active, neighbour, operator_a):
    client.force_login(active.user)
    ref = usul(client, VALID_UNKNOWN_NIK).reference
    client.force_login(operator_a)  # staff have no citizen account
    assert client.get(reverse("submissions:detail", args=[ref])).status_code == 404
    client.logout()
    response = client.get(reverse("submissions:detail", args=[ref]))
    assert response.status_code == 302
    assert "/warga/" in response["Location"]
