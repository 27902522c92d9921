"""Programs and eligibility (dtsen-domain.md §2, E): dated rule editions, quotas, eligibility runs and their
per-family (or per-person) results with the reason of every family not selected, beneficiary decrees,
disbursement per tahap, membership (kepesertaan) with its lifecycle, PPKS categories and empowerment.

Runs and their results are never changed once finished; a decree freezes a run's selected list; later
changes are new rows (events), so every past period can be shown and recomputed (`EligibilityRun.rules_text`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RuleEdition(models.Model):
    """A dated rule set (JSON, see rules.py); the edition in force on a date is the latest `valid_from`."""

    code = models.CharField(max_length=60, unique=True)
    valid_from = models.DateField()
    legal_basis = models.CharField(max_length=300)
    text = models.TextField(help_text="Canonical JSON (rules.rules_parse)")
    sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("rule edition")
        verbose_name_plural = _("rule editions")

    def __str__(self) -> str:
        return f"{self.code} ({self.valid_from})"


class Quota(models.Model):
    """How many families (persons, for person programs) of a kabupaten/kota a program may take in a period."""

    period = models.CharField(max_length=7, help_text="YYYY-Tn, e.g. 2026-T1 (tahap 1)")
    program = models.CharField(max_length=20)
    region_code = models.CharField(max_length=13, help_text="Kabupaten/kota")
    quota = models.PositiveIntegerField()
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")
        constraints = [models.UniqueConstraint(fields=["period", "program", "region_code"], name="uniq_quota")]

    def __str__(self) -> str:
        return f"{self.period}:{self.program}:{self.region_code}={self.quota}"


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")
    FAILED = "failed", _("Failed")


class EligibilityRun(models.Model):
    period = models.CharField(max_length=7, db_index=True, help_text="YYYY-Tn")
    as_of = models.DateField(help_text="The register as of the end of this day (members, ages, flags)")
    ranking_run = models.ForeignKey("ranking.RankingRun", on_delete=models.PROTECT, related_name="+")
    edition = models.CharField(max_length=80)
    rules_text = models.TextField(help_text="The exact rules used (canonical JSON)")
    rules_sha256 = models.CharField(max_length=64)
    simulation = models.BooleanField(default=False, help_text="A 'what if': never ratified or published")
    engine = models.CharField(max_length=10, default="duckdb")
    engine_version = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    error = models.TextField(blank=True)
    input_sha256 = models.CharField(max_length=64, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("eligibility run")
        verbose_name_plural = _("eligibility runs")

    def __str__(self) -> str:
        return f"eligibility:{self.pk}:{self.period}{' (simulasi)' if self.simulation else ''}"


class Outcome(models.TextChoices):
    SELECTED = "terpilih", _("Selected")
    WAITING = "daftar_tunggu", _("Waiting list (quota full)")
    NOT_SELECTED = "tidak_terpilih", _("Not selected")


class Reason(models.TextChoices):
    """Why a candidate is not selected, in the order the checks run (the first failing check is kept)."""

    FAMILY_INACTIVE = "keluarga_tidak_aktif", _("The family is no longer active in the registry")
    DECEASED = "meninggal", _("No living member")
    NO_PENGURUS = "pengurus_tidak_ada", _("Pengurus deceased or gone, no adult member to replace them")
    EXCLUDED = "kategori_pengecualian", _("A member is in an exclusion category (ASN/TNI/Polri, ...)")
    DUPLICATE_FAMILY = "data_ganda_keluarga", _("The KK number is registered for another active family")
    DUPLICATE_PERSON = "data_ganda_nik", _("A NIK is registered in another active family")
    NIK_INVALID = "nik_tidak_valid", _("The NIK does not agree with the birth date or sex")
    NOT_MATCHED = "tidak_padan_dukcapil", _("Does not match Dukcapil")
    NO_COMPONENT = "tidak_ada_komponen", _("No member qualifies for a component")
    NOT_TARGET = "bukan_sasaran", _("Not in the program's target group")
    OVERLAP = "tumpang_tindih", _("Already selected for a program this one may not overlap with")
    QUOTA = "kuota_penuh", _("The region's quota is full")


class EligibilityResult(models.Model):
    """One candidate of a program in a run: a family, or a person for person programs (PBI-JK, PIP)."""

    run = models.ForeignKey(EligibilityRun, on_delete=models.PROTECT, related_name="results", db_index=False)
    program = models.CharField(max_length=20)
    family = models.ForeignKey("registry.Family", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=13, help_text="Kabupaten/kota (quota unit)")
    village_code = models.CharField(max_length=13)
    desil = models.PositiveSmallIntegerField()
    percentile = models.DecimalField(max_digits=7, decimal_places=4)
    outcome = models.CharField(max_length=14, choices=Outcome.choices)
    reason = models.CharField(max_length=24, choices=Reason.choices, blank=True)
    queue_no = models.PositiveIntegerField(null=True, blank=True, help_text="Order among valid candidates")
    waiting_no = models.PositiveIntegerField(null=True, blank=True)
    amount = models.BigIntegerField(default=0, help_text="Rupiah per tahap")
    components = models.CharField(max_length=200, blank=True, help_text="PKH: component:count,...")

    class Meta:
        verbose_name = _("eligibility result")
        verbose_name_plural = _("eligibility results")
        indexes = [
            models.Index(fields=["run", "program", "outcome"], name="elig_run_prog_outcome"),
            models.Index(fields=["run", "family"], name="elig_run_family"),
        ]

    def __str__(self) -> str:
        return f"{self.program}:{self.family_id}:{self.outcome}"



class Decree(models.Model):
    """Penetapan KPM: the ratified beneficiary list of one program in one run (for a region or nationally)."""

    run = models.ForeignKey(EligibilityRun, on_delete=models.PROTECT, related_name="decrees")
    program = models.CharField(max_length=20)
    region_code = models.CharField(max_length=13, blank=True, help_text="Empty = national")
    decree_number = models.CharField(max_length=80)
    decree_date = models.DateField()
    ratified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ratified_at = models.DateTimeField(auto_now_add=True)
    beneficiaries = models.PositiveIntegerField(default=0)
    total_amount = models.BigIntegerField(default=0)
    document = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="program_decree",
        help_text="The signed decree (SK), when uploaded",
    )

    class Meta:
        verbose_name = _("beneficiary decree")
        verbose_name_plural = _("beneficiary decrees")
        constraints = [
            models.UniqueConstraint(fields=["program", "decree_number"], name="uniq_decree_number"),
            models.UniqueConstraint(fields=["run", "program", "region_code"], name="uniq_decree_run_program"),
        ]

    def __str__(self) -> str:
        return f"{self.program}:{self.decree_number}"


class PayStatus(models.TextChoices):
    DECIDED = "ditetapkan", _("Decided")
    PAID = "disalurkan", _("Paid out")
    FAILED = "gagal_salur", _("Payment failed")
    RETURNED = "retur", _("Returned to the treasury")


class Disbursement(models.Model):
    decree = models.ForeignKey(Decree, on_delete=models.PROTECT, related_name="disbursements")
    result = models.OneToOneField(EligibilityResult, on_delete=models.PROTECT, related_name="disbursement")
    family = models.ForeignKey("registry.Family", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    village_code = models.CharField(max_length=13, db_index=True)
    tahap = models.CharField(max_length=7, help_text="YYYY-Tn")
    amount = models.BigIntegerField()
    status = models.CharField(max_length=12, choices=PayStatus.choices, default=PayStatus.DECIDED)
    version = models.PositiveIntegerField(default=1)
    status_changed_at = models.DateTimeField()
    channel = models.CharField(max_length=20, blank=True, help_text="Himbara bank / PT Pos")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("disbursement")
        verbose_name_plural = _("disbursements")

    def __str__(self) -> str:
        return f"{self.tahap}:{self.family_id}:{self.status}"



class DisbursementEvent(models.Model):
    """One status change of a disbursement (who, when, from, to, why)."""

    disbursement = models.ForeignKey(Disbursement, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    note = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("disbursement change")
        verbose_name_plural = _("disbursement changes")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.disbursement_id}:{self.from_status}->{self.to_status}"



class MembershipStatus(models.TextChoices):
    ACTIVE = "aktif", _("Active")
    SUSPENDED = "ditangguhkan", _("Suspended")
    DEACTIVATED = "nonaktif", _("Deactivated")
    GRADUATED = "graduasi", _("Graduated")


class ExitReason(models.TextChoices):
    DECEASED_NO_PENGURUS = "meninggal_tanpa_pengganti", _("Deceased, no replacement pengurus")
    MOVED = "pindah", _("Moved away")
    NOT_FOUND = "tidak_ditemukan", _("Not found")
    DESIL_ROSE = "desil_naik", _("Desil rose above the program's range")
    EXCLUDED = "pengecualian", _("Exclusion category")
    SANGGAH = "sanggah_terbukti", _("Proven objection (sanggah)")
    REFUSED = "menolak", _("Refused the assistance")
    GRAD_VOLUNTARY = "graduasi_mandiri", _("Voluntary graduation (graduasi mandiri)")
    GRAD_NATURAL = "graduasi_alamiah", _("Natural graduation: no component left")
    GRAD_FORCED = "graduasi_paksa", _("Forced graduation (non-compliance or declared well-off)")
    OTHER = "lainnya", _("Other (see note)")


class Membership(models.Model):
    """Kepesertaan: a family in a program, with its current status; every change is a MembershipEvent."""

    family = models.ForeignKey("registry.Family", on_delete=models.PROTECT, related_name="memberships")
    program = models.CharField(max_length=20)
    status = models.CharField(max_length=12, choices=MembershipStatus.choices)
    reason = models.CharField(max_length=26, choices=ExitReason.choices, blank=True)
    since = models.DateField()
    decree = models.ForeignKey(Decree, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("membership (kepesertaan)")
        verbose_name_plural = _("memberships (kepesertaan)")
        constraints = [models.UniqueConstraint(fields=["family", "program"], name="uniq_membership")]

    def __str__(self) -> str:
        return f"{self.program}:{self.family_id}:{self.status}"


class MembershipEvent(models.Model):
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    reason = models.CharField(max_length=26, blank=True)
    note = models.CharField(max_length=300, blank=True)
    decree = models.ForeignKey(Decree, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("membership change")
        verbose_name_plural = _("membership changes")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.membership_id}:{self.from_status}->{self.to_status}"



class PpksCategory(models.TextChoices):
    """The 26 PPKS (Pemerlu Pelayanan Kesejahteraan Sosial), Permensos 5/2019 (dtsen-domain.md §7)."""

    ANAK_BALITA_TERLANTAR = "anak_balita_terlantar", _("Neglected child under five")
    ANAK_TERLANTAR = "anak_terlantar", _("Neglected child")
    ANAK_BERHADAPAN_HUKUM = "anak_berhadapan_hukum", _("Child in conflict with the law")
    ANAK_JALANAN = "anak_jalanan", _("Street child")
    ANAK_DISABILITAS = "anak_disabilitas", _("Child with a disability")
    ANAK_KORBAN_KEKERASAN = "anak_korban_kekerasan", _("Child victim of violence")
    ANAK_PERLINDUNGAN_KHUSUS = "anak_perlindungan_khusus", _("Child needing special protection")
    LANSIA_TERLANTAR = "lansia_terlantar", _("Neglected elderly person")
    PENYANDANG_DISABILITAS = "penyandang_disabilitas", _("Person with a disability")
    TUNA_SUSILA = "tuna_susila", _("Sex worker")
    GELANDANGAN = "gelandangan", _("Homeless person")
    PENGEMIS = "pengemis", _("Beggar")
    PEMULUNG = "pemulung", _("Scavenger")
    KELOMPOK_MINORITAS = "kelompok_minoritas", _("Minority group")
    BEKAS_WARGA_BINAAN = "bekas_warga_binaan", _("Former prison inmate")
    ODHA = "odha", _("Person living with HIV/AIDS")
    KORBAN_NAPZA = "korban_napza", _("Victim of drug abuse (NAPZA)")
    KORBAN_TRAFFICKING = "korban_trafficking", _("Victim of trafficking")
    KORBAN_KEKERASAN = "korban_kekerasan", _("Victim of violence")
    PEKERJA_MIGRAN_BERMASALAH = "pekerja_migran_bermasalah", _("Migrant worker with social problems")
    KORBAN_BENCANA_ALAM = "korban_bencana_alam", _("Victim of a natural disaster")
    KORBAN_BENCANA_SOSIAL = "korban_bencana_sosial", _("Victim of a social disaster")
    PEREMPUAN_RAWAN = "perempuan_rawan_sosek", _("Socio-economically vulnerable woman")
    FAKIR_MISKIN = "fakir_miskin", _("Destitute (fakir miskin)")
    KELUARGA_BERMASALAH = "keluarga_bermasalah_psikologis", _("Family with social-psychological problems")
    KOMUNITAS_ADAT_TERPENCIL = "komunitas_adat_terpencil", _("Remote indigenous community")


class PpksRecord(models.Model):
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="ppks")
    category = models.CharField(max_length=32, choices=PpksCategory.choices)
    source = models.CharField(max_length=60, help_text="Who recorded it: TKSK, Dinsos assessment, Tagana, ...")
    observed_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("PPKS record")
        verbose_name_plural = _("PPKS records")

    def __str__(self) -> str:
        return f"{self.category}:{self.person_id}"


class ActivityKind(models.TextChoices):
    SKILLS = "pelatihan", _("Skills training")
    CAPITAL = "modal_usaha", _("Business capital")
    ASSETS = "aset_usaha", _("Business assets")
    MARKET = "akses_pasar", _("Access to markets")
    FINANCE = "akses_keuangan", _("Access to finance")
    SERVICES = "akses_layanan", _("Access to services")
    FAMILY_DEVELOPMENT = "p2k2", _("Family development session (P2K2)")


class ActivityOutcome(models.TextChoices):
    ONGOING = "berjalan", _("Ongoing")
    COMPLETED = "selesai", _("Completed")
    BUSINESS_RUNNING = "usaha_berjalan", _("Business running")
    INCOME_UP = "penghasilan_naik", _("Income increased")
    READY_TO_GRADUATE = "siap_graduasi", _("Ready to graduate")
    STOPPED = "berhenti", _("Stopped")


class EmpowermentActivity(models.Model):
    family = models.ForeignKey("registry.Family", on_delete=models.PROTECT, related_name="empowerment")
    village_code = models.CharField(max_length=13, db_index=True)
    pillar = models.CharField(max_length=20, help_text="The social pillar's role (karang_taruna, pendamping_pkh...)")
    kind = models.CharField(max_length=16, choices=ActivityKind.choices)
    started_on = models.DateField()
    outcome = models.CharField(max_length=16, choices=ActivityOutcome.choices, default=ActivityOutcome.ONGOING)
    outcome_on = models.DateField(null=True, blank=True)
    notes = models.CharField(max_length=500, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("empowerment activity")
        verbose_name_plural = _("empowerment activities")

    def __str__(self) -> str:
        return f"{self.kind}:{self.family_id}:{self.outcome}"
