"""Photos and documents (KTP photos, selfies with the KTP, house photos, KK scans, letters).

The bytes live outside the database, in a private directory (`settings.PRIVATE_ROOT`, never under MEDIA_ROOT
and never served statically); a row records where, what was detected from the content, and for verification
photos the evidence kept from the photo's metadata (GPS position and time) before every metadata block was
stripped. A file is read only through `selectors.document_open`, which checks access and audits the read.
Writes go through `services.document_store`.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DocumentKind(models.TextChoices):
    KTP = "ktp", _("KTP photo")
    SELFIE_KTP = "selfie_ktp", _("Selfie holding the KTP")
    HOUSE_FRONT = "house_front", _("Front of the house")
    HOUSE_INSIDE = "house_inside", _("Inside the house")
    KK = "kk", _("Family card (KK)")
    LETTER = "letter", _("Letter (RT/RW, kelurahan, SKTM)")
    BERITA_ACARA = "berita_acara", _("Signed village meeting minutes (berita acara)")
    SPTJM = "sptjm", _("Signed statement of absolute responsibility (SPTJM)")
    OTHER = "other", _("Other document")


# Verification photos: their GPS position and time are kept as evidence (fields of the row) when stored.
EVIDENCE_KINDS = frozenset({DocumentKind.SELFIE_KTP, DocumentKind.HOUSE_FRONT, DocumentKind.HOUSE_INSIDE})


class Document(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=DocumentKind.choices)
    content_type = models.CharField(max_length=40, help_text="Detected from the bytes, never from the name")
    size = models.PositiveIntegerField(help_text="Bytes stored")
    sha256 = models.CharField(max_length=64, help_text="Of the stored bytes")
    source_sha256 = models.CharField(max_length=64, help_text="Of the bytes as uploaded (before re-encoding)")
    storage_path = models.CharField(max_length=200, unique=True, help_text="Relative to PRIVATE_ROOT")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    # Evidence kept from a verification photo's metadata (the metadata itself is stripped from the file).
    gps_lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    gps_lon = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    gps_accuracy_m = models.DecimalField(max_digits=8, decimal_places=1, null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    evidence = models.JSONField(default=dict, blank=True, help_text="The raw metadata the fields come from")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="documents",
        help_text="The citizen the document belongs to (may open it)",
    )
    family = models.ForeignKey(
        "registry.Family", null=True, blank=True, on_delete=models.PROTECT, related_name="documents",
        help_text="The family it is evidence for (staff whose region covers the family may open it)",
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        indexes = [models.Index(fields=["sha256"], name="document_sha256")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.pk}"

    @property
    def extension(self) -> str:
        return {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}.get(
            self.content_type, "bin"
        )
