"""Importing ODK submissions of the visit form as visits (docs/odk.md).

Each submission is mapped to its task by the task code and to its worker by ODK's submitter name (the Central
App User, or Kobo account, named exactly like the dtsen username). It is refused, with a reason in Indonesian and
English, when the code is wrong, the worker unknown, the task outside the worker's region, assigned to someone
else, or no longer open, when the importing user may not handle visits of that village, when Central marked it
rejected, or when a photo is missing from the export. Otherwise it goes through `visits.visit_submit`, the
service the phone page uses, as the worker, on the audit channel "odk": the same answers checks, the same photo
evidence (GPS from EXIF; the form's geopoint for that photo when EXIF has none; no position at all is refused),
the same far-from-village and photo-before-task flags. Every submission is all or nothing in its own transaction,
and an accepted one is remembered by its instanceID, so importing the same export again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dtsen.accounts.permissions import REGISTRY_BULK, USULAN_CHECK, VISIT_DO
from dtsen.accounts.selectors import Actor, scope_for
from dtsen.audit.context import audit_context, current
from dtsen.audit.services import audit_record
from dtsen.core.errors import ApplicationError
from dtsen.fieldforms.export import Attachments, FieldSubmission
from dtsen.fieldforms.models import ImportedSubmission
from dtsen.fieldforms.xlsform import BOOLEAN_CHOICES, NONE_CHOICE
from dtsen.updates import visit_questions as vq
from dtsen.updates.models import Visit, VisitOutcome, VisitStatus
from dtsen.updates.visits import PhotoFix, task_id_from_code, visit_submit

CHANNEL = "odk"
ACCEPTED, REFUSED, SKIPPED, WOULD_ACCEPT = "accepted", "refused", "already_imported", "would_accept"


@dataclass
class RowResult:
    row: int
    instance_id: str
    task: str
    submitter: str
    status: str
    visit_id: int | None = None
    code: str = ""
    reason_id: str = ""
    reason_en: str = ""
    flags: str = ""


class Refused(Exception):
    def __init__(self, code: str, message_id: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code, self.message_id, self.message_en = code, message_id, message_en


class _DryRun(Exception):
    pass


def _refuse(code: str, message_id: str, message_en: str) -> Refused:
    return Refused(code, message_id, message_en)


def _submitter(name: str) -> Any:
    if not name:
        raise _refuse("submitter_missing", "Nama pengirim (SubmitterName) kosong.", "The submitter name is empty.")
    user = get_user_model().objects.filter(username__iexact=name.strip(), is_active=True).first()
    if user is None:
        raise _refuse("submitter_unknown", f"Pengirim '{name}' bukan pengguna dtsen yang aktif.",
                      f"Submitter '{name}' is not an active dtsen user.")
    return user


def _task(sub: FieldSubmission) -> Visit:
    visit_id = task_id_from_code(sub.task)
    if visit_id is None:
        raise _refuse("task_code_invalid", f"Kode tugas '{sub.task}' tidak valid (digit pemeriksa salah?).",
                      f"Task code '{sub.task}' is not valid (wrong check digit?).")
    visit = Visit.objects.filter(pk=visit_id).first()
    if visit is None:
        raise _refuse("task_not_found", f"Tugas kunjungan {sub.task} tidak ditemukan.",
                      f"Visit task {sub.task} not found.")
    return visit


def _check(sub: FieldSubmission, visit: Visit, worker: Any, importer: Actor) -> None:
    if sub.review_state.lower() in ("rejected", "validation_status_not_approved"):  # Central, Kobo
        raise _refuse("odk_rejected", "Kiriman ini ditolak peninjau di ODK Central.",
                      "This submission was rejected by a reviewer in ODK Central.")
    if not scope_for(worker, VISIT_DO).covers(visit.village_code):
        raise _refuse("outside_worker_region", "Tugas ini berada di luar wilayah tugas petugas pengirim.",
                      "This task is outside the submitting worker's region.")
    if visit.assigned_to_id != worker.pk:
        raise _refuse("task_not_assigned", "Tugas ini tidak ditugaskan kepada petugas pengirim.",
                      "This task is not assigned to the submitting worker.")
    if visit.status != VisitStatus.ASSIGNED:
        raise _refuse("task_not_open", f"Tugas ini tidak terbuka lagi (status: {visit.status}).",
                      f"This task is no longer open (status: {visit.status}).")
    if not (scope_for(importer, USULAN_CHECK).covers(visit.village_code)
            or scope_for(importer, REGISTRY_BULK).covers(visit.village_code)):
        raise _refuse("outside_importer_scope", "Wilayah tugas ini di luar kewenangan pengimpor.",
                      "This task's region is outside the importing user's scope.")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise _refuse("visited_on_invalid", f"Tanggal kunjungan tidak valid: '{text}'.",
                      f"The visit date is not valid: '{text}'.") from None


def _moment(text: str) -> dt.datetime | None:
    when = parse_datetime(text.strip()) if text else None
    if when is not None and timezone.is_naive(when):
        when = timezone.make_aware(when)
    return when


def _answers(sub: FieldSubmission) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The interview and the condition in the shape the phone page hands to `visit_submit`."""
    a = sub.answers
    multi = {q.name: a.get(q.name, "").split() for q in vq.QUESTIONS if q.type == "select_multiple"}
    interview: dict[str, Any] = {q.name: a.get(q.name, "") for q in vq.questions(section="wawancara")}
    interview |= {k: v for k, v in multi.items() if vq.BY_NAME[k].section == "wawancara"}
    if a.get("outcome") != VisitOutcome.FOUND:
        return interview, None
    yes = BOOLEAN_CHOICES[0][0]
    condition: dict[str, Any] = {}
    for q in vq.questions(section="kondisi"):
        value = a.get(q.name, "")
        if q.type == "select_multiple":
            condition[q.name] = multi[q.name]
        elif q.type == "boolean":
            condition[q.name] = value == yes
        else:
            condition[q.name] = "" if value == NONE_CHOICE else value
    if not any(v for k, v in condition.items() if vq.BY_NAME[k].type != "boolean"):
        return interview, None
    return interview, condition


