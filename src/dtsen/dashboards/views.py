"""Staff dashboards (mounted at /dasbor/): one page per region with its panels, charts, tables and map, and a
CSV download of every table (`?csv=<key>`). The region is the path (`/dasbor/34.01/`) or the `region` query
parameter (the drill-down form); without one, the actor's own region.

The views parse the input, call the aggregates (which take the acting user and refuse a region outside the
actor's `dashboard.view` scope with a 403) and render. Every page and download is one audit record."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dtsen.audit.context import request_audit
from dtsen.dashboards import aggregates
from dtsen.dashboards.geo import boundary_file
from dtsen.dashboards.tables import csv_bytes, dashboard_tables
from dtsen.registry import choices as c

CHART_KEYS = ("desil", "transitions", "programs", "queues", "workers", "quality")


@never_cache
@login_required
@require_GET
def dashboard(request: HttpRequest, code: str = "") -> HttpResponse:
    code = code or request.GET.get("region", "").strip()[:13]
    with request_audit(request, c.Channel.WEB):
        dash = aggregates.dashboard_get(actor=request.user, code=code)
        tables = dashboard_tables(dash)
        key = request.GET.get("csv", "")
        if key:
            table = tables.get(key)
            if table is None:
                raise Http404("unknown table")
            aggregates.dashboard_audit(actor=request.user, code=dash.region.code, export=key)
            response = HttpResponse(csv_bytes(table), content_type="text/csv; charset=utf-8")
            name = f"dtsen-dasbor-{key}-{dash.region.code or 'nasional'}-{dash.today.isoformat()}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        aggregates.dashboard_audit(actor=request.user, code=dash.region.code)
    boundaries = boundary_file(dash.map.region) if dash.map is not None else None
    charts = {k: tables[k].chart for k in CHART_KEYS if k in tables and tables[k].chart}
    poor = sum(dash.desil.current[:aggregates.POOR_DESIL_MAX])
    return render(request, "dashboards/dashboard.html", {
        "section": "dashboard",
        "dash": dash,
        "region": dash.region,
        "tables": tables,
        "charts": charts,
        "map_boundaries": static(boundaries) if boundaries else "",
        "map_values": dash.map.values if dash.map is not None else {},
        "map_links": dash.map is not None and dash.map.region == dash.region.code,
        "poor_share": poor / dash.desil.total if dash.desil.total else None,
        "open_items": sum(q.open for q in dash.queues),
        "overdue_items": sum(q.overdue for q in dash.queues),
        "poor_max": aggregates.POOR_DESIL_MAX,
    })
