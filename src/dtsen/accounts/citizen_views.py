"""Citizen pages (register, e-mail code, photos, status, my family, data download) and the verifiers' review
queue. Each view parses the input, calls one service or selector and renders; a refused operation is shown
on the same form with its bilingual message and status (other errors go to the error middleware).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dtsen.accounts import citizen_services as svc
from dtsen.accounts.citizen_selectors import (
    citizen_account_for_login,
    citizen_account_get,
    citizen_account_of,
    citizen_desil,
    citizen_family,
    citizen_own_family,
    citizen_review_account,
    citizen_review_get,
    citizen_review_queue,
)
from dtsen.accounts.dsar import dsar_json, dsar_pdf
from dtsen.accounts.models import CitizenAccount, CitizenStatus, MatchResult
from dtsen.audit.context import request_audit
from dtsen.core.errors import ApplicationError, NotFound, ValidationFailed
from dtsen.core.http import no_store
from dtsen.core.masking import mask_email
from dtsen.regions.selectors import region_ancestors
from dtsen.registry import choices as c
from dtsen.registry.models import Condition

CITIZEN_CHANNEL = c.Channel.USUL_SANGGAH  # the participation channel (Cek Bansos style)
STAFF_CHANNEL = c.Channel.WEB
citizen_login_required = login_required(login_url="citizen:login")


def _ctx(request: HttpRequest, channel: str) -> Any:
    return request_audit(request, channel)


_no_store = no_store


def _form(request: HttpRequest, template: str, context: dict[str, Any], error: ApplicationError | None = None
          ) -> HttpResponse:
    context = {"section": "citizen", **context, "error": error}
    return render(request, template, context, status=error.status if error else 200)


def _next_step(account: CitizenAccount) -> str:
    steps: dict[str, str] = {
        CitizenStatus.REGISTERED: "citizen:otp",
        CitizenStatus.OTP_VERIFIED: "citizen:photos",
        CitizenStatus.ACTIVE: "citizen:family",
    }
    return steps.get(account.status, "citizen:status")


# --------------------------------------------------------------------------------------- registration


REGISTER_FIELDS = ("kk_number", "name_on_ktp", "email", "phone")


@never_cache
@csrf_protect
@sensitive_post_parameters("nik", "password")
@require_http_methods(["GET", "POST"])
def register_view(request: HttpRequest) -> HttpResponse:
    own = citizen_account_of(request.user)
    if own is not None:
        return redirect(_next_step(own))
    values = {name: request.POST.get(name, "") for name in REGISTER_FIELDS}
    if request.method == "GET":
        return _form(request, "accounts/citizen_register.html", {"values": values})
    try:
        with _ctx(request, CITIZEN_CHANNEL):
            account = svc.citizen_register(
                actor=request.user, nik=request.POST.get("nik", ""),
                password=request.POST.get("password", ""), consent=request.POST.get("consent") == "1",
                **values,
            )
    except ApplicationError as exc:  # the NIK and password are not sent back into the page
        return _form(request, "accounts/citizen_register.html", {"values": values}, exc)
    login(request, account.user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("citizen:otp")


@never_cache
@csrf_protect
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Citizens log in with their e-mail (the open account's, else the latest) and password."""
    email = request.POST.get("email", "").strip().lower()
    if request.method == "GET":
        return _form(request, "accounts/citizen_login.html", {"email": email})
    account = citizen_account_for_login(email=email)
    password = request.POST.get("password", "")
    user = authenticate(request, username=account.user.get_username(), password=password) if account else None
    if account is None or user is None:
        error = ValidationFailed("Email atau kata sandi salah.", "Wrong e-mail or password.",
                                 code="login_failed")
        return _form(request, "accounts/citizen_login.html", {"email": email}, error)
    login(request, user)
    return redirect(_next_step(account))


