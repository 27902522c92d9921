"""Reads of exports, schedules and reference imports: for holders of registry.bulk (national data staff)."""

from __future__ import annotations

from django.db.models import QuerySet

from dtsen.accounts.permissions import REGISTRY_BULK, REGISTRY_CHANGE
from dtsen.accounts.selectors import Actor, require_scope
from dtsen.core.errors import NotFound
from dtsen.exchange.models import ExportRecord, ExportSchedule, ReferenceImport, ReferenceRow


def export_list(*, actor: Actor, limit: int = 100) -> list[ExportRecord]:
    require_scope(actor, REGISTRY_BULK)
    return list(ExportRecord.objects.select_related("created_by", "schedule").order_by("-pk")[:limit])


def schedule_list(*, actor: Actor) -> list[ExportSchedule]:
    require_scope(actor, REGISTRY_BULK)
    return list(ExportSchedule.objects.select_related("owner").order_by("name"))


def reference_import_list(*, actor: Actor, limit: int = 100) -> list[ReferenceImport]:
    require_scope(actor, REGISTRY_BULK)
    return list(ReferenceImport.objects.select_related("created_by").order_by("-pk")[:limit])


def reference_import_get(*, actor: Actor, batch_id: int) -> ReferenceImport:
    require_scope(actor, REGISTRY_BULK)
    batch = ReferenceImport.objects.filter(pk=batch_id).first()
    if batch is None:
        raise NotFound("Impor rujukan tidak ditemukan.", "Reference import not found.")
    return batch


def reference_rows_of_person(*, actor: Actor, person_id: int) -> QuerySet[ReferenceRow]:
    """The reference rows applied to a person (what a Dinsos user checks when a citizen contests a flag)."""
    scope = require_scope(actor, REGISTRY_CHANGE)
    return (ReferenceRow.objects.filter(person_id=person_id).filter(scope.q("person__family__village_code"))
            .select_related("batch").order_by("-pk"))  # fmt: skip


def export_get(*, actor: Actor, export_id: int) -> ExportRecord:
    require_scope(actor, REGISTRY_BULK)
    record = ExportRecord.objects.filter(pk=export_id).first()
    if record is None:
        raise NotFound("Ekspor tidak ditemukan.", "Export not found.")
    return record
