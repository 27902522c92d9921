"""The Dinsos page of the ODK bridge: download the visit XLSForm, upload an ODK Central export and see, for each
submission, whether it became a visit or why it was refused (the same import as `dtsen odk import`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from dtsen.accounts.permissions import USULAN_CHECK, VISIT_DO
from dtsen.accounts.selectors import require_scope, scope_for
from dtsen.audit.context import request_audit
from dtsen.core.errors import ApplicationError, PermissionDenied, ValidationFailed
from dtsen.fieldforms.export import read_export
from dtsen.fieldforms.services import ACCEPTED, REFUSED, SKIPPED, WOULD_ACCEPT, RowResult, submissions_import
from dtsen.fieldforms.xlsform import form_sheets, xlsform_bytes

MAX_UPLOAD = 200 * 1024 * 1024
SUFFIXES = (".zip", ".csv", ".json")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _upload(request: HttpRequest, folder: Path) -> Path:
    upload = request.FILES.get("export")
    if upload is None:
        raise ValidationFailed("Pilih berkas ekspor ODK (.zip).", "Choose an ODK export file (.zip).", field="export")
    suffix = Path(upload.name or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise ValidationFailed("Berkas harus .zip, .csv atau .json.", "The file must be .zip, .csv or .json.",
                               code="file_type_unsupported", field="export")
    if (upload.size or 0) > MAX_UPLOAD:
        raise ValidationFailed("Berkas lebih dari 200 MB.", "The file is larger than 200 MB.", field="export")
    path = folder / f"export{suffix}"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return path


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def import_view(request: HttpRequest) -> HttpResponse:
    require_scope(request.user, USULAN_CHECK)
    results: list[RowResult] | None = None
    error: ApplicationError | None = None
    dry_run = request.method == "POST" and request.POST.get("dry_run") == "1"
    if request.method == "POST":
        try:
            with tempfile.TemporaryDirectory(prefix="odk-") as tmp:
                submissions, files = read_export(_upload(request, Path(tmp)))
                with request_audit(request, "odk"):
                    results = submissions_import(importer=request.user, submissions=submissions, files=files,
                                                 dry_run=dry_run)
        except ApplicationError as exc:
            error = exc
    counts = {s: sum(1 for r in results or () if r.status == s) for s in (ACCEPTED, WOULD_ACCEPT, SKIPPED, REFUSED)}
    settings = form_sheets()["settings"][0]
    return render(request, "fieldforms/import.html", {
        "results": results, "error": error, "error_field": error.extra.get("field", "") if error else "",
        "dry_run": dry_run, "counts": counts, "form_settings": settings, "refused": REFUSED,
    }, status=error.status if error else 200)


@login_required
@require_GET
def form_view(request: HttpRequest) -> HttpResponse:
    if scope_for(request.user, USULAN_CHECK).empty and scope_for(request.user, VISIT_DO).empty:
        raise PermissionDenied("Anda tidak berwenang melakukan tindakan ini.", "You are not allowed to do this.")
    version = form_sheets()["settings"][0]["version"]
    response = HttpResponse(xlsform_bytes(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="dtsen_kunjungan-{version}.xlsx"'
    return response
