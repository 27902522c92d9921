"""Read-only admin for the region tables: they are loaded from shipped files, never edited by hand."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from dtsen.regions.models import Edition, Region, RegionChange


class ReadOnlyAdmin(admin.ModelAdmin):
    """View permission only: no add, change or delete, whoever the user is."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Edition)
class EditionAdmin(ReadOnlyAdmin):
    list_display = ["code", "regulation", "valid_from", "is_current", "region_count"]
    ordering = ["valid_from"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Edition]:
        return super().get_queryset(request).annotate(region_count=Count("regions"))

    @admin.display(description=_("regions"), ordering="region_count")
    def region_count(self, obj: Edition) -> int:
        return obj.region_count  # type: ignore[attr-defined]


@admin.register(Region)
class RegionAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "kind", "level", "edition", "population_total", "area_km2"]
    list_filter = ["edition", "level", "kind"]
    search_fields = ["^code", "name"]
    list_select_related = ["edition"]
    ordering = ["edition__valid_from", "code"]
    list_per_page = 100
    show_full_result_count = False


@admin.register(RegionChange)
class RegionChangeAdmin(ReadOnlyAdmin):
    list_display = [
        "kind",
        "level",
        "old_code",
        "old_name",
        "new_code",
        "new_name",
        "from_edition",
        "to_edition",
    ]
    list_filter = ["from_edition", "to_edition", "kind", "level"]
    search_fields = ["^old_code", "^new_code", "old_name", "new_name"]
    list_select_related = ["from_edition", "to_edition"]
    ordering = ["kind", "old_code", "new_code"]
    list_per_page = 100
