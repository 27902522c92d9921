"""Staff roles scoped by region. A user holds one or more (role, region) assignments; a region covers its
subtree; an empty region code means national scope. The permission matrix is data (`permissions.py`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OPERATOR_DESA = "operator_desa", _("Village/kelurahan operator")
    PENDAMPING_PKH = "pendamping_pkh", _("PKH facilitator")
    TKSK = "tksk", _("TKSK (sub-district social welfare worker)")
    PSM = "psm", _("PSM (community social worker)")
    TAGANA = "tagana", _("Tagana (disaster volunteer)")
    KARANG_TARUNA = "karang_taruna", _("Karang Taruna")
    DINSOS_VERIFIER = "dinsos_verifier", _("Dinsos verifier")
    DINSOS_SUPERVISOR = "dinsos_supervisor", _("Dinsos supervisor")
    RATIFIER = "ratifier", _("Ratifier (Kepala Dinas / Bupati / Walikota)")
    PROVINCIAL_VIEWER = "provincial_viewer", _("Provincial viewer")
    PUSDATIN = "pusdatin", _("Ministry data administrator (Pusdatin)")
    BPS_ANALYST = "bps_analyst", _("BPS analyst")
    AUDITOR = "auditor", _("Auditor")
    SYSTEM_CLIENT = "system_client", _("System client (API)")


class RoleAssignment(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    region_code = models.CharField(max_length=13, blank=True, help_text="Empty = national")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "region_code"], name="uniq_role_assignment")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role}@{self.region_code or 'ID'}"


# --------------------------------------------------------------------------------------- citizen accounts


class CitizenStatus(models.TextChoices):
    """The account workflow of the participation channel (dtsen-domain.md §3.2 and "C")."""

    REGISTERED = "terdaftar", _("Registered")
    OTP_VERIFIED = "otp_terverifikasi", _("E-mail confirmed")
    AWAITING_REVIEW = "menunggu_verifikasi", _("Awaiting verification by Dinsos")
    ACTIVE = "aktif", _("Active")
    REJECTED = "ditolak", _("Rejected")


# Which status may follow which; every citizen service asserts its transition against this table.
CITIZEN_TRANSITIONS: dict[str, frozenset[str]] = {
    CitizenStatus.REGISTERED: frozenset({CitizenStatus.OTP_VERIFIED}),
    CitizenStatus.OTP_VERIFIED: frozenset({CitizenStatus.AWAITING_REVIEW}),
    CitizenStatus.AWAITING_REVIEW: frozenset({CitizenStatus.ACTIVE, CitizenStatus.REJECTED}),
    CitizenStatus.ACTIVE: frozenset(),
    CitizenStatus.REJECTED: frozenset(),
}


class MatchResult(models.TextChoices):
    PADAN = "padan", _("Matches the registry")
    TIDAK_PADAN = "tidak_padan", _("Does not match the registry")


class MatchReason(models.TextChoices):
    NIK_NOT_FOUND = "nik_tidak_ditemukan", _("The NIK is not in the registry")
    NIK_DUPLICATE = "nik_ganda", _("The NIK belongs to more than one person in the registry")
    PERSON_INACTIVE = "tidak_aktif", _("The person is deceased or no longer active in the registry")
    KK_MISMATCH = "kk_tidak_sesuai", _("The KK number is not the one of the person's family")
    NAME_MISMATCH = "nama_tidak_sesuai", _("The name differs from the name in the registry")


class CitizenAccount(models.Model):
    """A citizen's account (Cek Bansos style), one-to-one with a Django user ("warga-<random>"; the citizen
    logs in with the e-mail, which is unique among accounts that are not rejected).

    The NIK is kept like the registry keeps it: encrypted (`nik_enc`) plus the keyed blind index (`nik_hash`),
    never in clear. The one-time code is kept as a keyed hash with an expiry and an attempt counter."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="citizen_account"
    )
    nik_hash = models.CharField(max_length=64, db_index=True)
    nik_enc = models.CharField(max_length=120)
    kk_number = models.CharField(max_length=16)
    name_on_ktp = models.CharField(max_length=120)
    email = models.EmailField(help_text="Lower-case; the citizen logs in with it")
    phone = models.CharField(max_length=16)
    status = models.CharField(max_length=20, choices=CitizenStatus.choices, default=CitizenStatus.REGISTERED)
    status_changed_at = models.DateTimeField()
    match_result = models.CharField(max_length=12, choices=MatchResult.choices)
    match_reason = models.CharField(max_length=20, choices=MatchReason.choices, blank=True)
    person = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    family = models.ForeignKey(
        "registry.Family", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The family matched at registration",
    )
    region_code = models.CharField(
        max_length=13, blank=True, db_index=True,
        help_text="Whose reviewers see the account: the matched family's village, else the KK's kecamatan",
    )
    ktp_photo = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    selfie_photo = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    otp_hash = models.CharField(max_length=64, blank=True)
    otp_expires_at = models.DateTimeField(null=True, blank=True)
    otp_attempts = models.PositiveSmallIntegerField(default=0)
    otp_sent_at = models.DateTimeField(null=True, blank=True)
    otp_window_started_at = models.DateTimeField(null=True, blank=True)
    otp_window_sends = models.PositiveSmallIntegerField(default=0)
    consent_at = models.DateTimeField(help_text="When the terms and the privacy notice were accepted")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("citizen account")
        verbose_name_plural = _("citizen accounts")
        constraints = [
            # One open account per NIK; a rejected one does not block registering again.
            models.UniqueConstraint(
                fields=["nik_hash"], condition=~models.Q(status="ditolak"), name="uniq_citizen_nik_open"
            ),
            models.UniqueConstraint(
                fields=["email"], condition=~models.Q(status="ditolak"), name="uniq_citizen_email_open"
            ),
        ]

    def __str__(self) -> str:
        return f"citizen:{self.pk}:{self.status}"


# ------------------------------------------------------------------------------------------ API tokens


class ApiToken(models.Model):
    """A credential of a system client for the API (/api/v1/), acting as `user` and limited to `scopes`.

    The token is `dtsen_<prefix>_<secret>`; it is shown once, at issue. Only the prefix (to find the row) and
    the SHA-256 of the whole token are kept, so a copy of the database cannot be used to call the API.
    Issued and revoked by services (accounts.auth_services), both audited."""

    name = models.CharField(max_length=100, help_text="What the client is, e.g. 'SIKS-NG Kulon Progo'")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens")
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list, help_text="Permission strings of the matrix the token may use")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"token:{self.prefix}:{self.name}"
