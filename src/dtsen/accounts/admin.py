"""Role assignments: who holds which role in which region. Only superusers see and edit them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

from dtsen.accounts.models import RoleAssignment
from dtsen.core.errors import NotFound
from dtsen.regions.codes import code_normalise
from dtsen.regions.selectors import region_get


class RoleAssignmentForm(forms.ModelForm):
    class Meta:
        model = RoleAssignment
        fields = ["user", "role", "region_code", "active"]

    def clean_region_code(self) -> str:
        """Empty (national) or a region code of the current edition, stored in its dotted form."""
        raw = (self.cleaned_data.get("region_code") or "").strip()
        if not raw:
            return ""
        code = code_normalise(raw)
        if code is None:
            raise forms.ValidationError(
                "Kode wilayah tidak valid (contoh: 34.01 atau 34.01.01.2001). / "
                "Invalid region code (e.g. 34.01 or 34.01.01.2001).",
                code="region_code_invalid",
            )
        try:
            region_get(code)
        except NotFound:
            raise forms.ValidationError(
                f"Kode wilayah {code} tidak ada pada edisi yang berlaku. / "
                f"Region code {code} does not exist in the current edition.",
                code="region_not_found",
            ) from None
        return code


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    form = RoleAssignmentForm
    list_display = ["user", "role", "region_code", "active", "created_at"]
    list_filter = ["role", "active"]
    search_fields = ["user__username", "=region_code"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    ordering = ["user__username", "role", "region_code"]

    def _superuser(self, request: HttpRequest) -> bool:
        return bool(getattr(request.user, "is_superuser", False))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._superuser(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._superuser(request)


# Second-factor devices are managed through audited services only (/2fa/reset/, `dtsen two_factor reset`):
# django-otp's own admin page would create and delete them without an audit record.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)
