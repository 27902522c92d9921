"""What the ODK bridge remembers: every submission it turned into a visit, by ODK's instanceID, so that
importing the same export again changes nothing."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportedSubmission(models.Model):
    instance_id = models.CharField(max_length=100, unique=True, help_text="ODK's meta/instanceID (uuid:...)")
    form_id = models.CharField(max_length=100)
    form_version = models.CharField(max_length=100, blank=True)
    visit = models.ForeignKey("updates.Visit", on_delete=models.PROTECT, related_name="+")
    submitter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True, help_text="ODK's SubmissionDate")

    class Meta:
        verbose_name = _("imported ODK submission")
        verbose_name_plural = _("imported ODK submissions")

    def __str__(self) -> str:
        return f"odk:{self.instance_id}"
