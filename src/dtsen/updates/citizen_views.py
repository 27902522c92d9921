"""The participation channel's pages (mounted at /warga/pengajuan/).

Citizens (a verified, active account): my submissions with their status, propose a family for registration
(usul) or for a program, contest a family of my village (sanggah), ask to correct my own family's data, and
one submission's status page with its history. Dinsos (`usulan.check`): the queue of citizen submissions of
their regions and one submission's page, where they order a field visit, verify, reject with a reason or
accept (which turns the submission into an usulan of the formal channel).

Each view parses the form, calls one service of `updates.submissions` or a selector, and renders; a refused
operation re-renders the same form with its bilingual message and status. A citizen whose account is not
active gets the "not verified yet" refusal (403) from `citizen_own_family`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dtsen.accounts.citizen_selectors import citizen_own_family
from dtsen.audit.context import request_audit
from dtsen.core.errors import ApplicationError, ValidationFailed
from dtsen.core.http import no_store
from dtsen.documents.models import DocumentKind
from dtsen.registry import choices as c
from dtsen.updates import machine, selectors, submissions
from dtsen.updates.models import (
    Program,
    ProposedWho,
    SanggahReason,
    Submission,
    SubmissionKind,
    SubmissionStatus,
    VisitFlag,
)

CITIZEN_CHANNEL = c.Channel.USUL_SANGGAH
STAFF_CHANNEL = c.Channel.WEB
citizen_login_required = login_required(login_url="citizen:login")
S = SubmissionStatus


def _ctx(request: HttpRequest, channel: str) -> Any:
    return request_audit(request, channel)


_no_store = no_store


def _form(request: HttpRequest, template: str, context: dict[str, Any], error: ApplicationError | None = None,
          section: str = "citizen") -> HttpResponse:
    context = {"section": section, **context, "error": error,
               "error_field": error.extra.get("field", "") if error else ""}
    return render(request, template, context, status=error.status if error else 200)


def _files(request: HttpRequest, fields: dict[str, str]) -> list[tuple[str, Any]]:
    """(document kind, uploaded file) for every file of the form fields given as {field: kind}."""
    return [(kind, f) for name, kind in fields.items() for f in request.FILES.getlist(name)]


def _status_class(status: str) -> str:
    classes: dict[str, str] = {S.ACCEPTED: "badge-ok", S.REJECTED: "badge-error", S.VERIFIED: "badge-ok"}
    return classes.get(status, "badge-muted")


def _reason(sub: Submission) -> str:
    """Why a submission was rejected, in the page language for an automatic rejection."""
    if sub.status != S.REJECTED:
        return ""
    if sub.auto_reject_reason:
        return str(sub.get_auto_reject_reason_display())
    return sub.decision_reason


def _row(sub: Submission) -> dict[str, Any]:
    return {"sub": sub, "badge": _status_class(sub.status), "reason": _reason(sub)}


# ------------------------------------------------------------------------------------------- citizens


@_no_store
@citizen_login_required
@require_GET
def my_list_view(request: HttpRequest) -> HttpResponse:
    rows = [_row(s) for s in selectors.my_submissions(actor=request.user)]
    return _form(request, "updates/citizen_list.html", {"rows": rows})


@_no_store
@citizen_login_required
@require_GET
def detail_view(request: HttpRequest, reference: str) -> HttpResponse:
    sub = selectors.my_submission(actor=request.user, reference=reference)
    steps = [(t, _status_label(t.to_status)) for t in selectors.history(sub)]
    return _form(request, "updates/citizen_detail.html", {**_row(sub), "steps": steps,
                                                          "nik_masked": sub.payload.get("nik_masked", "")})


def _status_label(value: str) -> str:
    try:
        return str(SubmissionStatus(value).label)
    except ValueError:
        return value


def _done(request: HttpRequest, sub: Submission) -> HttpResponse:
    if sub.status == S.REJECTED:
        messages.error(request, _("Submission %(ref)s was rejected automatically: %(reason)s")
                       % {"ref": sub.reference, "reason": _reason(sub)})
    else:
        messages.success(request, _("Submission %(ref)s was sent. Dinsos will check it; follow its status here.")
                         % {"ref": sub.reference})
    return redirect("submissions:detail", reference=sub.reference)


USUL_FIELDS = ("proposed_who", "nik", "name", "kk_number", "village_code", "rw", "rt", "address", "description")


@_no_store
@citizen_login_required
@sensitive_post_parameters("nik")
@require_http_methods(["GET", "POST"])
def usul_view(request: HttpRequest) -> HttpResponse:
    own = citizen_own_family(actor=request.user)  # not active: 403 "not verified yet"
    values = {name: request.POST.get(name, "") for name in USUL_FIELDS}
    context = {"values": values, "who_choices": ProposedWho.choices, "own_village": own.family.village_code}
    if request.method == "GET":
        values["proposed_who"] = ProposedWho.OTHER
        values["village_code"] = own.family.village_code
        return _form(request, "updates/citizen_usul.html", context)
    try:
        with _ctx(request, CITIZEN_CHANNEL):
            sub = submissions.usul_registration(
                actor=request.user, **values,
                documents=_files(request, {"house_front": DocumentKind.HOUSE_FRONT,
                                           "house_inside": DocumentKind.HOUSE_INSIDE, "letters": DocumentKind.LETTER}),
            )
    except ApplicationError as exc:
        return _form(request, "updates/citizen_usul.html", context, exc)
    return _done(request, sub)


@_no_store
@citizen_login_required
@sensitive_post_parameters("nik")
@require_http_methods(["GET", "POST"])
def program_view(request: HttpRequest) -> HttpResponse:
    citizen_own_family(actor=request.user)
    values = {name: request.POST.get(name, "") for name in ("nik", "program", "description")}
    context = {"values": values, "programs": Program.choices}
    if request.method == "GET":
        return _form(request, "updates/citizen_program.html", context)
    try:
        with _ctx(request, CITIZEN_CHANNEL):
            sub = submissions.usul_program(actor=request.user, **values,
                                           documents=_files(request, {"letters": DocumentKind.LETTER}))
    except ApplicationError as exc:
        return _form(request, "updates/citizen_program.html", context, exc)
    return _done(request, sub)


def _int(raw: str, field: str) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise ValidationFailed("Pilihan tidak valid.", "Invalid choice.", field=field)
    return int(raw)


def _sanggah_context(request: HttpRequest, family_id: int | None, values: dict[str, str]) -> dict[str, Any]:
    query = request.GET.get("q", "")[:60]
    family: Any = None
    members: list[Any] = []
    if family_id is not None:
        family, members = selectors.village_family_members_for_citizen(actor=request.user, family_id=family_id)
    return {"values": values, "query": query, "family": family, "members": members,
            "families": [] if family is not None else selectors.village_families_for_citizen(
                actor=request.user, query=query),
            "reasons": SanggahReason.choices}


@_no_store
@citizen_login_required
@require_http_methods(["GET", "POST"])
def sanggah_view(request: HttpRequest) -> HttpResponse:
    citizen_own_family(actor=request.user)
    values = {name: request.POST.get(name, "") for name in ("family_id", "person_id", "reason", "description")}
    if request.method == "GET":
        with _ctx(request, CITIZEN_CHANNEL):
            context = _sanggah_context(request, _int(request.GET.get("keluarga", ""), "family"), values)
        return _form(request, "updates/citizen_sanggah.html", context)
    try:
        family_id = _int(values["family_id"], "family")
        if family_id is None:
            raise ValidationFailed("Pilih keluarga yang disanggah.", "Choose the family you contest.", field="family")
        with _ctx(request, CITIZEN_CHANNEL):
            sub = submissions.sanggah_create(
                actor=request.user, family_id=family_id, reason=values["reason"],
                person_id=_int(values["person_id"], "person"), description=values["description"],
                documents=_files(request, {"evidence": DocumentKind.OTHER}),
            )
    except ApplicationError as exc:
        try:  # show the same family again when it is one the citizen may contest
            with _ctx(request, CITIZEN_CHANNEL):
                context = _sanggah_context(request, _int(values["family_id"], "family"), values)
        except ApplicationError:
            context = _sanggah_context(request, None, values)
        return _form(request, "updates/citizen_sanggah.html", context, exc)
    return _done(request, sub)


@_no_store
@citizen_login_required
@require_http_methods(["GET", "POST"])
def correction_view(request: HttpRequest) -> HttpResponse:
    own = citizen_own_family(actor=request.user)
    values = {name: request.POST.get(name, "") for name in ("description", "rw", "rt", "address")}
    context = {"values": values, "family": own.family}
    if request.method == "GET":
        return _form(request, "updates/citizen_correction.html", context)
    address = {k: values[k].strip() for k in ("rw", "rt", "address") if values[k].strip()}
    try:
        with _ctx(request, CITIZEN_CHANNEL):
            sub = submissions.own_correction(
                actor=request.user, description=values["description"], address=address or None,
                documents=_files(request, {"evidence": DocumentKind.OTHER}),
            )
    except ApplicationError as exc:
        return _form(request, "updates/citizen_correction.html", context, exc)
    return _done(request, sub)


# ------------------------------------------------------------------------------------------- Dinsos


@_no_store
@login_required
@require_GET
def dinsos_queue_view(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status and status not in S.values:
        raise ValidationFailed("Status tidak dikenal.", "Unknown status.", field="status")
    rows = [_row(s) for s in selectors.submission_list(actor=request.user, status=status)]
    return render(request, "updates/citizen_dinsos_queue.html", {
        "section": "submissions", "rows": rows, "status": status, "statuses": S.choices,
    })


def _flags(flags: list[str]) -> list[str]:
    out = []
    for flag in flags or ():
        try:
            out.append(str(VisitFlag(flag).label))
        except ValueError:
            out.append(flag)
    return out


def _dinsos_page(request: HttpRequest, submission_id: int, error: ApplicationError | None = None,
                 values: dict[str, str] | None = None) -> HttpResponse:
    with _ctx(request, STAFF_CHANNEL):
        sub = selectors.submission_get(actor=request.user, submission_id=submission_id)
    moves = machine.allowed_moves(sub, request.user)
    visits = [{"visit": v, "flags": _flags(v.flags), "photos": list(v.photos.all())} for v in selectors.visits_of(sub)]
    context = {
        "section": "submissions", **_row(sub),
        "steps": [(t, _status_label(t.to_status)) for t in selectors.history(sub)],
        "visits": visits, "documents": list(sub.documents.all()), "nik_masked": sub.payload.get("nik_masked", ""),
        "can_order_visit": S.FIELD_CHECK in moves or (sub.status == S.FIELD_CHECK and bool(moves)),
        "can_verify": S.VERIFIED in moves, "can_reject": S.REJECTED in moves, "can_accept": S.ACCEPTED in moves,
        "workers": selectors.workers_for(actor=request.user, village_code=sub.village_code) if moves else [],
        "values": values or {"due_on": (timezone.localdate() + dt.timedelta(days=7)).isoformat()},
        "error": error, "error_field": error.extra.get("field", "") if error else "",
        "payload_rows": _payload_rows(sub),
    }
    return render(request, "updates/citizen_dinsos_detail.html", context, status=error.status if error else 200)


def _payload_rows(sub: Submission) -> list[tuple[str, str]]:
    """What the citizen wrote (no clear NIK: only the masked one)."""
    p = sub.payload
    rows: list[tuple[str, str]] = []
    if sub.kind == SubmissionKind.USUL_REGISTRATION:
        rows += [(_("Name as on the KTP"), p.get("name", "")), (_("KK number"), p.get("kk_number", "")),
                 ("RT / RW", f"{p.get('rt', '') or '-'} / {p.get('rw', '') or '-'}"),
                 (_("Street"), p.get("address", ""))]
    if isinstance(p.get("address"), dict):
        a = p["address"]
        rows += [("RT / RW", f"{a.get('rt', '') or '-'} / {a.get('rw', '') or '-'}"),
                 (_("Street"), a.get("address", ""))]
    return [(k, v) for k, v in rows if v]


@_no_store
@login_required
@require_GET
def dinsos_detail_view(request: HttpRequest, submission_id: int) -> HttpResponse:
    return _dinsos_page(request, submission_id)


def _dinsos_action(request: HttpRequest, submission_id: int, action: str) -> HttpResponse:
    with _ctx(request, STAFF_CHANNEL):
        sub = selectors.submission_get(actor=request.user, submission_id=submission_id)  # out of scope: 404
    values = {name: request.POST.get(name, "") for name in ("worker", "due_on", "instructions", "reason", "note")}
    try:
        with _ctx(request, STAFF_CHANNEL):
            if action == "visit":
                worker_id = _int(values["worker"], "worker")
                workers = {w.pk: w for w in selectors.workers_for(actor=request.user, village_code=sub.village_code)}
                try:
                    due_on = dt.date.fromisoformat(values["due_on"].strip())
                except ValueError:
                    raise ValidationFailed("Batas waktu tidak valid (format TTTT-BB-HH).",
                                           "The due date is not valid (format YYYY-MM-DD).", field="due_on") from None
                submissions.submission_order_visit(actor=request.user, submission=sub,
                                                   worker=workers.get(worker_id or 0), due_on=due_on,
                                                   instructions=values["instructions"])
                messages.success(request, _("The verification visit was assigned."))
            elif action == "verify":
                submissions.submission_verify(actor=request.user, submission=sub)
                messages.success(request, _("The submission was verified."))
            elif action == "reject":
                submissions.submission_reject(actor=request.user, submission=sub, reason=values["reason"])
                messages.success(request, _("The submission was rejected."))
            else:
                submissions.submission_accept(actor=request.user, submission=sub, note=values["note"])
                messages.success(request, _("The submission was accepted and sent on as an usulan."))
    except ApplicationError as exc:
        return _dinsos_page(request, submission_id, exc, values)
    return redirect("submissions:dinsos_detail", submission_id=submission_id)


@login_required
@require_POST
def dinsos_visit_view(request: HttpRequest, submission_id: int) -> HttpResponse:
    return _dinsos_action(request, submission_id, "visit")


@login_required
@require_POST
def dinsos_verify_view(request: HttpRequest, submission_id: int) -> HttpResponse:
    return _dinsos_action(request, submission_id, "verify")


@login_required
@require_POST
def dinsos_reject_view(request: HttpRequest, submission_id: int) -> HttpResponse:
    return _dinsos_action(request, submission_id, "reject")


@login_required
@require_POST
def dinsos_accept_view(request: HttpRequest, submission_id: int) -> HttpResponse:
    return _dinsos_action(request, submission_id, "accept")


urlpatterns: list[URLPattern] = [
    path("", my_list_view, name="list"),
    path("usul/", usul_view, name="usul"),
    path("program/", program_view, name="program"),
    path("sanggah/", sanggah_view, name="sanggah"),
    path("perbaikan/", correction_view, name="correction"),
    path("dinsos/", dinsos_queue_view, name="dinsos_queue"),
    path("dinsos/<int:submission_id>/", dinsos_detail_view, name="dinsos_detail"),
    path("dinsos/<int:submission_id>/kunjungan/", dinsos_visit_view, name="dinsos_order_visit"),
    path("dinsos/<int:submission_id>/verifikasi/", dinsos_verify_view, name="dinsos_verify"),
    path("dinsos/<int:submission_id>/tolak/", dinsos_reject_view, name="dinsos_reject"),
    path("dinsos/<int:submission_id>/terima/", dinsos_accept_view, name="dinsos_accept"),
    path("<str:reference>/", detail_view, name="detail"),
]
