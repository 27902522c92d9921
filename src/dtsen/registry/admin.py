"""Read-only admin of the register: browse families, persons, dwellings, condition snapshots, exclusion flags,
events and KK numbers, and every version of the versioned ones.

Nobody adds, changes, deletes or reverts here (not even a superuser): writes go through the services, which
stamp who, why and through which channel. Every list is limited to the regions of the acting user through
the same selectors the pages use; the NIK is shown masked.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from dtsen.accounts.permissions import REGISTRY_VIEW
from dtsen.accounts.selectors import scope_for
from dtsen.core.errors import PermissionDenied as ScopeDenied
from dtsen.registry.crypto import nik_decrypt, nik_hash, nik_mask
from dtsen.registry.models import Condition, Dwelling, Event, ExclusionFlag, Family, FamilyKkNumber, Person
from dtsen.registry.selectors import family_qs, person_qs

HIDDEN_FIELDS = frozenset({"nik_hash", "nik_enc"})


class _NoNikChanges(HistoricalRecordContextHelper):
    """History deltas without the NIK ciphertext and blind index (a NIK change shows as "NIK: changed")."""

    def context_for_delta_changes(self, delta: Any) -> list[dict[str, Any]]:
        rows = []
        nik_changed = False
        for change in delta.changes:
            if change.field in HIDDEN_FIELDS:
                nik_changed = True
                continue
            formatted = self.format_delta_change(change)
            rows.append({"field": formatted.field, "old": formatted.old, "new": formatted.new})
        if nik_changed:
            rows.append({"field": "NIK", "old": "", "new": _("changed (not shown)")})
        return rows


class ReadOnlyAdmin(admin.ModelAdmin):
    """View-only: no add, change or delete permission for anyone; rows limited to the actor's regions."""

    scope_field = "village_code"
    actions = None
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        names = [f.name for f in self.model._meta.concrete_fields if f.name not in HIDDEN_FIELDS]
        return [*names, *self.readonly_fields]

    def scoped_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        scope = scope_for(request.user, REGISTRY_VIEW)
        if scope.empty:
            return self.model._default_manager.none()
        return self.model._default_manager.filter(scope.q(self.scope_field))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = self.scoped_queryset(request)
        ordering = self.get_ordering(request)
        return qs.order_by(*ordering) if ordering else qs


class ReadOnlyHistoryAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    """Read-only with the history pages of django-simple-history: every version, never a revert."""

    history_list_display = ["history_channel"]

    def _check_in_scope(self, request: HttpRequest, object_id: str) -> None:
        try:
            visible = self.get_queryset(request).filter(pk=object_id).exists()
        except (ValueError, TypeError):
            visible = False
        if not visible:
            raise Http404

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        self._check_in_scope(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        if request.method not in {"GET", "HEAD"}:
            raise PermissionDenied  # simple_history would save the old version back: no reverts here
        self._check_in_scope(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def get_historical_record_context_helper(
        self, request: HttpRequest, historical_record: Any
    ) -> HistoricalRecordContextHelper:
        return _NoNikChanges(self.model, historical_record)


@admin.register(Family)
class FamilyAdmin(ReadOnlyHistoryAdmin):
    list_display = ["family_code", "kk_number", "head_name", "village_code", "rt", "rw", "status",
                    "updated_at"]
    list_filter = ["status"]
    list_select_related = ["head"]
    search_fields = ["=family_code", "=kk_number", "=kk_numbers__kk_number", "head__name"]
    ordering = ["-pk"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Family]:
        try:
            return family_qs(actor=request.user).order_by("-pk")
        except ScopeDenied:
            return Family.objects.none()

    @admin.display(description=_("Head of family"), ordering="head__name")
    def head_name(self, obj: Family) -> str:
        return obj.head.name if obj.head else "—"


@admin.register(Person)
class PersonAdmin(ReadOnlyHistoryAdmin):
    list_display = ["person_code", "name", "nik_masked", "family", "relationship", "sex", "birth_date",
                    "life_status", "status"]
    list_filter = ["status", "life_status", "sex", "relationship"]
    list_select_related = ["family"]
    search_fields = ["=person_code", "=family__family_code", "=family__kk_number", "name"]
    readonly_fields = ["nik_masked"]
    exclude = sorted(HIDDEN_FIELDS)
    ordering = ["-pk"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Person]:
        try:
            return person_qs(actor=request.user).order_by("-pk")
        except ScopeDenied:
            return Person.objects.none()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        """A 16-digit term is also looked up as a NIK, through the keyed blind index."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if len(term) == 16 and term.isdigit():
            results = results | queryset.filter(nik_hash=nik_hash(term))
        return results, may_have_duplicates

    @admin.display(description="NIK")
    def nik_masked(self, obj: Model) -> str:
        # `obj` comes from the scoped queryset (or is a version of a row of it): only the mask is shown.
        return nik_mask(nik_decrypt(obj.nik_enc))  # type: ignore[attr-defined]


@admin.register(Dwelling)
class DwellingAdmin(ReadOnlyHistoryAdmin):
    list_display = ["dwelling_code", "village_code", "building_no", "geotagged_at"]
    search_fields = ["=dwelling_code", "=village_code"]
    ordering = ["-pk"]


@admin.register(ExclusionFlag)
class ExclusionFlagAdmin(ReadOnlyHistoryAdmin):
    scope_field = "person__family__village_code"
    list_display = ["person", "category", "source", "observed_on", "active", "ended_on"]
    list_filter = ["active", "category", "source"]
    list_select_related = ["person"]
    search_fields = ["=person__person_code", "=person__family__family_code"]
    ordering = ["-pk"]


@admin.register(Condition)
class ConditionAdmin(ReadOnlyAdmin):
    scope_field = "family__village_code"
    list_display = ["family", "observed_on", "channel", "officer", "recorded_at"]
    list_filter = ["channel"]
    list_select_related = ["family"]
    search_fields = ["=family__family_code", "=family__kk_number"]
    ordering = ["-pk"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    scope_field = "family__village_code"
    list_display = ["kind", "family", "person", "event_date", "channel", "actor", "reason", "recorded_at"]
    list_filter = ["kind", "channel"]
    list_select_related = ["family", "person", "actor"]
    search_fields = ["=family__family_code", "=person__person_code"]
    ordering = ["-pk"]


@admin.register(FamilyKkNumber)
class FamilyKkNumberAdmin(ReadOnlyAdmin):
    scope_field = "family__village_code"
    list_display = ["kk_number", "family", "valid_from", "valid_to", "reason"]
    list_select_related = ["family"]
    search_fields = ["=kk_number", "=family__family_code"]
    ordering = ["-pk"]
