"""Bulk exchange with other agencies: exports of ranking runs and program lists (with a manifest), their
schedules, and imports of reference data (deaths, civil servants) whose applied rows stay appealable.

`ExportRecord` is one export written to a folder (files, checksums, who, what); `ExportSchedule` is a standing
order run by `dtsen exchange run-scheduled`; `ReferenceImport` is one agency file applied to the register and
`ReferenceRow` one row of it (applied, or why not), linked to the exclusion flag or death event it produced so
that the row, or the whole batch, can be undone. Writes go through `services.py`, reads through `selectors.py`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Dataset(models.TextChoices):
    RANKING = "ranking", _("Ranking run (desil per family)")
    PROGRAM = "program", _("Program list (eligibility results)")


class Cadence(models.TextChoices):
    MONTHLY = "monthly", _("Monthly (the latest run, once per month)")
    AFTER_RUN = "after_run", _("After each finished run")


class ExportStatus(models.TextChoices):
    NEVER = "", _("Never run")
    OK = "ok", _("Succeeded")
    SKIPPED = "skipped", _("Nothing new")
    FAILED = "failed", _("Failed")


class ExportSchedule(models.Model):
    name = models.CharField(max_length=80, unique=True)
    dataset = models.CharField(max_length=10, choices=Dataset.choices)
    params = models.JSONField(default=dict, blank=True, help_text="program, formats, nik mode, region, outcomes")
    cadence = models.CharField(max_length=10, choices=Cadence.choices)
    destination = models.CharField(max_length=500, help_text="Folder on the server; one sub-folder per export")
    active = models.BooleanField(default=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
        help_text="Exports run as this user: their scope limits the rows",
    )
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=10, choices=ExportStatus.choices, blank=True)
    last_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("export schedule")
        verbose_name_plural = _("export schedules")

    def __str__(self) -> str:
        return self.name


class ExportRecord(models.Model):
    """One export: a folder with data files and manifest.json. `key` names what was exported (dataset, run,
    program, month for monthly schedules) so a schedule never exports the same thing twice."""

    dataset = models.CharField(max_length=10, choices=Dataset.choices)
    key = models.CharField(max_length=120, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    schedule = models.ForeignKey(
        ExportSchedule, null=True, blank=True, on_delete=models.PROTECT, related_name="exports"
    )
    directory = models.CharField(max_length=500)
    files = models.JSONField(default=list, blank=True, help_text="name, format, rows, bytes, sha256")
    rows = models.BigIntegerField(default=0)
    manifest_sha256 = models.CharField(max_length=64)
    region_scope = models.JSONField(default=list, blank=True)
    nik_mode = models.CharField(max_length=10, default="none")
    seconds = models.FloatField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        indexes = [models.Index(fields=["schedule", "key"], name="exchange_export_schedule_key")]

    def __str__(self) -> str:
        return f"{self.key} ({self.created_at:%Y-%m-%d})"


class ReferenceKind(models.TextChoices):
    DEATHS = "deaths", _("Deaths (Dukcapil)")
    CIVIL_SERVANTS = "civil-servants", _("Civil servants, armed forces, police (ASN/TNI/Polri)")
    EXCLUSIONS = "exclusions", _("Other exclusion categories (pensioners, BUMN staff, ...)")


class ImportStatus(models.TextChoices):
    APPLIED = "applied", _("Applied")
    UNDONE = "undone", _("Undone")


class ReferenceImport(models.Model):
    kind = models.CharField(max_length=16, choices=ReferenceKind.choices)
    source = models.CharField(max_length=120, help_text="Who sent the file and which edition, e.g. Dukcapil 2026-11")
    agency = models.CharField(max_length=12, help_text="DeathSource / ExclusionSource code of the agency")
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    counts = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.APPLIED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)
    undo_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("reference import")
        verbose_name_plural = _("reference imports")
        constraints = [
            models.UniqueConstraint(fields=["kind", "file_sha256"], name="uniq_reference_import_file")
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.source}"


class RowOutcome(models.TextChoices):
    APPLIED = "applied", _("Applied")
    ALREADY = "already", _("Already so in the register")
    UNKNOWN_NIK = "unknown_nik", _("NIK not in the register")
    AMBIGUOUS = "ambiguous", _("NIK held by more than one person")
    NAME_MISMATCH = "name_mismatch", _("Name does not match")
    BIRTH_MISMATCH = "birth_mismatch", _("Birth date does not match")
    INVALID = "invalid", _("Invalid row")
    OUT_OF_SCOPE = "out_of_scope", _("Person outside the importer's regions")


class ReferenceRow(models.Model):
    """One row of a reference file. No plain NIK is kept: the masked NIK for the report, the blind index."""

    batch = models.ForeignKey(ReferenceImport, on_delete=models.PROTECT, related_name="rows")
    row_no = models.PositiveIntegerField()
    nik_masked = models.CharField(max_length=16)
    nik_hash = models.CharField(max_length=64, blank=True)
    person = models.ForeignKey("registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=16, choices=RowOutcome.choices)
    detail = models.CharField(max_length=300, blank=True)
    flag = models.ForeignKey(
        "registry.ExclusionFlag", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    event = models.ForeignKey("registry.Event", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    undo_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("reference import row")
        verbose_name_plural = _("reference import rows")
        constraints = [models.UniqueConstraint(fields=["batch", "row_no"], name="uniq_reference_row")]
        indexes = [models.Index(fields=["person", "outcome"], name="exchange_refrow_person")]

    def __str__(self) -> str:
        return f"#{self.batch_id}:{self.row_no} {self.outcome}"
