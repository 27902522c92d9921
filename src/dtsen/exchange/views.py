"""Staff page of bulk exchange (mounted at /pertukaran/), for holders of registry.bulk: the latest exports with
their files to download, the export schedules and the reference imports. Downloads are audited reads."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dtsen.audit.context import request_audit
from dtsen.audit.services import audit_read
from dtsen.core.errors import NotFound
from dtsen.exchange import selectors
from dtsen.exchange.files import MANIFEST

CONTENT_TYPES = {".parquet": "application/vnd.apache.parquet", ".csv": "text/csv; charset=utf-8",
                 ".json": "application/json"}  # fmt: skip


@never_cache
@login_required
@require_GET
def index_view(request: HttpRequest) -> HttpResponse:
    return render(request, "exchange/index.html", {
        "section": "exchange",
        "exports": selectors.export_list(actor=request.user, limit=50),
        "schedules": selectors.schedule_list(actor=request.user),
        "imports": selectors.reference_import_list(actor=request.user, limit=50),
    })  # fmt: skip


@never_cache
@login_required
@require_GET
def download_view(request: HttpRequest, export_id: int, name: str) -> FileResponse:
    record = selectors.export_get(actor=request.user, export_id=export_id)
    names = {f["name"] for f in record.files} | {MANIFEST}
    path = Path(record.directory) / name
    if name not in names or not path.is_file():
        raise NotFound("Berkas tidak ditemukan.", "File not found.")
    with request_audit(request, "web"):
        audit_read(actor=request.user, object_type="exportrecord", object_id=record.pk, action="download")
    return FileResponse(path.open("rb"), as_attachment=True, filename=name,
                        content_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream"))  # fmt: skip


urlpatterns = [
    path("", index_view, name="index"),
    path("ekspor/<int:export_id>/<str:name>", download_view, name="download"),
]