@never_cache
@citizen_login_required
@require_http_methods(["GET", "POST"])
def otp_view(request: HttpRequest) -> HttpResponse:
    account = citizen_account_get(actor=request.user)
    if account.status != CitizenStatus.REGISTERED:
        return redirect(_next_step(account))
    context = {"email": mask_email(account.email), "account": account}
    if request.method == "GET":
        return _form(request, "accounts/citizen_otp.html", context)
    try:
        with _ctx(request, CITIZEN_CHANNEL):
            svc.citizen_otp_verify(actor=request.user, account=account, code=request.POST.get("code", ""))
    except ApplicationError as exc:
        return _form(request, "accounts/citizen_otp.html", context, exc)
    messages.success(request, _("Your e-mail address is confirmed."))
    return redirect("citizen:photos")


@citizen_login_required
@require_POST
def otp_resend_view(request: HttpRequest) -> HttpResponse:
    account = citizen_account_get(actor=request.user)
    try:
        with _ctx(request, CITIZEN_CHANNEL):
            svc.citizen_otp_send(actor=request.user, account=account)
    except ApplicationError as exc:
        context = {"email": mask_email(account.email), "account": account}
        return _form(request, "accounts/citizen_otp.html", context, exc)
    messages.success(request, _("A new code was sent to your e-mail."))
    return redirect("citizen:otp")


@never_cache
@citizen_login_required
@require_http_methods(["GET", "POST"])
def photos_view(request: HttpRequest) -> HttpResponse:
    account = citizen_account_get(actor=request.user)
    if account.status != CitizenStatus.OTP_VERIFIED:
        return redirect(_next_step(account))
    if request.method == "GET":
        return _form(request, "accounts/citizen_photos.html", {})
    ktp, selfie = request.FILES.get("ktp_photo"), request.FILES.get("selfie_photo")
    try:
        if ktp is None or selfie is None:
            raise ValidationFailed("Unggah foto KTP dan swafoto sambil memegang KTP.",
                                   "Upload the KTP photo and the selfie holding the KTP.",
                                   code="photos_missing")
        with _ctx(request, CITIZEN_CHANNEL):
            svc.citizen_photos_submit(actor=request.user, account=account, ktp_photo=ktp, selfie_photo=selfie)
    except ApplicationError as exc:
        return _form(request, "accounts/citizen_photos.html", {}, exc)
    messages.success(request, _("Thank you. A Dinsos verifier will check your account."))
    return redirect("citizen:status")


@never_cache
@citizen_login_required
@require_GET
def status_view(request: HttpRequest) -> HttpResponse:
    account = citizen_account_get(actor=request.user)
    steps = [
        (CitizenStatus.REGISTERED, _("Registered")),
        (CitizenStatus.OTP_VERIFIED, _("E-mail confirmed")),
        (CitizenStatus.AWAITING_REVIEW, _("Photos sent, awaiting verification")),
        (CitizenStatus.ACTIVE, _("Verified and active")),
    ]
    order: list[str] = [s for s, _label in steps]
    reached = order.index(account.status) if account.status in order else -1
    return _form(request, "accounts/citizen_status.html", {
        "account": account, "email": mask_email(account.email),
        "steps": [(label, i <= reached) for i, (_s, label) in enumerate(steps)],
        "next_url": _next_step(account) if account.status != CitizenStatus.AWAITING_REVIEW else "",
    })


# --------------------------------------------------------------------------------------- my family

# The condition snapshot as a citizen sees it (the Regsosek housing block; the assets as a list).
CONDITION_FIELDS: list[tuple[str, Any]] = [
    ("tenure", gettext_lazy("Housing tenure")),
    ("floor_area_m2", gettext_lazy("Floor area (m²)")),
    ("floor_material", gettext_lazy("Floor")),
    ("wall_material", gettext_lazy("Walls")),
    ("roof_material", gettext_lazy("Roof")),
    ("toilet", gettext_lazy("Toilet")),
    ("drinking_water", gettext_lazy("Drinking water")),
    ("lighting", gettext_lazy("Lighting")),
    ("power_va", gettext_lazy("Installed power (VA)")),
    ("cooking_fuel", gettext_lazy("Cooking fuel")),
]