def _photos(sub: FieldSubmission, files: Attachments) -> tuple[list[tuple[str, Any]], list[PhotoFix | None]]:
    uploads: list[tuple[str, Any]] = []
    fixes: list[PhotoFix | None] = []
    started = _moment(sub.start)
    for q in vq.photo_questions():
        name = sub.answers.get(q.name, "")
        if not name:
            continue
        data = files.read(name)
        if data is None:
            raise _refuse("attachment_missing", f"Foto '{name}' tidak ada di ekspor (unduh beserta media).",
                          f"Photo '{name}' is missing from the export (download it with media).")
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        uploads.append((q.photo_kind, SimpleUploadedFile(name, data, content_type=content_type)))
        geo = sub.locations.get(q.name)
        fixes.append(PhotoFix(lat=geo.lat, lon=geo.lon, accuracy_m=geo.accuracy, taken_at=started)
                     if geo is not None else None)
    return uploads, fixes


def submission_import(*, importer: Actor, sub: FieldSubmission, files: Attachments, form_id: str = vq.FORM_ID,
                      dry_run: bool = False) -> RowResult:
    """One submission, all or nothing. Never raises for a refused row: the result says why."""
    result = RowResult(row=sub.row, instance_id=sub.instance_id, task=sub.task, submitter=sub.submitter,
                       status=REFUSED)
    try:
        if not sub.instance_id:
            raise _refuse("instance_id_missing", "Kiriman tanpa instanceID.", "Submission without an instanceID.")
        if ImportedSubmission.objects.filter(instance_id=sub.instance_id).exists():
            done = ImportedSubmission.objects.get(instance_id=sub.instance_id)
            result.status, result.visit_id = SKIPPED, done.visit_id
            return result
        visit = _task(sub)
        worker = _submitter(sub.submitter)
        _check(sub, visit, worker, importer)
        outcome = sub.answers.get("outcome", "")
        visited_on = _date(sub.answers.get("visited_on", ""))
        interview, condition = _answers(sub)
        uploads, fixes = _photos(sub, files)
        with transaction.atomic(), audit_context(ip=current().ip, channel=CHANNEL):
            done_visit = visit_submit(actor=worker, visit=visit, outcome=outcome, visited_on=visited_on,
                                      interview=interview, condition=condition, photos=uploads, photo_fixes=fixes)
            record = ImportedSubmission.objects.create(
                instance_id=sub.instance_id, form_id=form_id, form_version=sub.form_version[:100], visit=done_visit,
                submitter=worker, imported_by=cast(Any, importer), submitted_at=_moment(sub.submitted_at),
            )
            audit_record(actor=importer, action="odk_import", object_type="visit", object_id=done_visit.pk,
                         after={"instance_id": record.instance_id, "form_version": record.form_version,
                                "submitter": worker.get_username()},
                         reason=f"Impor ODK {sub.instance_id}")
            result.visit_id, result.flags = done_visit.pk, " ".join(done_visit.flags)
            if dry_run:
                raise _DryRun
        result.status = ACCEPTED
    except _DryRun:
        result.status = WOULD_ACCEPT
    except IntegrityError:  # the same submission imported at the same moment by another run
        if not ImportedSubmission.objects.filter(instance_id=sub.instance_id).exists():
            raise
        result.status, result.visit_id, result.flags = SKIPPED, None, ""
    except Refused as exc:
        result.code, result.reason_id, result.reason_en = exc.code, exc.message_id, exc.message_en
    except ApplicationError as exc:
        result.code, result.reason_id, result.reason_en = exc.code, exc.message_id, exc.message_en
    return result


def submissions_import(*, importer: Actor, submissions: Iterable[FieldSubmission], files: Attachments,
                       dry_run: bool = False, progress: Callable[[RowResult], None] | None = None,
                       ) -> list[RowResult]:
    results = []
    for sub in submissions:
        result = submission_import(importer=importer, sub=sub, files=files, dry_run=dry_run)
        results.append(result)
        if progress is not None:
            progress(result)
    return results


def result_dict(result: RowResult) -> dict[str, Any]:
    return asdict(result)
