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
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments")
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
