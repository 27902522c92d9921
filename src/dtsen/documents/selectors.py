"""Reading a stored photo or document: the only way to its bytes, access-checked and audited.

Who may open a document:
- its owner (the citizen who uploaded their own KTP photo or selfie);
- staff holding `registry.view` in a region covering the village of the family the document is evidence for;
- staff holding `registry.view` in a region covering the village of an usulan, citizen submission or
  verification visit the document is attached to, of the village meeting whose minutes it is, or of the
  kabupaten/kota whose ratification decree it is;
- for the KTP photo and selfie of a citizen account: staff holding `citizen.review` in a region covering the
  account's region (they have to compare the photos before approving).
Everyone else, including anonymous visitors, gets the same "not found" as for a document that does not exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, BinaryIO

from django.db.models import Q

from dtsen.accounts.models import CitizenAccount
from dtsen.accounts.permissions import CITIZEN_REVIEW, REGISTRY_VIEW
from dtsen.accounts.selectors import Actor, scope_for
from dtsen.audit.services import audit_read
from dtsen.core.errors import NotFound
from dtsen.documents.models import Document
from dtsen.documents.services import private_root

_NOT_FOUND = ("Dokumen tidak ditemukan.", "Document not found.")
PDF_DOWNLOAD = frozenset({"application/pdf"})  # served as a download, never rendered inline


@dataclass
class OpenedDocument:
    document: Document
    file: BinaryIO
    filename: str


def _may_open(actor: Actor, document: Document) -> bool:
    if not actor.is_authenticated or not actor.is_active:
        return False
    if document.owner_id is not None and document.owner_id == actor.pk:
        return True
    family = document.family
    if family is not None and scope_for(actor, REGISTRY_VIEW).covers(family.village_code):
        return True
    view = scope_for(actor, REGISTRY_VIEW)
    if not view.empty:  # evidence of an usulan, a citizen's submission, a visit, or village meeting minutes
        villages = {
            *document.usulan_attached.values_list("village_code", flat=True),
            *document.submission_attached.values_list("village_code", flat=True),
            *document.visit_attached.values_list("village_code", flat=True),
            *document.musdes_minutes.values_list("village_code", flat=True),
            *document.penetapan_decree.values_list("region_code", flat=True),
            *(code or "" for code in document.program_decree.values_list("region_code", flat=True)),
        }
        if any(view.covers(v) for v in villages):
            return True
    regions = list(
        CitizenAccount.objects.filter(Q(ktp_photo=document) | Q(selfie_photo=document))
        .values_list("region_code", flat=True)
    )
    if not regions:
        return False
    review = scope_for(actor, CITIZEN_REVIEW)
    return any(review.covers(region) for region in regions)


def document_get(*, actor: Actor, document_id: Any) -> Document:
    """The document's row (no bytes, not audited), if the actor may open it; else NotFound."""
    try:
        key = document_id if isinstance(document_id, uuid.UUID) else uuid.UUID(str(document_id))
        document = Document.objects.select_related("family").get(pk=key)
    except (ValueError, TypeError, Document.DoesNotExist):
        raise NotFound(*_NOT_FOUND) from None
    if not _may_open(actor, document):
        raise NotFound(*_NOT_FOUND)
    return document


def document_open(*, actor: Actor, document_id: Any) -> OpenedDocument:
    """The document and an open handle on its bytes, for an actor allowed to see it; the read is audited."""
    document = document_get(actor=actor, document_id=document_id)
    root = private_root().resolve()
    path = (root / document.storage_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound(*_NOT_FOUND)
    audit_read(actor=actor, object_type="document", object_id=document.pk)
    handle = path.open("rb")
    filename = f"{document.kind}-{document.pk}.{document.extension}"
    return OpenedDocument(document=document, file=handle, filename=filename)
