"""The social worker's visit pages through the test client: the task list (overdue marked), the task page
(family without NIK, phone camera inputs), the result with its flags, and every refusal with a clear message
and nothing changed (photo without GPS, oversized or non-image file, future date, someone else's task)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from dtsen.documents.models import Document
from dtsen.registry.crypto import nik_decrypt
from dtsen.updates import services as svc
from dtsen.updates.models import MusdesKind, UsulanKind, Visit, VisitFlag, VisitStatus
from tests.updates.conftest import CONDITION, FAR_AWAY, VILLAGE_A, jpeg, minutes_pdf

pytestmark = pytest.mark.django_db


def today() -> dt.date:
    return timezone.localdate()


@pytest.fixture
def task(operator_a, dinsos, worker, geotagged_a) -> Visit:
    """A deactivation usulan ("well-off") of family A past its village meeting, with a visit for the worker."""
    usulan = svc.usulan_create(actor=operator_a, kind=UsulanKind.DEACTIVATION, village_code=VILLAGE_A,
                               family=geotagged_a, payload={"reason": "mampu"})
    svc.usulan_to_musdes(actor=operator_a, usulan=usulan)
    svc.musdes_record(actor=operator_a, village_code=VILLAGE_A, kind=MusdesKind.MUSDES, held_on=today(),
                      signed_by="Kepala Desa", minutes=minutes_pdf(), decisions={usulan.pk: (True, "")})
    svc.usulan_send_to_dinsos(actor=operator_a, usulan=usulan)
    return svc.usulan_order_visit(actor=dinsos, usulan=usulan, worker=worker, due_on=today() + dt.timedelta(days=3),
                                  instructions="Cek aset kendaraan di rumah")


def url(visit: Visit) -> str:
    return reverse("updates:visit_detail", args=[visit.pk])


def form(outcome: str = "ditemukan", visited_on: dt.date | None = None, **extra) -> dict:
    data = {"outcome": outcome, "visited_on": (visited_on or today()).isoformat(), "income_monthly": "1.500.000",
            "occupation": "Buruh tani", "aid_received": ["pkh"], "notes": "Rumah semi permanen"}
    if outcome == "ditemukan":
        data |= {k: (str(v) if not isinstance(v, list) else v) for k, v in CONDITION.items()}
    return data | extra


def test_list_shows_my_tasks_and_marks_overdue(client, worker, task, worker_wates):
    client.force_login(worker)
    page = client.get(reverse("updates:visit_list"))
    assert page.status_code == 200
    body = page.content.decode()
    assert f'data-visit="{task.pk}"' in body
    assert "BUDI SANTOSO" in body.upper()
    assert "task-overdue" not in body
    assert reverse("updates:visit_list") in body  # the "Visit tasks" link in the main navigation
    Visit.objects.filter(pk=task.pk).update(due_on=today() - dt.timedelta(days=1))
    assert "task-overdue" in client.get(reverse("updates:visit_list")).content.decode()
    # another worker sees nothing of it
    client.force_login(worker_wates)
    assert f'data-visit="{task.pk}"' not in client.get(reverse("updates:visit_list")).content.decode()


def test_task_page_shows_the_family_without_nik_and_camera_inputs(client, worker, task, geotagged_a):
    client.force_login(worker)
    page = client.get(url(task))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Dusun Sidorejo" in body
    assert "011" in body
    assert "Jangkaran" in body
    assert "Cek aset kendaraan di rumah" in body
    for member in geotagged_a.members.all():
        assert nik_decrypt(member.nik_enc) not in body
    assert body.count('accept="image/*" capture="environment"') == 3
    assert 'name="outcome" value="ditemukan"' in body
    assert 'name="floor_material"' in body
    assert 'name="assets" value="motorcycle"' in body
    assert 'name="aid_received" value="pkh"' in body
    assert f'value="{today().isoformat()}"' in body  # the visit date defaults to today


def test_submit_found_with_condition_and_photos(client, worker, task):
    client.force_login(worker)
    data = form() | {"photo_house_front": jpeg(), "photo_house_inside": jpeg("dalam.jpg")}
    response = client.post(url(task), data)
    assert response.status_code == 302
    assert response["Location"] == url(task)
    task.refresh_from_db()
    assert task.status == VisitStatus.DONE
    assert task.outcome == "ditemukan"
    assert task.gps_lat is not None
    assert task.flags == []
    assert task.photos.count() == 2
    assert task.interview["income_monthly"] == 1_500_000
    assert task.interview["aid_received"] == ["pkh"]
    assert task.candidate_condition["floor_material"] == CONDITION["floor_material"]
    assert task.candidate_condition["assets"] == ["motorcycle"]
    page = client.get(url(task)).content.decode()
    assert 'id="visit-result"' in page
    assert 'id="no-flags"' in page
    assert " km" in page
    assert 'name="outcome"' not in page  # the form is gone once the task is done


def test_far_and_early_photo_flags_are_shown(client, worker, task):
    client.force_login(worker)
    early = timezone.now() - dt.timedelta(days=3)
    photo = jpeg(lat=FAR_AWAY[0], lon=FAR_AWAY[1], taken=early)
    assert client.post(url(task), form() | {"photo_house_front": photo}).status_code == 302
    task.refresh_from_db()
    assert set(task.flags) == {VisitFlag.FAR, VisitFlag.PHOTO_BEFORE_TASK}
    page = client.get(url(task)).content.decode()
    with translation.override("id"):
        for flag in (VisitFlag.FAR, VisitFlag.PHOTO_BEFORE_TASK):
            assert escape(str(flag.label)) in page
    assert re.search(rf"{int(task.distance_km)}[.,]\d km", page)  # 404,5 km in Indonesian


def _unchanged(task: Visit, documents_before: int) -> None:
    task.refresh_from_db()
    assert task.status == VisitStatus.ASSIGNED
    assert task.photos.count() == 0
    assert task.outcome == ""
    assert Document.objects.count() == documents_before


def test_photo_without_gps_is_refused_with_a_message(client, worker, task):
    client.force_login(worker)
    before = Document.objects.count()
    response = client.post(url(task), form() | {"photo_house_front": jpeg(lat=None)})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-error-code="photo_without_gps"' in body
    assert "GPS" in body
    assert 'name="outcome" value="ditemukan" required checked' in body  # the answers are kept
    _unchanged(task, before)


def test_oversized_and_non_image_uploads_are_refused(client, worker, task):
    client.force_login(worker)
    before = Document.objects.count()
    body = b"\xff\xd8\xff\xe0" + b"0" * (8 * 1024 * 1024 + 10)  # a JPEG header, then more than 8 MB
    big = SimpleUploadedFile("besar.jpg", body, content_type="image/jpeg")
    response = client.post(url(task), form() | {"photo_house_front": big})
    assert response.status_code == 413
    assert "8 MB" in response.content.decode()
    _unchanged(task, before)
    text = SimpleUploadedFile("foto.jpg", b"bukan foto, hanya teks", content_type="image/jpeg")
    response = client.post(url(task), form() | {"photo_house_front": text})
    assert response.status_code == 415
    assert 'data-error-code="file_type_unsupported"' in response.content.decode()
    _unchanged(task, before)


def test_future_date_and_missing_front_photo_are_refused(client, worker, task):
    client.force_login(worker)
    before = Document.objects.count()
    response = client.post(url(task), form(visited_on=today() + dt.timedelta(days=1)) | {"photo_house_front": jpeg()})
    assert response.status_code == 400
    assert "masa depan" in response.content.decode()
    _unchanged(task, before)
    response = client.post(url(task), form() | {"photo_kk": jpeg("kk.jpg")})
    assert response.status_code == 400
    assert "depan rumah" in response.content.decode()
    response = client.post(url(task), form(outcome="") | {"photo_house_front": jpeg()})
    assert response.status_code == 400
    response = client.post(url(task), form(visited_on=None) | {"visited_on": "kemarin", "photo_house_front": jpeg()})
    assert response.status_code == 400
    assert "TTTT-BB-HH" in response.content.decode()
    _unchanged(task, before)


def test_deceased_outcome_needs_no_condition(client, worker, task):
    client.force_login(worker)
    response = client.post(url(task), form(outcome="meninggal") | {"photo_kk": jpeg("kk.jpg")})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.outcome == "meninggal"
    assert task.candidate_condition is None


def test_someone_elses_task_is_not_found_and_login_is_required(client, worker_wates, dinsos, task):
    assert client.get(url(task)).status_code == 302  # to the login page
    client.force_login(worker_wates)
    assert client.get(url(task)).status_code == 404
    response = client.post(url(task), form() | {"photo_house_front": jpeg()})
    assert response.status_code == 404
    task.refresh_from_db()
    assert task.status == VisitStatus.ASSIGNED
    # Dinsos of the kabupaten may read the task, without the form
    client.force_login(dinsos)
    page = client.get(url(task))
    assert page.status_code == 200
    assert 'name="outcome"' not in page.content.decode()
