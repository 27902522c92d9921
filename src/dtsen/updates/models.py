"""Keeping the data true (dtsen-domain.md §3, §4, B and C).

- `Usulan`: a change proposed through the formal channel (drafted by the village operator, decided in the
  village meeting, checked by Dinsos, verified in the field, ratified, applied at the monthly cut-off). A
  citizen's usul or sanggah that Dinsos accepted also becomes an `Usulan` (origin `warga`).
- `Musdes`: one village meeting (musdes/muskel) or SPTJM with its signed document and the decision on each
  usulan it discussed.
- `Penetapan`: one ratification batch (decree number and date) by the ratifier of a kabupaten/kota.
- `Submission`: a citizen's usul, sanggah or correction (participation channel), with its reference number.
- `Visit`: a field verification task given to a social worker, and what the worker found.
- `Transition`: every status change of the three workflows (who, when, from, to, why, evidence).
- `MonthSchedule`: the deadlines of one month (defaults from settings when there is no row).

Statuses move only through `machine.py` (explicit transition tables); nothing here has logic in `save()`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# ------------------------------------------------------------------------------------------ usulan


class UsulanKind(models.TextChoices):
    NEW_FAMILY = "keluarga_baru", _("Register a new family")
    CORRECTION = "perbaikan", _("Correct data (members, address, housing, assets)")
    PROGRAM = "program", _("Propose for a program")
    DEACTIVATION = "penonaktifan", _("Deactivate (deceased, moved, not found, well-off, exclusion)")


class UsulanStatus(models.TextChoices):
    DRAFT = "draf", _("Draft")
    TO_MUSDES = "diajukan_musdes", _("Submitted to the village meeting")
    MUSDES_APPROVED = "disetujui_musdes", _("Approved by the village meeting")
    MUSDES_REJECTED = "ditolak_musdes", _("Rejected by the village meeting")
    DINSOS_CHECK = "diperiksa_dinsos", _("Being checked by Dinsos")
    RETURNED = "dikembalikan", _("Returned to the village (incomplete)")
    FIELD_CHECK = "verifikasi_lapangan", _("Field verification")
    VERIFIED = "terverifikasi", _("Verified, awaiting ratification")
    NOT_ELIGIBLE = "tidak_layak", _("Not eligible / not proven")
    RATIFIED = "disahkan", _("Ratified")
    APPLIED = "diterapkan", _("Applied to the registry")
    CANCELLED = "dibatalkan", _("Withdrawn")


class Origin(models.TextChoices):
    VILLAGE = "desa", _("Village (formal channel)")
    CITIZEN = "warga", _("Citizen (participation channel)")


class DeactivationReason(models.TextChoices):
    DECEASED = "meninggal", _("Deceased")
    MOVED = "pindah", _("Moved away")
    NOT_FOUND = "tidak_ditemukan", _("Not found")
    WELL_OFF = "mampu", _("Well-off")
    EXCLUDED = "pengecualian", _("Exclusion category (ASN/TNI/Polri, ...)")
    DUPLICATE = "duplikat", _("Duplicate record")


class Program(models.TextChoices):
    """Programs a family can be proposed for (the program rules themselves are the programs issue's)."""

    PKH = "pkh", _("PKH (Program Keluarga Harapan)")
    SEMBAKO = "sembako", _("Sembako / BPNT")
    PBI_JK = "pbi_jk", _("PBI-JK (health insurance contribution)")
    PIP = "pip", _("PIP (Program Indonesia Pintar)")
    BLT = "blt", _("BLT (direct cash transfer)")


class Usulan(models.Model):
    reference = models.CharField(max_length=32, unique=True, help_text="USL-<YYYYMM>-<6 letters/digits>")
    kind = models.CharField(max_length=14, choices=UsulanKind.choices)
    origin = models.CharField(max_length=5, choices=Origin.choices, default=Origin.VILLAGE)
    status = models.CharField(max_length=20, choices=UsulanStatus.choices, default=UsulanStatus.DRAFT,
                              db_index=True)
    version = models.PositiveIntegerField(default=1, help_text="Raised by every transition (optimistic lock)")
    village_code = models.CharField(max_length=13, db_index=True)
    family = models.ForeignKey(
        "registry.Family", null=True, blank=True, on_delete=models.PROTECT, related_name="usulan",
        help_text="The family concerned (empty for a new family until it is registered at the cut-off)",
    )
    person = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The member concerned (a deactivation of one person, e.g. deceased)",
    )
    payload = models.JSONField(default=dict, help_text="The proposed data; schema per kind in payloads.py")
    summary = models.CharField(max_length=200, blank=True, help_text="One line for lists (no NIK)")
    documents = models.ManyToManyField("documents.Document", blank=True, related_name="usulan_attached")
    musdes = models.ForeignKey("Musdes", null=True, blank=True, on_delete=models.PROTECT, related_name="usulan")
    musdes_decision_note = models.CharField(max_length=300, blank=True)
    penetapan = models.ForeignKey(
        "Penetapan", null=True, blank=True, on_delete=models.PROTECT, related_name="usulan"
    )
    submission = models.ForeignKey(
        "Submission", null=True, blank=True, on_delete=models.PROTECT, related_name="usulan",
        help_text="The citizen's usul or sanggah it comes from",
    )
    return_reason = models.TextField(blank=True, help_text="Why Dinsos returned it (or why it failed to apply)")
    decision_reason = models.TextField(blank=True, help_text="Why it was rejected or found not eligible")
    submitted_to_dinsos_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_family = models.ForeignKey(
        "registry.Family", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The family the change was written to at the cut-off",
    )
    cutoff_month = models.CharField(max_length=7, blank=True, help_text="YYYY-MM of the cut-off that applied it")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("usulan (update proposal)")
        verbose_name_plural = _("usulan (update proposals)")
        indexes = [models.Index(fields=["village_code", "status"], name="usulan_village_status")]

    def __str__(self) -> str:
        return self.reference


