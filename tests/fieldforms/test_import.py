"""Importing an ODK Central export as visits: accepted submissions become visits with their photos and evidence
(through the same service as the phone page, audited on channel "odk"); a task outside the worker's region, a
photo without any position, a wrong task code, a missing attachment or a rejected submission is refused with a
bilingual reason and nothing written; importing again is a no-op; the JSON of Central's OData feed works too."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from dtsen.accounts.models import Role
from dtsen.audit.models import AuditRecord
from dtsen.documents.models import Document, DocumentKind
from dtsen.fieldforms.export import read_export
from dtsen.fieldforms.models import ImportedSubmission
from dtsen.fieldforms.services import ACCEPTED, REFUSED, SKIPPED, WOULD_ACCEPT, submissions_import
from dtsen.updates.models import Transition, Visit, VisitFlag, VisitStatus, Workflow
from dtsen.updates.visits import task_code
from tests.fieldforms.conftest import CONDITION, answers, central_zip, gps_photo, odata_json
from tests.updates.conftest import staff

pytestmark = pytest.mark.django_db
FAR = (Decimal("-6.200000"), Decimal("106.816666"))  # Jakarta


def run_import(path, importer, dry_run=False):
    subs, files = read_export(path)
    return submissions_import(importer=importer, submissions=subs, files=files, dry_run=dry_run)


def photos_found():
    return {"photo_house_front": "1732781234567.jpg", "photo_house_inside": "1732781299821.jpg"}


def media_found(**kw):
    return {"1732781234567.jpg": gps_photo(**kw), "1732781299821.jpg": gps_photo(**kw)}


def assert_untouched(visit: Visit, documents: int) -> None:
    visit.refresh_from_db()
    assert visit.status == VisitStatus.ASSIGNED
    assert visit.photos.count() == 0
    assert Document.objects.count() == documents
    assert not ImportedSubmission.objects.filter(visit=visit).exists()
    assert not AuditRecord.objects.filter(channel="odk", object_id=str(visit.pk)).exists()


def test_export_imports_into_a_visit_with_photos_and_evidence(tmp_path, task, worker, dinsos):
    row = answers(task, "pendamping.temon", photos=photos_found())
    path = central_zip(tmp_path / "dtsen_kunjungan.zip", [row], media_found())
    [result] = run_import(path, dinsos)
    assert result.status == ACCEPTED, result
    task.refresh_from_db()
    assert task.status == VisitStatus.DONE
    assert task.outcome == "ditemukan"
    assert task.photos.count() == 2
    assert {d.kind for d in task.photos.all()} == {DocumentKind.HOUSE_FRONT, DocumentKind.HOUSE_INSIDE}
    assert all(d.gps_lat is not None and d.taken_at is not None for d in task.photos.all())
    assert task.gps_lat is not None
    assert task.flags == []
    assert task.interview["income_monthly"] == 1_500_000
    assert task.interview["aid_received"] == ["pkh", "sembako"]
    assert task.candidate_condition["floor_material"] == CONDITION["floor_material"]
    assert task.candidate_condition["assets"] == ["motorcycle"]
    assert task.candidate_condition["power_va"] == 450
    record = ImportedSubmission.objects.get(instance_id=row["meta-instanceID"])
    assert record.visit_id == task.pk
    assert record.submitter == worker
    assert record.imported_by == dinsos
    odk = AuditRecord.objects.filter(channel="odk")
    assert odk.filter(action="odk_import", object_id=str(task.pk), actor_id=dinsos.pk).exists()
    assert odk.filter(actor_id=worker.pk, action="document_store").count() == 2
    assert odk.filter(actor_id=worker.pk).exclude(action="document_store").exists()  # the visit's transition


def test_reimport_of_the_same_export_is_a_no_op(tmp_path, task, dinsos):
    path = central_zip(tmp_path / "e.zip", [answers(task, "pendamping.temon", photos=photos_found())], media_found())
    assert run_import(path, dinsos)[0].status == ACCEPTED
    documents, audits = Document.objects.count(), AuditRecord.objects.count()
    [again] = run_import(path, dinsos)
    assert again.status == SKIPPED
    assert again.visit_id == task.pk
    assert Document.objects.count() == documents
    assert AuditRecord.objects.count() == audits
    assert ImportedSubmission.objects.count() == 1


def test_task_outside_the_workers_region_is_refused_and_nothing_written(tmp_path, task_wates, worker, dinsos):
    """The Temon facilitator sends a result for a task of a family in Wates."""
    documents = Document.objects.count()
    path = central_zip(tmp_path / "e.zip", [answers(task_wates, "pendamping.temon", photos=photos_found())],
                       media_found())
    [result] = run_import(path, dinsos)
    assert result.status == REFUSED
    assert result.code == "outside_worker_region"
    assert "wilayah" in result.reason_id
    assert "region" in result.reason_en
    assert_untouched(task_wates, documents)


def test_photo_without_gps_is_refused_and_form_geopoint_stands_in_for_exif(tmp_path, task, dinsos):
    documents = Document.objects.count()
    no_gps = {"1732781234567.jpg": gps_photo(lat=None)}
    front = {"photo_house_front": "1732781234567.jpg"}
    path = central_zip(tmp_path / "a.zip", [answers(task, "pendamping.temon", photos=front,
                                                    locations={"photo_house_front": None})], no_gps)
    [result] = run_import(path, dinsos)
    assert result.status == REFUSED
    assert result.code == "photo_without_gps"
    assert "GPS" in result.reason_id
    assert "GPS" in result.reason_en
    assert_untouched(task, documents)
    # the same photo with the geopoint the form took beside it: accepted, the position marked as the form's
    path = central_zip(tmp_path / "b.zip", [answers(task, "pendamping.temon", photos=front)], no_gps)
    [result] = run_import(path, dinsos)
    assert result.status == ACCEPTED, result
    task.refresh_from_db()
    photo = task.photos.get()
    assert photo.gps_lat == Decimal("-7.892100")
    assert photo.gps_accuracy_m == Decimal("4.8")
    assert photo.taken_at is not None  # the form's start time
    done = Transition.objects.get(workflow=Workflow.VISIT, object_id=task.pk, to_status=VisitStatus.DONE)
    assert done.evidence["gps_source"] == ["form"]


def test_far_and_early_photos_are_flagged_like_dtsen_visits(tmp_path, task, dinsos):
    early = timezone.now() - timezone.timedelta(days=3)
    path = central_zip(tmp_path / "e.zip", [answers(task, "pendamping.temon", photos=photos_found())],
                       media_found(lat=FAR[0], lon=FAR[1], taken=early))
    [result] = run_import(path, dinsos)
    assert result.status == ACCEPTED
    task.refresh_from_db()
    assert set(task.flags) == {VisitFlag.FAR, VisitFlag.PHOTO_BEFORE_TASK}


@pytest.mark.parametrize(("change", "code"), [
    ({"task": "WRONG"}, "task_code_invalid"),
    ({"SubmitterName": "tksk.temon"}, "task_not_assigned"),
    ({"SubmitterName": "tidak.ada"}, "submitter_unknown"),
    ({"ReviewState": "rejected"}, "odk_rejected"),
    ({"kunjungan-visited_on": "2001-01-01"}, "validation_failed"),
    ({"foto-photo_house_front": "tidak-ada.jpg"}, "attachment_missing"),
    ({"meta-instanceID": "", "KEY": ""}, "instance_id_missing"),
])
def test_refusals_have_a_bilingual_reason(tmp_path, task, dinsos, change, code):
    staff("tksk.temon", Role.TKSK, "34.01.01")  # another worker of Temon
    documents = Document.objects.count()
    row = answers(task, "pendamping.temon", photos=photos_found())
    if change.get("task") == "WRONG":
        good = task_code(task)
        change = {"task": good[:-1] + str((int(good[-1]) + 1) % 10)}
    path = central_zip(tmp_path / "e.zip", [row | change], media_found())
    [result] = run_import(path, dinsos)
    assert result.status == REFUSED
    assert result.code == code, result
    assert result.reason_id
    assert result.reason_en
    assert result.reason_id != result.reason_en
    assert_untouched(task, documents)


def test_importer_outside_the_task_region_is_refused(tmp_path, task, dinsos):
    bantul = staff("dinsos.bantul", Role.DINSOS_VERIFIER, "34.02")
    path = central_zip(tmp_path / "e.zip", [answers(task, "pendamping.temon", photos=photos_found())], media_found())
    [result] = run_import(path, bantul)
    assert result.code == "outside_importer_scope"


def test_each_submission_on_its_own_and_the_cli_report(tmp_path, task, task_wates, dinsos):
    rows = [answers(task_wates, "pendamping.temon", photos=photos_found()),
            answers(task, "pendamping.temon", photos=photos_found())]
    path = central_zip(tmp_path / "e.zip", rows, media_found())
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:  # some were refused
        call_command("odk", "import", str(path), "--dry-run", "--as", "dinsos.kp", "--format", "json", stdout=out,
                     verbosity=0)
    assert exit_.value.code == 2
    report = json.loads(out.getvalue())
    assert [r["status"] for r in report] == [REFUSED, WOULD_ACCEPT]
    assert Visit.objects.get(pk=task.pk).status == VisitStatus.ASSIGNED  # dry run: nothing written
    assert not ImportedSubmission.objects.exists()
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("odk", "import", str(path), "--format", "csv", stdout=out, verbosity=0)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("row,instance_id,task,submitter,status")
    assert ",refused," in lines[1]
    assert ",accepted," in lines[2]
    assert Visit.objects.get(pk=task.pk).status == VisitStatus.DONE
    assert Visit.objects.get(pk=task_wates.pk).status == VisitStatus.ASSIGNED
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("odk", "import", str(path), stdout=out, verbosity=0)
    assert "already_imported: 1" in out.getvalue()
    assert "refused: 1" in out.getvalue()


def test_folder_and_odata_json_export(tmp_path, task, dinsos):
    row = answers(task, "pendamping.temon", photos=photos_found())
    folder = tmp_path / "export"
    (folder / "attachments").mkdir(parents=True)
    for name, data in media_found().items():
        (folder / "attachments" / name).write_bytes(data)
    (folder / "Submissions.json").write_text(odata_json([row]))
    [result] = run_import(folder, dinsos)
    assert result.status == ACCEPTED, result
    assert result.instance_id == row["meta-instanceID"]
    task.refresh_from_db()
    assert task.photos.count() == 2
    assert task.interview["aid_received"] == ["pkh", "sembako"]
    assert task.candidate_condition["assets"] == ["motorcycle"]
