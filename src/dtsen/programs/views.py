"""Staff pages of programs (mounted at /program/, phone first): eligibility runs, a run's summary per program
(selected, waiting, not selected by reason, amount; simulations marked), its results with filters, the decree
form (ratifier), a decree's disbursement list per village with status buttons and a bank report upload (Dinsos),
and the BNBA downloads (CSV, XLSX, PDF) per village.

Each view parses the input, calls one service or selector with `actor=request.user` and renders. A refused
operation (`ApplicationError`) is shown on the same page with its bilingual message and HTTP status; a run or
decree outside the actor's regions is a 404 from its selector. Nothing here queries a model itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dtsen.accounts.permissions import PROGRAM_RATIFY
from dtsen.accounts.selectors import scope_for
from dtsen.audit.context import request_audit
from dtsen.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from dtsen.programs import decrees as svc
from dtsen.programs import exports, selectors
from dtsen.programs.models import Outcome, PayStatus, Reason
from dtsen.regions.selectors import region_children, region_get
from dtsen.registry import choices as c

STAFF_CHANNEL = c.Channel.WEB
LIST_PAGE = 50
MAX_REPORT_BYTES = 5 * 1024 * 1024
MAX_REPORT_ROWS = 100_000


# ---------------------------------------------------------------------------------------------- helpers


def _ctx(request: HttpRequest) -> Any:
    return request_audit(request, STAFF_CHANNEL)


def _page(request: HttpRequest, template: str, context: dict[str, Any], error: ApplicationError | None = None
          ) -> HttpResponse:
    context = {"section": "program", "pages": selectors.program_pages(actor=request.user), **context,
               "error": error}
    return render(request, template, context, status=error.status if error else 200)


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied("Anda tidak berwenang membuka halaman ini.", "You are not allowed to open this page.")


def _int(value: str | None, field: str, *, default: int | None = None) -> int:
    text = (value or "").strip()
    if not text and default is not None:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValidationFailed(f"Nilai {field} tidak valid.", f"Invalid value for {field}.", field=field) from None


def _page_no(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 10_000))
    except ValueError:
        return 1


def _region_name(code: str) -> str:
    if not code:
        return "Indonesia"
    try:
        return region_get(code).name
    except NotFound:
        return ""


def _posted(request: HttpRequest) -> dict[str, str]:
    if request.method != "POST":
        return {}
    return {k: request.POST.get(k, "").strip() for k in request.POST if k != "csrfmiddlewaretoken"}


def _ratify_regions(request: HttpRequest) -> list[tuple[str, str]]:
    """Province/kabupaten codes the ratifier may choose ([] for a national ratifier: free entry)."""
    scope = scope_for(request.user, PROGRAM_RATIFY)
    out: list[tuple[str, str]] = []
    for prefix in scope.prefixes:
        if prefix.count(".") == 0:
            out.append((prefix, _region_name(prefix)))
            out.extend((r.code, r.name) for r in region_children(prefix))
        elif prefix.count(".") == 1:
            out.append((prefix, _region_name(prefix)))
    return out


# ----------------------------------------------------------------------------------------------- runs


@never_cache
@login_required
@require_GET
def runs_view(request: HttpRequest) -> HttpResponse:
    pages = selectors.program_pages(actor=request.user)
    _require(pages.view)
    page = _page_no(request)
    runs = selectors.run_list(actor=request.user, limit=LIST_PAGE + 1, offset=(page - 1) * LIST_PAGE)
    return _page(request, "programs/runs.html", {
        "runs": runs[:LIST_PAGE], "page": page, "has_next": len(runs) > LIST_PAGE,
        "decrees": selectors.decree_list(actor=request.user, limit=10),
    })


@never_cache
@login_required
@require_GET
def run_detail_view(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.run_get(actor=request.user, run_id=run_id)
    summary = selectors.run_summary(actor=request.user, run=run)
    names = selectors.program_names(run)
    regions = [{"row": r, "name": _region_name(r.region_code), "program": names.get(r.program, r.program)}
               for r in summary.regions]
    return _page(request, "programs/run_detail.html", {
        "run": run, "summary": summary, "regions": regions,
        "decrees": selectors.decree_list(actor=request.user, run=run, limit=200),
    })


@never_cache
@login_required
@require_GET
def results_view(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.run_get(actor=request.user, run_id=run_id)
    names = selectors.program_names(run)
    program = request.GET.get("program", "")
    outcome = request.GET.get("outcome", "")
    reason = request.GET.get("reason", "")
    region = request.GET.get("region", "").strip()[:13]
    if program and program not in names:
        raise ValidationFailed("Program tidak dikenal.", "Unknown program.", field="program")
    if outcome and outcome not in Outcome.values:
        raise ValidationFailed("Hasil tidak dikenal.", "Unknown outcome.", field="outcome")
    if reason and reason not in Reason.values:
        raise ValidationFailed("Alasan tidak dikenal.", "Unknown reason.", field="reason")
    page = _page_no(request)
    rows = selectors.results_list(actor=request.user, run=run, program=program, outcome=outcome, reason=reason,
                                  region=region, limit=LIST_PAGE + 1, offset=(page - 1) * LIST_PAGE)
    return _page(request, "programs/results.html", {
        "run": run, "rows": [{"r": r, "program": names.get(r.program, r.program),
                              "components": selectors.components_text(r.components)} for r in rows[:LIST_PAGE]],
        "page": page, "has_next": len(rows) > LIST_PAGE, "program": program, "outcome": outcome, "reason": reason,
        "region": region, "programs": list(names.items()), "outcomes": Outcome.choices, "reasons": Reason.choices,
    })


# ------------------------------------------------------------------------------------------- decrees


def _decree_form_context(request: HttpRequest, run: Any) -> dict[str, Any]:
    values = _posted(request) or {"program": request.GET.get("program", "")}
    return {"run": run, "programs": list(selectors.program_names(run).items()), "regions": _ratify_regions(request),
            "values": values, "today": timezone.localdate()}


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def decree_create_view(request: HttpRequest, run_id: int) -> HttpResponse:
    _require(selectors.program_pages(actor=request.user).ratify)
    run = selectors.run_get(actor=request.user, run_id=run_id)
    if request.method != "POST":
        return _page(request, "programs/decree_form.html", _decree_form_context(request, run))
    try:
        text = request.POST.get("decree_date", "").strip()
        try:
            decree_date = dt.date.fromisoformat(text)
        except ValueError:
            raise ValidationFailed(f"Tanggal tidak valid: {text!r} (YYYY-MM-DD).",
                                   f"Invalid date: {text!r} (YYYY-MM-DD).", field="decree_date") from None
        with _ctx(request):
            decree = svc.decree_create(actor=request.user, run=run, program=request.POST.get("program", ""),
                                       region_code=request.POST.get("region_code", "").strip()[:13],
                                       decree_number=request.POST.get("decree_number", ""), decree_date=decree_date,
                                       decree_file=request.FILES.get("decree_file"))
    except ApplicationError as exc:
        return _page(request, "programs/decree_form.html", _decree_form_context(request, run), exc)
    messages.success(request, _("Ratified under decree %(number)s: %(n)d beneficiaries.") % {
        "number": decree.decree_number, "n": decree.beneficiaries})
    return redirect("programs:decree_detail", decree_id=decree.pk)


def _decree_detail(request: HttpRequest, decree_id: int, error: ApplicationError | None = None) -> HttpResponse:
    decree = selectors.decree_get(actor=request.user, decree_id=decree_id)
    villages = selectors.decree_villages(actor=request.user, decree=decree)
    village = (request.POST.get("desa") or request.GET.get("desa") or "").strip()[:13]
    if not village and len(villages) == 1:
        village = villages[0].village_code
    statuses = dict(PayStatus.choices)
    rows: list[dict[str, Any]] = []
    if village:
        with _ctx(request):
            for row in selectors.disbursements(actor=request.user, decree=decree, village=village):
                moves = [(s, statuses[s]) for (src, s), _perm in svc.TRANSITIONS.items() if src == row.status]
                rows.append({"b": row, "moves": moves})
    pages = selectors.program_pages(actor=request.user)
    return _page(request, "programs/decree_detail.html", {
        "decree": decree, "program": selectors.program_names(decree.run).get(decree.program, decree.program),
        "region_name": _region_name(decree.region_code),
        "villages": [{"v": v, "name": _region_name(v.village_code),
                      "statuses": [(statuses[s], n) for s, n in sorted(v.by_status.items())]} for v in villages],
        "village": village, "village_name": _region_name(village) if village else "", "rows": rows,
        "can_disburse": pages.disburse, "channels": list(svc.CHANNELS.items()), "formats": exports.FORMATS,
        "values": _posted(request),
    }, error)


@never_cache
@login_required
@require_GET
def decree_detail_view(request: HttpRequest, decree_id: int) -> HttpResponse:
    return _decree_detail(request, decree_id)


@never_cache
@login_required
@require_POST
def disbursement_status_view(request: HttpRequest, disbursement_id: int) -> HttpResponse:
    """One status button: the form carries the status and version the user saw (a stale page loses)."""
    disbursement = selectors.disbursement_get(actor=request.user, disbursement_id=disbursement_id)
    decree_id = disbursement.decree_id
    village = disbursement.village_code
    try:
        disbursement.version = _int(request.POST.get("version"), "version", default=disbursement.version)
        disbursement.status = request.POST.get("from", "") or disbursement.status
        with _ctx(request):
            svc.disbursement_set_status(actor=request.user, disbursement=disbursement,
                                        status=request.POST.get("status", ""), note=request.POST.get("note", ""),
                                        channel=request.POST.get("channel", ""))
    except ApplicationError as exc:
        return _decree_detail(request, decree_id, exc)
    messages.success(request, _("Disbursement status recorded."))
    return redirect(f"{reverse('programs:decree_detail', args=[decree_id])}?desa={village}#d{disbursement_id}")


def _report_rows(upload: Any) -> list[dict[str, str]]:
    if upload is None:
        raise ValidationFailed("Unggah laporan penyaluran (CSV).", "Upload the disbursement report (CSV).",
                               field="report")
    if upload.size > MAX_REPORT_BYTES:
        raise ValidationFailed("Berkas laporan terlalu besar (paling besar 5 MB).",
                               "The report file is too large (at most 5 MB).", field="report")
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed("Laporan harus CSV berenkode UTF-8.", "The report must be a UTF-8 CSV file.",
                               field="report") from None
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    rows = []
    for row in reader:
        rows.append({(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if isinstance(v, str)})
        if len(rows) > MAX_REPORT_ROWS:
            raise ValidationFailed("Laporan terlalu banyak baris.", "The report has too many rows.", field="report")
    if not rows or not ({"family_id", "family_code"} & set(rows[0])) or "status" not in rows[0]:
        raise ValidationFailed("Kolom wajib: family_code (atau family_id) dan status.",
                               "Required columns: family_code (or family_id) and status.", field="report")
    return rows


@never_cache
@login_required
@require_POST
def disbursement_import_view(request: HttpRequest, decree_id: int) -> HttpResponse:
    decree = selectors.decree_get(actor=request.user, decree_id=decree_id)
    try:
        rows = _report_rows(request.FILES.get("report"))
        with _ctx(request):
            result = svc.disbursement_import(actor=request.user, decree=decree, rows=rows)
    except ApplicationError as exc:
        return _decree_detail(request, decree_id, exc)
    messages.success(request, _("Disbursement report recorded: %(n)d changes.") % {"n": result.changed})
    return redirect("programs:decree_detail", decree_id=decree_id)


@never_cache
@login_required
@require_GET
def bnba_view(request: HttpRequest, decree_id: int, village_code: str, fmt: str) -> HttpResponse:
    decree = selectors.decree_get(actor=request.user, decree_id=decree_id)
    with _ctx(request):
        export = exports.bnba_export(actor=request.user, decree=decree, village_code=village_code, fmt=fmt)
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


urlpatterns = [
    path("", runs_view, name="runs"),
    path("proses/<int:run_id>/", run_detail_view, name="run_detail"),
    path("proses/<int:run_id>/hasil/", results_view, name="results"),
    path("proses/<int:run_id>/penetapan/", decree_create_view, name="decree_create"),
    path("penetapan/<int:decree_id>/", decree_detail_view, name="decree_detail"),
    path("penetapan/<int:decree_id>/laporan/", disbursement_import_view, name="disbursement_import"),
    path("penetapan/<int:decree_id>/bnba/<str:village_code>/<str:fmt>/", bnba_view, name="bnba"),
    path("penyaluran/<int:disbursement_id>/status/", disbursement_status_view, name="disbursement_status"),
]