class MusdesKind(models.TextChoices):
    MUSDES = "musdes", _("Village meeting (musdes)")
    MUSKEL = "muskel", _("Kelurahan meeting (muskel)")
    SPTJM = "sptjm", _("Statement of absolute responsibility (SPTJM)")


class Musdes(models.Model):
    village_code = models.CharField(max_length=13, db_index=True)
    kind = models.CharField(max_length=6, choices=MusdesKind.choices)
    held_on = models.DateField()
    signed_by = models.CharField(max_length=120, help_text="The village head (kepala desa/lurah) who signed")
    minutes = models.ForeignKey(
        "documents.Document", on_delete=models.PROTECT, related_name="musdes_minutes",
        help_text="The signed berita acara (or SPTJM)",
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("village meeting")
        verbose_name_plural = _("village meetings")

    def __str__(self) -> str:
        return f"{self.kind}:{self.village_code}:{self.held_on}"


class Penetapan(models.Model):
    region_code = models.CharField(max_length=13, db_index=True, help_text="The kabupaten/kota ratified for")
    decree_number = models.CharField(max_length=80)
    decree_date = models.DateField()
    ratified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ratified_at = models.DateTimeField(auto_now_add=True)
    decree = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="penetapan_decree",
        help_text="The signed decree (SK), when uploaded",
    )

    class Meta:
        verbose_name = _("ratification (penetapan)")
        verbose_name_plural = _("ratifications (penetapan)")
        constraints = [
            models.UniqueConstraint(fields=["region_code", "decree_number"], name="uniq_penetapan_decree")
        ]

    def __str__(self) -> str:
        return f"{self.region_code}:{self.decree_number}"


# ------------------------------------------------------------------------------------- participation


class SubmissionKind(models.TextChoices):
    USUL_REGISTRATION = "usul_daftar", _("Propose a family for registration")
    USUL_PROGRAM = "usul_program", _("Propose a family for a program")
    SANGGAH = "sanggah", _("Contest a recipient (sanggah)")
    OWN_CORRECTION = "perbaikan_sendiri", _("Correct my own family's data")