def _condition_rows(condition: Condition | None) -> tuple[list[tuple[Any, Any]], list[str]]:
    if condition is None:
        return [], []
    rows = []
    for name, label in CONDITION_FIELDS:
        value = getattr(condition, name)
        choices = dict(getattr(Condition._meta.get_field(name), "flatchoices", None) or [])
        shown = choices.get(value, value)
        rows.append((label, "—" if shown in (None, "") else shown))
    english = (get_language() or "id").startswith("en")
    assets = [en if english else id_ for name, id_, en in c.ASSETS if getattr(condition, f"asset_{name}")]
    return rows, assets


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _address(village_code: str) -> list[tuple[str, str]]:
    """(name, code) from the province down to the village; the bare code when the regions are unknown."""
    try:
        chain = region_ancestors(village_code)
    except NotFound:
        chain = []
    return [(r.name, r.code) for r in chain] or [(village_code, village_code)]


@citizen_login_required
@require_GET
def family_home_view(request: HttpRequest) -> HttpResponse:
    own = citizen_own_family(actor=request.user)
    return redirect("citizen:family_detail", family_id=own.family.pk)


@_no_store
@citizen_login_required
@require_GET
def family_view(request: HttpRequest, family_id: int) -> HttpResponse:
    with _ctx(request, CITIZEN_CHANNEL):
        data = citizen_family(actor=request.user, family_id=family_id)
    today = timezone.localdate()
    members = [
        {
            "person": p, "is_you": p.pk == data.person.pk, "nik": data.masked_niks[p.pk],
            "age": _age(p.birth_date, today),
        }
        for p in data.members
    ]
    condition_rows, assets = _condition_rows(data.condition)
    return _form(request, "accounts/citizen_family.html", {
        "family": data.family, "members": members, "condition": data.condition,
        "condition_rows": condition_rows, "assets": assets, "address": _address(data.family.village_code),
        "desil": _citizen_desil_view(request), **_own_programs(request, data.family.pk),
    })


def _own_programs(request: HttpRequest, family_id: int) -> dict[str, Any]:
    """On the citizen's own family: program memberships, payments and pending submissions (usul/sanggah)."""
    from dtsen.programs.selectors import own_family_programs
    from dtsen.updates.selectors import my_submissions

    try:
        if citizen_own_family(actor=request.user).family.pk != family_id:
            return {}
        own = own_family_programs(actor=request.user)
    except ApplicationError:
        return {}
    return {"memberships": own.memberships, "payments": own.payments,
            "submissions": my_submissions(actor=request.user)[:10], "own_family": True}


def _citizen_desil_view(request: HttpRequest) -> Any:
    """Desil, period and the reasons in the page language, for the citizen's own family: the factors of the
    ranking model that raise or lower this family's estimated spending per person (compared with the model's
    average family, never with another family), in plain words, plus the same lines with numbers staff see."""
    from dtsen.ranking import pmt

    info = citizen_desil(actor=request.user)
    if info.run is None:
        return None
    lang = "en" if (get_language() or "id").startswith("en") else "id"
    reasons: list[str] = []
    raises: list[dict[str, str]] = []
    lowers: list[dict[str, str]] = []
    if info.explanation is not None:
        grouped = info.explanation.grouped(pmt.PmtModel.from_dict(info.run.model_artefact).spec)
        reasons = grouped.lines(lang, n=6)
        raises, lowers = desil_factors(grouped.top(8), lang)
    return {"desil": info.desil, "provisional": info.provisional, "period": info.run.period, "reasons": reasons,
            "raises": raises, "lowers": lowers,
            "not_rankable": [reason for reason, _ in info.not_rankable]}


def _plain_number(value: Any) -> str:
    """'3', '12,5' (Indonesian decimal comma; '12.5' in English)."""
    number = float(value)
    text = f"{number:.0f}" if number == int(number) else f"{number:.1f}"
    return text if (get_language() or "id").startswith("en") else text.replace(".", ",")


