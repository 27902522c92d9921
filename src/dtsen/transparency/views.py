"""Public transparency pages and open data files (no login). All counting is in aggregates.py."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_page
from django.views.decorators.http import require_GET

from dtsen.regions.errors import RegionNotFound
from dtsen.regions.selectors import region_ancestors
from dtsen.transparency.aggregates import (
    CACHE_SECONDS,
    FLAG_COMPLEMENT,
    FLAG_SMALL,
    THRESHOLD,
    Transparency,
    transparency_csv_rows,
    transparency_dict,
    transparency_get,
)

SCHEMA_PATH = Path(__file__).with_name("schema.json")


def _data(code: str) -> Transparency:
    try:
        return transparency_get(code)
    except RegionNotFound as exc:
        raise Http404(_("Region not found.")) from exc


def _titles() -> dict[str, str]:
    return {
        "desil_families": _("Families per desil"),
        "desil_persons": _("Persons per desil"),
        "programs": _("Recipient families per program"),
        "usulan": _("Update proposals (usulan)"),
        "submissions": _("Citizen submissions (usul/sanggah)"),
    }


def _column_label(key: str) -> str:
    labels = {
        "total": _("Total"),
        "decided": _("Decided"),
        "pending": _("Pending"),
        "received": _("Received"),
    }
    if key.isdigit():
        return _("Desil %(n)s") % {"n": key}
    return labels.get(key, key.upper().replace("_", "-"))


@require_GET
def region_page(request: HttpRequest, code: str = "") -> HttpResponse:
    data = _data(code)
    titles = _titles()
    tables = [
        {"table": t, "title": titles[t.id], "labels": [_column_label(c) for c in t.columns]}
        for t in data.tables.values()
    ]
    return render(request, "transparency/region.html", {
        "data": data,
        "tables": tables,
        "ancestors": region_ancestors(data.code)[:-1] if data.code else [],
        "threshold": THRESHOLD,
        "flag_small": FLAG_SMALL,
        "flag_complement": FLAG_COMPLEMENT,
    })


@require_GET
@cache_page(CACHE_SECONDS)
def data_csv(request: HttpRequest, code: str = "") -> HttpResponse:
    data = _data(code)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(transparency_csv_rows(data))
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dtsen-transparansi-{data.code or "nasional"}.csv"'
    return response


@require_GET
@cache_page(CACHE_SECONDS)
def data_json(request: HttpRequest, code: str = "") -> HttpResponse:
    data = _data(code)
    return JsonResponse(transparency_dict(data), json_dumps_params={"ensure_ascii": False})


@require_GET
@cache_page(CACHE_SECONDS)
def schema_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse(json.loads(SCHEMA_PATH.read_text()), content_type="application/schema+json")