class ProposedWho(models.TextChoices):
    SELF = "diri_sendiri", _("Myself")
    OWN_KK = "satu_kk", _("A member of my family card (KK)")
    OTHER = "keluarga_lain", _("Another poor family")


class SanggahReason(models.TextChoices):
    """Kepmensos 73/HUK/2024 vocabulary (dtsen-domain.md §3.4; the app's own list is not published)."""

    DECEASED = "meninggal", _("Deceased")
    MOVED = "pindah_alamat_tidak_ditemukan", _("Moved or address not found")
    PERSON_NOT_FOUND = "individu_tidak_ditemukan", _("Person not found")
    WELL_OFF = "mampu", _("Well-off")
    ASN_TNI_POLRI = "asn_tni_polri", _("ASN/TNI/Polri, their family or pensioners")
    STATE_INCOME = "penghasilan_apbn_apbd", _("Routine income from the state or regional budget")
    CERTIFIED_TEACHER = "guru_sertifikasi", _("Certified teacher")
    VILLAGE_OFFICIAL = "perangkat_desa", _("Village official")
    SOCIAL_WORKER = "pendamping_sosial", _("Social assistance worker")
    COMPANY_MANAGER = "pengurus_perusahaan", _("Company owner or manager")
    DUPLICATE = "data_ganda", _("Duplicate data")
    NOT_MY_KK = "bukan_anggota_kk", _("Not a member of my KK")
    WRONG_AMOUNT = "nilai_tidak_sesuai", _("Amount not per the rules")


class SubmissionStatus(models.TextChoices):
    SUBMITTED = "diajukan", _("Submitted")
    FIELD_CHECK = "verifikasi_lapangan", _("Being verified in the field")
    VERIFIED = "diverifikasi", _("Verified")
    ACCEPTED = "diterima", _("Accepted")
    REJECTED = "ditolak", _("Rejected")


class AutoRejectReason(models.TextChoices):
    NIK_INVALID = "nik_tidak_valid", _("The NIK is not valid")
    NIK_UNKNOWN = "nik_tidak_dikenal", _("The NIK is not in the registry")
    DUPLICATE = "pengajuan_ganda", _("The same submission is already being processed")
    ALREADY_REGISTERED = "sudah_terdaftar", _("The family is already in the registry")
    ALREADY_RECIPIENT = "sudah_penerima", _("The family is already proposed for or receiving this program")
    EXCLUDED = "kategori_pengecualian", _("The person has an active exclusion flag")
    NOT_RECIPIENT = "bukan_penerima", _("The family contested is not a recipient in the registry")