def desil_factors(contributions: list[Any], lang: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Split the largest contributions into those that raise and those that lower the estimate, each with
    its label (and the family's value for a count or a size) and how strong its effect is, in words."""
    strongest = max((abs(float(c.contribution)) for c in contributions), default=0.0)
    raises: list[dict[str, str]] = []
    lowers: list[dict[str, str]] = []
    for contribution in contributions:
        size = abs(float(contribution.contribution))
        if strongest == 0 or size < 0.005:
            continue  # no visible effect
        if size >= strongest / 2:
            strength = _("large effect")
        elif size >= strongest / 5:
            strength = _("moderate effect")
        else:
            strength = _("small effect")
        label = contribution.label(lang)
        value = "" if contribution.binary or contribution.value is None else _plain_number(contribution.value)
        item = {"label": label, "value": value, "strength": strength}
        (raises if float(contribution.contribution) > 0 else lowers).append(item)
    return raises, lowers


@_no_store
@citizen_login_required
@require_GET
def download_view(request: HttpRequest) -> HttpResponse:
    own = citizen_own_family(actor=request.user)
    return _form(request, "accounts/citizen_download.html", {"family": own.family})


@_no_store
@citizen_login_required
@require_GET
def download_json_view(request: HttpRequest) -> HttpResponse:
    with _ctx(request, CITIZEN_CHANNEL):
        body = dsar_json(actor=request.user)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dtsen-data-{timezone.localdate():%Y%m%d}.json"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@_no_store
@citizen_login_required
@require_GET
def download_pdf_view(request: HttpRequest) -> HttpResponse:
    with _ctx(request, CITIZEN_CHANNEL):
        body = dsar_pdf(actor=request.user)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="dtsen-data-{timezone.localdate():%Y%m%d}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --------------------------------------------------------------------------------------- review (staff)


@_no_store
@login_required
@require_GET
def review_queue_view(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or CitizenStatus.AWAITING_REVIEW
    if status not in CitizenStatus.values:
        raise ValidationFailed("Status tidak dikenal.", "Unknown status.", field="status")
    accounts = citizen_review_queue(actor=request.user, status=status)
    rows = [{"account": a, "padan": a.match_result == MatchResult.PADAN} for a in accounts]
    return render(request, "accounts/citizen_review_queue.html", {
        "section": "review", "rows": rows, "status": status, "statuses": CitizenStatus.choices,
    })


def _review_page(request: HttpRequest, account_id: int, error: ApplicationError | None = None
                 ) -> HttpResponse:
    with _ctx(request, STAFF_CHANNEL):
        item = citizen_review_get(actor=request.user, account_id=account_id)
    account = item.account
    context = {
        "section": "review", "item": item, "account": account, "nik": item.masked_nik,
        "padan": account.match_result == MatchResult.PADAN,
        "open": account.status == CitizenStatus.AWAITING_REVIEW, "error": error,
    }
    status = error.status if error else 200
    return render(request, "accounts/citizen_review_detail.html", context, status=status)


@_no_store
@login_required
@require_GET
def review_detail_view(request: HttpRequest, account_id: int) -> HttpResponse:
    return _review_page(request, account_id)


def _review_action(request: HttpRequest, account_id: int, action: str) -> HttpResponse:
    account = citizen_review_account(actor=request.user, account_id=account_id)  # out of scope: 404
    try:
        with _ctx(request, STAFF_CHANNEL):
            if action == "approve":
                svc.citizen_approve(actor=request.user, account=account,
                                    reason=request.POST.get("reason", ""))
                messages.success(request, _("The account was approved."))
            else:
                svc.citizen_reject(actor=request.user, account=account, reason=request.POST.get("reason", ""))
                messages.success(request, _("The account was rejected."))
    except ApplicationError as exc:
        return _review_page(request, account_id, exc)
    return redirect("citizen:review_queue")


@login_required
@require_POST
def review_approve_view(request: HttpRequest, account_id: int) -> HttpResponse:
    return _review_action(request, account_id, "approve")


@login_required
@require_POST
def review_reject_view(request: HttpRequest, account_id: int) -> HttpResponse:
    return _review_action(request, account_id, "reject")
