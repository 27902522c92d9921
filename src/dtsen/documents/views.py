"""Serving a stored photo or document: only through `document_open` (access check and audit), never
statically."""

from __future__ import annotations

import uuid

from django.http import FileResponse, HttpRequest
from django.views.decorators.http import require_GET

from dtsen.documents.selectors import PDF_DOWNLOAD, document_open


@require_GET
def document_view(request: HttpRequest, document_id: uuid.UUID) -> FileResponse:
    opened = document_open(actor=request.user, document_id=document_id)
    document = opened.document
    response = FileResponse(
        opened.file, content_type=document.content_type, filename=opened.filename,
        as_attachment=document.content_type in PDF_DOWNLOAD,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
