"""The Dinsos page of the ODK bridge: the XLSForm download, an uploaded export imported with a row per
submission, and who may use it."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dtsen.fieldforms.models import ImportedSubmission
from dtsen.fieldforms.xlsform import form_version
from dtsen.updates.models import VisitStatus
from tests.fieldforms.conftest import answers, central_zip, gps_photo

pytestmark = pytest.mark.django_db


def _zip(tmp_path, rows):
    media = {"1732781234567.jpg": gps_photo()}
    path = central_zip(tmp_path / "dtsen_kunjungan.zip", rows, media)
    return SimpleUploadedFile("dtsen_kunjungan.zip", path.read_bytes(), content_type="application/zip")


def test_dinsos_uploads_an_export_and_sees_each_row(client, dinsos, task, task_wates, tmp_path):
    photos = {"photo_house_front": "1732781234567.jpg"}
    rows = [answers(task, "pendamping.temon", photos=photos),
            answers(task_wates, "pendamping.temon", photos=photos)]
    client.force_login(dinsos)
    page = client.get(reverse("fieldforms:import"))
    assert page.status_code == 200
    assert form_version() in page.content.decode()
    response = client.post(reverse("fieldforms:import"), {"export": _zip(tmp_path, rows), "dry_run": "1"})
    body = response.content.decode()
    assert 'data-status="would_accept"' in body
    assert 'data-code="outside_worker_region"' in body
    assert not ImportedSubmission.objects.exists()
    response = client.post(reverse("fieldforms:import"), {"export": _zip(tmp_path, rows)})
    body = response.content.decode()
    assert 'data-status="accepted"' in body
    assert "di luar wilayah" in body
    task.refresh_from_db()
    assert task.status == VisitStatus.DONE
    assert ImportedSubmission.objects.get().visit == task


def test_bad_upload_is_refused_with_a_message(client, dinsos):
    client.force_login(dinsos)
    bad = SimpleUploadedFile("foto.jpg", b"bukan ekspor", content_type="image/jpeg")
    response = client.post(reverse("fieldforms:import"), {"export": bad})
    assert response.status_code == 400
    assert 'data-error-code="file_type_unsupported"' in response.content.decode()


def test_only_dinsos_imports_and_workers_download_the_form(client, worker, dinsos):
    assert client.get(reverse("fieldforms:import")).status_code == 302  # to the login page
    client.force_login(worker)
    assert client.get(reverse("fieldforms:import")).status_code == 403
    form = client.get(reverse("fieldforms:form"))
    assert form.status_code == 200
    assert form["Content-Disposition"] == f'attachment; filename="dtsen_kunjungan-{form_version()}.xlsx"'
    assert form.content[:2] == b"PK"