class Submission(models.Model):
    reference = models.CharField(max_length=32, unique=True, help_text="USG-<YYYYMM>-<6 letters/digits>")
    kind = models.CharField(max_length=18, choices=SubmissionKind.choices)
    status = models.CharField(max_length=20, choices=SubmissionStatus.choices, db_index=True)
    version = models.PositiveIntegerField(default=1)
    citizen = models.ForeignKey("accounts.CitizenAccount", on_delete=models.PROTECT, related_name="submissions")
    village_code = models.CharField(max_length=13, db_index=True, help_text="Whose Dinsos sees it")
    family = models.ForeignKey(
        "registry.Family", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The family concerned, when it is in the registry",
    )
    person = models.ForeignKey("registry.Person", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    proposed_who = models.CharField(max_length=14, choices=ProposedWho.choices, blank=True)
    program = models.CharField(max_length=8, choices=Program.choices, blank=True)
    sanggah_reason = models.CharField(max_length=30, choices=SanggahReason.choices, blank=True)
    nik_hash = models.CharField(max_length=64, blank=True, db_index=True,
                                help_text="Blind index of the NIK concerned (duplicate check)")
    payload = models.JSONField(default=dict, help_text="What the citizen wrote (NIK encrypted)")
    description = models.TextField(blank=True)
    documents = models.ManyToManyField("documents.Document", blank=True, related_name="submission_attached")
    auto_reject_reason = models.CharField(max_length=24, choices=AutoRejectReason.choices, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("citizen submission (usul/sanggah)")
        verbose_name_plural = _("citizen submissions (usul/sanggah)")

    def __str__(self) -> str:
        return self.reference


# ------------------------------------------------------------------------------------------- visits


class VisitStatus(models.TextChoices):
    ASSIGNED = "ditugaskan", _("Assigned")
    DONE = "selesai", _("Done")
    CANCELLED = "dibatalkan", _("Cancelled")


class VisitOutcome(models.TextChoices):
    FOUND = "ditemukan", _("Family found")
    NOT_FOUND = "tidak_ditemukan", _("Family not found")
    MOVED = "pindah", _("Family moved away")
    DECEASED = "meninggal", _("Deceased")


class VisitFlag(models.TextChoices):
    FAR = "jauh_dari_desa", _("Photo taken far from the family's village")
    PHOTO_BEFORE_TASK = "foto_sebelum_tugas", _("Photo taken before the task was assigned")
    NO_REFERENCE = "lokasi_tidak_dapat_diperiksa", _("No reference position for the village")


class Visit(models.Model):
    usulan = models.ForeignKey(Usulan, null=True, blank=True, on_delete=models.PROTECT, related_name="visits")
    submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.PROTECT, related_name="visits"
    )
    family = models.ForeignKey("registry.Family", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    village_code = models.CharField(max_length=13, db_index=True)
    status = models.CharField(max_length=12, choices=VisitStatus.choices, default=VisitStatus.ASSIGNED)
    status_changed_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="visits")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField()
    due_on = models.DateField()
    instructions = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=16, choices=VisitOutcome.choices, blank=True)
    visited_on = models.DateField(null=True, blank=True)
    interview = models.JSONField(default=dict, blank=True,
                                 help_text="Income, occupation, aid received and notes")
    candidate_condition = models.JSONField(
        null=True, blank=True,
        help_text="The condition indicators found; written to the registry only when the usulan is applied",
    )
    photos = models.ManyToManyField("documents.Document", blank=True, related_name="visit_attached")
    gps_lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    gps_lon = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    distance_km = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True,
                                      help_text="Farthest photo from the village's reference position")
    flags = models.JSONField(default=list, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("verification visit")
        verbose_name_plural = _("verification visits")

    def __str__(self) -> str:
        return f"visit:{self.pk}:{self.status}"


# ------------------------------------------------------------------------------------- transitions


class Workflow(models.TextChoices):
    USULAN = "usulan", _("Usulan")
    SUBMISSION = "pengajuan", _("Citizen submission")
    VISIT = "kunjungan", _("Verification visit")


class Transition(models.Model):
    """One status change; appended by `machine.advance` in the same transaction as the change."""

    workflow = models.CharField(max_length=10, choices=Workflow.choices)
    object_id = models.BigIntegerField()
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=20, blank=True, help_text="The permission the actor used")
    reason = models.TextField(blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        indexes = [models.Index(fields=["workflow", "object_id"], name="transition_object")]
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.workflow}:{self.object_id}:{self.from_status}->{self.to_status}"


class MonthSchedule(models.Model):
    """Deadlines of one month; a month without a row uses the defaults in settings (DTSEN_SCHEDULE)."""

    month = models.CharField(max_length=7, unique=True, help_text="YYYY-MM")
    musdes_until = models.PositiveSmallIntegerField(help_text="Last day for village meetings")
    input_until = models.PositiveSmallIntegerField(help_text="Last day for villages to submit to Dinsos")
    cutoff_day = models.PositiveSmallIntegerField(help_text="Ratified changes up to this day are applied")
    pull_day = models.PositiveSmallIntegerField(help_text="Day the centre pulls the month's changes")
    note = models.CharField(max_length=200, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("monthly schedule")
        verbose_name_plural = _("monthly schedules")

    def __str__(self) -> str:
        return self.month
