"""Staff pages of the formal channel (mounted at /usulan/): the work queue, the usulan list, drafting and
editing an usulan, its page with history and actions, the village meeting, batch ratification with its
printable list, and the report.

Each view parses the input, calls one service or selector with `actor=request.user` and renders. A refused
operation (`ApplicationError`) is shown on the same page with its bilingual message and HTTP status; an
usulan outside the actor's regions is a 404 from its selector. Nothing here queries a model itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dtsen.accounts.permissions import USULAN_CHECK, USULAN_CUTOFF, USULAN_DRAFT, USULAN_RATIFY
from dtsen.accounts.selectors import scope_for
from dtsen.audit.context import request_audit
from dtsen.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from dtsen.core.http import no_store
from dtsen.documents.models import DocumentKind
from dtsen.regions.selectors import region_children, region_get, villages_in
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_decrypt, nik_mask
from dtsen.registry.selectors import family_get, family_get_by_code, family_members, person_get
from dtsen.updates import machine, selectors
from dtsen.updates import services as svc
from dtsen.updates.models import (
    DeactivationReason,
    MusdesKind,
    Program,
    Usulan,
    UsulanKind,
    UsulanStatus,
    VisitFlag,
    VisitOutcome,
)

U = UsulanStatus
STAFF_CHANNEL = c.Channel.WEB
NEW_FAMILY_ROWS = 4  # member rows shown on a new-family form (more with ?rows=)
ADD_ROWS = 2  # rows for members added by a correction
MAX_ROWS = 30
MAX_LETTERS = 5
LIST_PAGE = 50
MEMBER_INPUTS = ("nik", "name", "sex", "birth_date", "relationship", "marital_status", "education", "occupation",
                 "birth_place")
ACCEPT = "setuju"
REJECT = "tolak"


# ---------------------------------------------------------------------------------------------- helpers


def _ctx(request: HttpRequest) -> Any:
    return request_audit(request, STAFF_CHANNEL)


_no_store = no_store


def _page(request: HttpRequest, template: str, context: dict[str, Any], error: ApplicationError | None = None
          ) -> HttpResponse:
    context = {"section": "usulan", "pages": selectors.staff_pages(actor=request.user), **context, "error": error}
    return render(request, template, context, status=error.status if error else 200)


def _date(value: str | None, field: str, *, required: bool = True) -> dt.date | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationFailed("Tanggal wajib diisi.", "The date is required.", field=field)
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"Tanggal tidak valid: {text!r} (YYYY-MM-DD).",
                               f"Invalid date: {text!r} (YYYY-MM-DD).", field=field) from None


def _posted(request: HttpRequest) -> dict[str, str]:
    """The form's fields (last value of each, stripped), to show them again after a refusal."""
    if request.method != "POST":
        return {}
    return {k: request.POST.get(k, "").strip() for k in request.POST if k != "csrfmiddlewaretoken"}


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "—")


def _link(names: tuple[str, ...], *args: Any) -> str:
    """The first of these URL names that exists (pages written elsewhere may not be there yet), else ''."""
    for name in names:
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    return ""


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied("Anda tidak berwenang membuka halaman ini.", "You are not allowed to open this page.")


def _villages(request: HttpRequest) -> list[tuple[str, str]]:
    """Villages the operator may choose from (their usulan.draft scope); [] when it is too wide to list."""
    scope = scope_for(request.user, USULAN_DRAFT)
    if scope.national:
        return []
    out: list[tuple[str, str]] = []
    for prefix in scope.prefixes:
        if prefix.count(".") == 3:
            with contextlib.suppress(NotFound):
                out.append((prefix, region_get(prefix).name))
        elif prefix.count(".") == 2:
            out.extend((r.code, r.name) for r in villages_in(prefix))
        else:
            return []
    return out


def _regencies(request: HttpRequest) -> list[tuple[str, str]]:
    """Kabupaten/kota the ratifier may ratify for (their usulan.ratify scope); [] when national."""
    scope = scope_for(request.user, USULAN_RATIFY)
    out: list[tuple[str, str]] = []
    for prefix in scope.prefixes:
        if prefix.count(".") == 1:
            with contextlib.suppress(NotFound):
                out.append((prefix, region_get(prefix).name))
        elif prefix.count(".") == 0:
            out.extend((r.code, r.name) for r in region_children(prefix))
    return out


def _region_name(code: str) -> str:
    try:
        return region_get(code).name
    except NotFound:
        return ""


# ------------------------------------------------------------------------------------------ work queue


def _schedule_rows(request: HttpRequest, schedule: Any) -> list[tuple[Any, dt.date]]:
    user = request.user
    rows: list[tuple[Any, dt.date]] = []
    draft = not scope_for(user, USULAN_DRAFT).empty
    check = not scope_for(user, USULAN_CHECK).empty
    ratify = not scope_for(user, USULAN_RATIFY).empty
    cutoff = not scope_for(user, USULAN_CUTOFF).empty
    everyone = not (draft or check or ratify or cutoff)
    if draft or everyone:
        rows.append((gettext_lazy("Village meetings until"), schedule.musdes_until))
    if draft or check or everyone:
        rows.append((gettext_lazy("Village input to Dinsos until"), schedule.input_until))
    rows.append((gettext_lazy("Monthly cut-off"), schedule.cutoff))
    if cutoff or everyone:
        rows.append((gettext_lazy("Pull by the centre"), schedule.pull))
    return rows


@_no_store
@login_required
@require_GET
def queue_view(request: HttpRequest) -> HttpResponse:
    pages = selectors.staff_pages(actor=request.user)
    _require(pages.any)
    queue = selectors.work_queue(actor=request.user)
    today = timezone.localdate()
    items = []
    for item in queue.items:
        obj = item.obj
        if item.kind == "usulan":
            url = reverse("updates:detail", args=[obj.pk])
            title, subtitle, status = obj.reference, obj.summary, obj.get_status_display()
        elif item.kind == "kunjungan":
            url = _link(("updates:visit_detail", "updates:visit", "updates:visit_task"), obj.pk)
            title = _("Verification visit") + f" #{obj.pk}"
            subtitle, status = obj.instructions, obj.get_status_display()
        else:
            url = reverse("submissions:dinsos_detail", args=[obj.pk])
            title, subtitle, status = obj.reference, obj.get_kind_display(), obj.get_status_display()
        days = (item.deadline - today).days if item.deadline else None
        items.append({"item": item, "url": url, "title": title, "subtitle": subtitle, "status": status,
                      "days": days, "days_late": -days if days is not None and days < 0 else 0})
    return _page(request, "updates/queue.html", {
        "queue": queue, "items": items, "schedule": queue.schedule, "today": today, "pages": pages,
        "schedule_rows": _schedule_rows(request, queue.schedule),
    })


@_no_store
@login_required
@require_GET
def list_view(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    village = request.GET.get("village", "").strip()[:13]
    if status and status not in U.values:
        raise ValidationFailed("Status tidak dikenal.", "Unknown status.", field="status")
    if kind and kind not in UsulanKind.values:
        raise ValidationFailed("Jenis usulan tidak dikenal.", "Unknown kind of proposal.", field="kind")
    try:
        page = max(1, min(int(request.GET.get("page", "1")), 10_000))
    except ValueError:
        page = 1
    rows = selectors.usulan_list(actor=request.user, status=status, kind=kind, village_code=village,
                                 limit=LIST_PAGE + 1, offset=(page - 1) * LIST_PAGE)
    return _page(request, "updates/list.html", {
        "rows": rows[:LIST_PAGE], "status": status, "kind": kind, "village": village, "page": page,
        "has_next": len(rows) > LIST_PAGE, "statuses": U.choices, "kinds": UsulanKind.choices,
        "pages": selectors.staff_pages(actor=request.user),
    })


# ------------------------------------------------------------------------------------ create and edit


def _member_rows(post: Any, prefix: str, count: int, existing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of a members table as shown on the form (from the POST, else from the stored payload)."""
    rows = []
    for i in range(count):
        if post is not None:
            values = {f: post.get(f"{prefix}{i}_{f}", "").strip() for f in MEMBER_INPUTS}
            ref = post.get(f"{prefix}{i}_ref", "")
        elif i < len(existing):
            values = {f: str(existing[i].get(f, "") or "") for f in MEMBER_INPUTS if f != "nik"} | {"nik": ""}
            ref = str(i)
        else:
            values, ref = dict.fromkeys(MEMBER_INPUTS, ""), ""
        masked = ""
        if ref.isdigit() and int(ref) < len(existing):
            masked = existing[int(ref)].get("nik_masked", "")
        rows.append({"i": i, "prefix": f"{prefix}{i}_", "ref": ref, "masked": masked, **values})
    return rows


def _members_from(post: Any, prefix: str, count: int, existing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Payload members from the filled rows; a stored member keeps its NIK when the NIK box is left empty."""
    out = []
    for row in _member_rows(post, prefix, count, existing):
        keep = row["masked"] and not row["nik"]
        if post is not None and post.get(f"{row['prefix']}drop") == "1":
            continue
        if not (row["nik"] or row["name"] or keep):
            continue
        member: dict[str, Any] = {f: row[f] for f in MEMBER_INPUTS if f != "nik" and row[f]}
        member["name"] = row["name"].upper()
        if keep:
            member["nik_enc"] = existing[int(row["ref"])]["nik_enc"]
        else:
            member["nik"] = row["nik"]
        out.append(member)
    return out


def _row_count(request: HttpRequest, default: int) -> int:
    raw = request.POST.get("rows") or request.GET.get("rows") or ""
    try:
        return max(1, min(int(raw), MAX_ROWS)) if raw else default
    except ValueError:
        return default


def _family_from(request: HttpRequest, value: str) -> Any:
    value = value.strip()
    if not value:
        return None
    if value.isdigit() and len(value) < 12:
        return family_get(actor=request.user, family_id=int(value))
    return family_get_by_code(actor=request.user, family_code=value.upper())


def _family_members(request: HttpRequest, family: Any) -> list[dict[str, Any]]:
    if family is None:
        return []
    return [{"person": p, "nik": nik_mask(nik_decrypt(p.nik_enc)), "relationship": _label(c.Relationship,
                                                                                            p.relationship)}
            for p in family_members(actor=request.user, family=family)]


def _payload_from(request: HttpRequest, kind: str, family: Any, stored: dict[str, Any]) -> dict[str, Any]:
    post = request.POST
    note = post.get("note", "").strip()[:300]
    if kind == UsulanKind.NEW_FAMILY:
        rows = _row_count(request, NEW_FAMILY_ROWS)
        return {"kk_number": post.get("kk_number", "").strip(), "rw": post.get("rw", "").strip(),
                "rt": post.get("rt", "").strip(), "address": post.get("address", "").strip(),
                "members": _members_from(post, "m", rows, stored.get("members") or [])}
    if kind == UsulanKind.CORRECTION:
        payload: dict[str, Any] = {"note": note}
        address = {k: post.get(f"addr_{k}", "").strip() for k in ("rw", "rt", "address")}
        if any(address.values()):
            payload["address"] = {k: v for k, v in address.items() if v}
        added = _members_from(post, "a", _row_count(request, ADD_ROWS), stored.get("members_add") or [])
        if added:
            payload["members_add"] = added
        removes = [{"person_id": m["person"].pk, "removal_reason": post.get(f"remove_{m['person'].pk}")}
                   for m in _family_members(request, family) if post.get(f"remove_{m['person'].pk}")]
        if removes:
            payload["members_remove"] = removes
        if post.get("condition_from_visit") == "1":
            payload["condition_from_visit"] = True
        if stored.get("members_update"):  # corrections of members' fields made elsewhere (API) are kept
            payload["members_update"] = stored["members_update"]
        return payload
    if kind == UsulanKind.PROGRAM:
        return {"program": post.get("program", ""), "note": note}
    if kind == UsulanKind.DEACTIVATION:
        payload = {"reason": post.get("reason", ""), "note": note}
        if post.get("category"):
            payload["category"] = post["category"]
        if post.get("death_date", "").strip():
            payload["death_date"] = post["death_date"].strip()
        return payload
    raise ValidationFailed("Jenis usulan tidak dikenal.", "Unknown kind of proposal.", field="kind")


def _uploads(request: HttpRequest) -> list[tuple[str, Any]]:
    letters = request.FILES.getlist("letters")
    if len(letters) > MAX_LETTERS:
        raise ValidationFailed(f"Paling banyak {MAX_LETTERS} surat.", f"At most {MAX_LETTERS} letters.",
                               field="letters")
    uploads: list[tuple[str, Any]] = [(DocumentKind.LETTER, f) for f in letters]
    if request.FILES.get("kk_scan"):
        uploads.insert(0, (DocumentKind.KK, request.FILES["kk_scan"]))
    return uploads


def _form_context(request: HttpRequest, *, kind: str, family: Any, usulan: Usulan | None) -> dict[str, Any]:
    stored = usulan.payload if usulan is not None else {}
    post = request.POST if request.method == "POST" else None
    values = _posted(request) if post is not None else _values_from_payload(kind, stored)
    members = _family_members(request, family)
    removed = {str(r["person_id"]): r["removal_reason"] for r in stored.get("members_remove") or []}
    for m in members:
        m["remove"] = values.get(f"remove_{m['person'].pk}", removed.get(str(m["person"].pk), ""))
    rows = _row_count(request, max(NEW_FAMILY_ROWS, len(stored.get("members") or []) + 1))
    add_rows = _row_count(request, max(ADD_ROWS, len(stored.get("members_add") or []) + 1)) \
        if kind == UsulanKind.CORRECTION else 0
    return {
        "kind": kind, "kind_label": _label(UsulanKind, kind), "family": family, "usulan": usulan,
        "values": values, "family_members": members,
        "member_rows": _member_rows(post, "m", rows, stored.get("members") or [])
        if kind == UsulanKind.NEW_FAMILY else [],
        "add_rows": _member_rows(post, "a", add_rows, stored.get("members_add") or []),
        "rows": rows if kind == UsulanKind.NEW_FAMILY else add_rows,
        "villages": _villages(request), "kinds": UsulanKind.choices,
        "sexes": c.Sex.choices, "relationships": c.Relationship.choices,
        "marital_statuses": c.MaritalStatus.choices, "educations": c.Education.choices,
        "removal_reasons": c.RemovalReason.choices, "programs": Program.choices,
        "deactivation_reasons": DeactivationReason.choices, "exclusion_categories": c.ExclusionCategory.choices,
        "needs_family": kind != UsulanKind.NEW_FAMILY,
    }


def _values_from_payload(kind: str, stored: dict[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in stored.items() if isinstance(v, str)}
    if kind == UsulanKind.CORRECTION:
        address = stored.get("address") or {}
        values |= {f"addr_{k}": v for k, v in address.items()}
        if stored.get("condition_from_visit"):
            values["condition_from_visit"] = "1"
    return values


@_no_store
@login_required
@require_http_methods(["GET", "POST"])
def create_view(request: HttpRequest) -> HttpResponse:
    _require(selectors.staff_pages(actor=request.user).draft)
    source = request.POST if request.method == "POST" else request.GET
    kind = source.get("kind", "")
    if kind and kind not in UsulanKind.values:
        raise ValidationFailed("Jenis usulan tidak dikenal.", "Unknown kind of proposal.", field="kind")
    if not kind:
        return _page(request, "updates/create_kind.html", {"kinds": UsulanKind.choices,
                                                           "family_value": source.get("family", "")})
    family = _family_from(request, source.get("family", "")) if kind != UsulanKind.NEW_FAMILY else None
    if request.method != "POST":
        return _page(request, "updates/form.html", _form_context(request, kind=kind, family=family, usulan=None))
    try:
        if kind != UsulanKind.NEW_FAMILY and family is None:
            raise ValidationFailed("Keluarga yang dimaksud wajib dipilih.", "The family concerned is required.",
                                   field="family")
        person = None
        if kind == UsulanKind.DEACTIVATION and request.POST.get("person", "").strip():
            person = person_get(actor=request.user, person_id=_int(request.POST["person"], "person"))
        payload = _payload_from(request, kind, family, {})
        with _ctx(request):
            usulan = svc.usulan_create(actor=request.user, kind=kind,
                                       village_code=request.POST.get("village_code", "").strip(),
                                       payload=payload, family=family, person=person, documents=_uploads(request))
    except ApplicationError as exc:
        return _page(request, "updates/form.html", _form_context(request, kind=kind, family=family, usulan=None),
                     exc)
    messages.success(request, _("The proposal %(ref)s was saved as a draft.") % {"ref": usulan.reference})
    return redirect("updates:detail", usulan_id=usulan.pk)


def _int(value: str, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed("Pilihan tidak valid.", "Invalid choice.", field=field) from None


@_no_store
@login_required
@require_http_methods(["GET", "POST"])
def edit_view(request: HttpRequest, usulan_id: int) -> HttpResponse:
    with _ctx(request):
        usulan = selectors.usulan_get(actor=request.user, usulan_id=usulan_id)
    if usulan.status not in (U.DRAFT, U.RETURNED) or not machine.allowed_moves(usulan, request.user):
        raise machine.IllegalTransition(
            "Usulan hanya dapat diubah saat masih draf atau dikembalikan.",
            "A proposal can be changed only while it is a draft or returned.",
        )
    family = usulan.family
    if request.method != "POST":
        return _page(request, "updates/form.html",
                     _form_context(request, kind=usulan.kind, family=family, usulan=usulan))
    try:
        payload = _payload_from(request, usulan.kind, family, usulan.payload)
        with _ctx(request):
            svc.usulan_edit(actor=request.user, usulan=usulan, payload=payload, documents=_uploads(request),
                            reason=request.POST.get("edit_reason", ""))
    except ApplicationError as exc:
        return _page(request, "updates/form.html",
                     _form_context(request, kind=usulan.kind, family=family, usulan=usulan), exc)
    messages.success(request, _("The proposal was changed."))
    return redirect("updates:detail", usulan_id=usulan.pk)


# ---------------------------------------------------------------------------------------------- detail


CONDITION_LABELS: list[tuple[str, Any, Any]] = [
    ("tenure", gettext_lazy("Housing tenure"), c.HousingTenure),
    ("floor_area_m2", gettext_lazy("Floor area (m²)"), None),
    ("floor_material", gettext_lazy("Floor"), c.FloorMaterial),
    ("wall_material", gettext_lazy("Walls"), c.WallMaterial),
    ("roof_material", gettext_lazy("Roof"), c.RoofMaterial),
    ("toilet", gettext_lazy("Toilet"), c.Toilet),
    ("drinking_water", gettext_lazy("Drinking water"), c.DrinkingWater),
    ("lighting", gettext_lazy("Lighting"), c.Lighting),
    ("power_va", gettext_lazy("Installed power (VA)"), None),
    ("cooking_fuel", gettext_lazy("Cooking fuel"), c.CookingFuel),
]


def _member_view(m: dict[str, Any]) -> dict[str, Any]:
    return {"name": m.get("name", ""), "nik": m.get("nik_masked", ""), "sex": _label(c.Sex, m.get("sex")),
            "birth_date": m.get("birth_date", ""), "relationship": _label(c.Relationship, m.get("relationship")),
            "marital_status": _label(c.MaritalStatus, m.get("marital_status")),
            "education": _label(c.Education, m.get("education")), "occupation": m.get("occupation", "")}


def _payload_view(request: HttpRequest, usulan: Usulan) -> dict[str, Any]:
    """The payload as labelled rows (NIKs masked; members removed/corrected by name)."""
    p = usulan.payload or {}
    out: dict[str, Any] = {"facts": [], "members": [], "members_add": [], "members_remove": [],
                           "members_update": []}
    facts = out["facts"]
    if usulan.kind == UsulanKind.NEW_FAMILY:
        facts += [(_("KK number"), p.get("kk_number", "")), ("RW / RT", f"{p.get('rw', '')} / {p.get('rt', '')}"),
                  (_("Address"), p.get("address", ""))]
        out["members"] = [_member_view(m) for m in p.get("members") or []]
    elif usulan.kind == UsulanKind.CORRECTION:
        if p.get("address"):
            a = p["address"]
            facts.append((_("New address"), f"RW {a.get('rw', '')} / RT {a.get('rt', '')} · {a.get('address', '')}"))
        if p.get("condition_from_visit"):
            facts.append((_("Housing and assets"), _("from the verification visit")))
        out["members_add"] = [_member_view(m) for m in p.get("members_add") or []]
        names = {}
        if usulan.family is not None and (p.get("members_remove") or p.get("members_update")):
            names = {m.pk: m.name for m in family_members(actor=request.user, family=usulan.family,
                                                          include_removed=True)}
        out["members_remove"] = [(names.get(r["person_id"], f"#{r['person_id']}"),
                                  _label(c.RemovalReason, r.get("removal_reason")))
                                 for r in p.get("members_remove") or []]
        out["members_update"] = [(names.get(r["person_id"], f"#{r['person_id']}"),
                                  ", ".join(f"{k}: {v}" for k, v in (r.get("changes") or {}).items()))
                                 for r in p.get("members_update") or []]
    elif usulan.kind == UsulanKind.PROGRAM:
        facts.append((_("Program"), _label(Program, p.get("program"))))
    elif usulan.kind == UsulanKind.DEACTIVATION:
        facts.append((_("Reason"), _label(DeactivationReason, p.get("reason"))))
        facts.append((_("Concerns"), usulan.person.name if usulan.person else _("the whole family")))
        if p.get("category"):
            facts.append((_("Exclusion category"), _label(c.ExclusionCategory, p["category"])))
        if p.get("death_date"):
            facts.append((_("Date of death"), p["death_date"]))
    if p.get("note"):
        facts.append((_("Note"), p["note"]))
    return out


def _condition_rows(condition: dict[str, Any] | None) -> tuple[list[tuple[Any, Any]], list[str]]:
    if not condition:
        return [], []
    rows: list[tuple[Any, Any]] = []
    for name, label, choices in CONDITION_LABELS:
        value = condition.get(name)
        if value in (None, ""):
            shown: Any = "—"
        elif choices is not None:
            shown = _label(choices, value)
        else:
            shown = value
        rows.append((label, shown))
    english = (get_language() or "id").startswith("en")
    assets = {name: (en if english else id_) for name, id_, en in c.ASSETS}
    return rows, [assets.get(a, a) for a in condition.get("assets") or []]


INTERVIEW_LABELS: dict[str, Any] = {
    "income_monthly": gettext_lazy("Income per month"),
    "occupation": gettext_lazy("Occupation"),
    "aid_received": gettext_lazy("Aid received"),
    "notes": gettext_lazy("Notes"),
    "note": gettext_lazy("Notes"),
}


def _interview_rows(interview: dict[str, Any]) -> list[tuple[Any, str]]:
    rows = []
    for key, value in interview.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list | tuple):
            text = ", ".join(_label(Program, v) if v in Program.values else str(v) for v in value)
        else:
            text = str(value)
        rows.append((INTERVIEW_LABELS.get(key, key), text))
    return rows


def _visits_view(usulan: Usulan) -> list[dict[str, Any]]:
    out = []
    for v in selectors.visits_of(usulan):
        rows, assets = _condition_rows(v.candidate_condition)
        out.append({
            "visit": v, "outcome": _label(VisitOutcome, v.outcome) if v.outcome else "",
            "flags": [(f, _label(VisitFlag, f)) for f in v.flags or []], "photos": list(v.photos.all()),
            "condition": rows, "assets": assets, "interview": _interview_rows(v.interview or {}),
            "url": _link(("updates:visit_detail", "updates:visit"), v.pk),
        })
    return out


def _detail(request: HttpRequest, usulan_id: int, error: ApplicationError | None = None,
            values: dict[str, str] | None = None) -> HttpResponse:
    with _ctx(request):
        usulan = selectors.usulan_get(actor=request.user, usulan_id=usulan_id)
    moves = machine.allowed_moves(usulan, request.user)
    can_visit = U.FIELD_CHECK in moves or (usulan.status == U.FIELD_CHECK and U.VERIFIED in moves)
    history = [{"t": t, "from": _label(U, t.from_status) if t.from_status else "",
                "to": _label(U, t.to_status)} for t in selectors.history(usulan)]
    visits = _visits_view(usulan)
    return _page(request, "updates/detail.html", {
        "usulan": usulan, "moves": moves, "payload": _payload_view(request, usulan),
        "documents": selectors.usulan_documents(actor=request.user, usulan=usulan),
        "visits": visits, "done_visits": [v["visit"] for v in visits if v["visit"].status == "selesai"],
        "history": history, "region": _region_name(usulan.village_code),
        "can_edit": usulan.status in (U.DRAFT, U.RETURNED) and bool(moves),
        "can_visit": can_visit,
        "workers": selectors.workers_for(actor=request.user, village_code=usulan.village_code) if can_visit else [],
        "due_value": (values or {}).get("due_on") or (timezone.localdate() + dt.timedelta(days=7)).isoformat(),
        "values": values or {},
        "U": {s.name: s.value for s in U},
    }, error)


@_no_store
@login_required
@require_GET
def detail_view(request: HttpRequest, usulan_id: int) -> HttpResponse:
    return _detail(request, usulan_id)


def _action(view: Callable[[HttpRequest, Usulan], str]) -> Callable[..., HttpResponseBase]:
    """A POST action on one usulan: fetch it through the selector (404 outside the region), call the service,
    redirect to its page with a message; a refusal re-renders the page with the error and its status."""

    @_no_store
    @login_required
    @require_POST
    @wraps(view)
    def wrapper(request: HttpRequest, usulan_id: int) -> HttpResponse:
        with _ctx(request):
            usulan = selectors.usulan_get(actor=request.user, usulan_id=usulan_id)
        try:
            with _ctx(request):
                done = view(request, usulan)
        except ApplicationError as exc:
            return _detail(request, usulan_id, exc, _posted(request))
        messages.success(request, done)
        return redirect("updates:detail", usulan_id=usulan_id)

    return wrapper


@_action
def to_musdes_view(request: HttpRequest, usulan: Usulan) -> str:
    svc.usulan_to_musdes(actor=request.user, usulan=usulan)
    return _("Submitted to the village meeting.")


@_action
def cancel_view(request: HttpRequest, usulan: Usulan) -> str:
    svc.usulan_cancel(actor=request.user, usulan=usulan, reason=request.POST.get("reason", ""))
    return _("The proposal was withdrawn.")


@_action
def to_dinsos_view(request: HttpRequest, usulan: Usulan) -> str:
    svc.usulan_send_to_dinsos(actor=request.user, usulan=usulan)
    return _("Sent to Dinsos.")


@_action
def return_view(request: HttpRequest, usulan: Usulan) -> str:
    svc.usulan_return(actor=request.user, usulan=usulan, reason=request.POST.get("reason", ""))
    return _("Returned to the village.")


@_action
def order_visit_view(request: HttpRequest, usulan: Usulan) -> str:
    worker_id = request.POST.get("worker", "")
    worker = next((w for w in selectors.workers_for(actor=request.user, village_code=usulan.village_code)
                   if str(w.pk) == worker_id), None)
    due_on = _date(request.POST.get("due_on"), "due_on")
    assert due_on is not None
    svc.usulan_order_visit(actor=request.user, usulan=usulan, worker=worker, due_on=due_on,
                           instructions=request.POST.get("instructions", "").strip())
    return _("The verification visit was assigned.")


def _visit_id(request: HttpRequest) -> int | None:
    raw = request.POST.get("visit", "").strip()
    return _int(raw, "visit") if raw else None


@_action
def verify_view(request: HttpRequest, usulan: Usulan) -> str:
    svc.usulan_verify(actor=request.user, usulan=usulan, visit_id=_visit_id(request))
    return _("Verified: the proposal awaits ratification.")


@_action
def not_eligible_view(request: HttpRequest, usulan: Usulan) -> str:
    svc.usulan_not_eligible(actor=request.user, usulan=usulan, reason=request.POST.get("reason", ""),
                            visit_id=_visit_id(request))
    return _("Recorded as not eligible.")


# ------------------------------------------------------------------------------------- village meeting


def _musdes_context(request: HttpRequest, village: str) -> dict[str, Any]:
    pending = selectors.musdes_pending(actor=request.user, village_code=village) if village else []
    post = request.POST if request.method == "POST" else {}
    rows = [{"usulan": u, "decision": post.get(f"decision_{u.pk}", ""), "note": post.get(f"note_{u.pk}", "")}
            for u in pending]
    return {
        "village": village, "village_name": _region_name(village) if village else "", "villages": _villages(request),
        "rows": rows, "kinds": MusdesKind.choices, "today": timezone.localdate(),
        "values": _posted(request),
        "meetings": selectors.musdes_list(actor=request.user, village_code=village, limit=10) if village else [],
        "ACCEPT": ACCEPT, "REJECT": REJECT,
    }


@_no_store
@login_required
@require_http_methods(["GET", "POST"])
def musdes_view(request: HttpRequest) -> HttpResponse:
    _require(selectors.staff_pages(actor=request.user).draft)
    source = request.POST if request.method == "POST" else request.GET
    village = source.get("village_code", "").strip()[:13]
    if not village:
        villages = _villages(request)
        village = villages[0][0] if len(villages) == 1 else ""
    if request.method != "POST":
        return _page(request, "updates/musdes.html", _musdes_context(request, village))
    try:
        decisions: dict[int, tuple[bool, str]] = {}
        for key, value in _posted(request).items():
            if key.startswith("decision_") and value in (ACCEPT, REJECT):
                usulan_id = _int(key.removeprefix("decision_"), "decisions")
                decisions[usulan_id] = (value == ACCEPT, request.POST.get(f"note_{usulan_id}", "").strip())
        minutes = request.FILES.get("minutes")
        if minutes is None:
            raise ValidationFailed("Unggah berita acara atau SPTJM yang sudah ditandatangani (PDF atau foto).",
                                   "Upload the signed minutes or SPTJM (PDF or photo).", field="minutes",
                                   code="minutes_missing")
        held_on = _date(request.POST.get("held_on"), "held_on")
        assert held_on is not None
        with _ctx(request):
            meeting = svc.musdes_record(actor=request.user, village_code=village,
                                        kind=request.POST.get("kind", ""), held_on=held_on,
                                        signed_by=request.POST.get("signed_by", ""), minutes=minutes,
                                        decisions=decisions)
    except ApplicationError as exc:
        return _page(request, "updates/musdes.html", _musdes_context(request, village), exc)
    accepted = sum(1 for ok, _note in decisions.values() if ok)
    messages.success(request, _("The meeting of %(day)s was recorded: %(ok)d accepted, %(no)d rejected.") % {
        "day": meeting.held_on.strftime("%d-%m-%Y"), "ok": accepted, "no": len(decisions) - accepted})
    return redirect(f"{reverse('updates:musdes')}?village_code={village}")


# ------------------------------------------------------------------------------------------ penetapan


def _penetapan_context(request: HttpRequest, region: str) -> dict[str, Any]:
    candidates = selectors.ratification_candidates(actor=request.user, region_code=region) if region else []
    chosen = set(request.POST.getlist("usulan")) if request.method == "POST" else {str(u.pk) for u in candidates}
    return {
        "region": region, "region_name": _region_name(region) if region else "", "regions": _regencies(request),
        "rows": [{"usulan": u, "checked": str(u.pk) in chosen, "village": _region_name(u.village_code)}
                 for u in candidates],
        "values": _posted(request),
        "today": timezone.localdate(),
        "batches": selectors.penetapan_list(actor=request.user, region_code=region),
    }


@_no_store
@login_required
@require_http_methods(["GET", "POST"])
def penetapan_view(request: HttpRequest) -> HttpResponse:
    _require(selectors.staff_pages(actor=request.user).ratify)
    source = request.POST if request.method == "POST" else request.GET
    region = source.get("region_code", "").strip()[:13]
    if not region:
        regions = _regencies(request)
        region = regions[0][0] if len(regions) == 1 else ""
    if request.method != "POST":
        return _page(request, "updates/penetapan.html", _penetapan_context(request, region))
    try:
        decree_date = _date(request.POST.get("decree_date"), "decree_date")
        assert decree_date is not None
        ids = [_int(i, "usulan_ids") for i in request.POST.getlist("usulan")]
        with _ctx(request):
            batch = svc.penetapan_create(actor=request.user, region_code=region,
                                         decree_number=request.POST.get("decree_number", ""),
                                         decree_date=decree_date, usulan_ids=ids,
                                         decree=request.FILES.get("decree"))
    except ApplicationError as exc:
        return _page(request, "updates/penetapan.html", _penetapan_context(request, region), exc)
    messages.success(request, _("Ratified under decree %(number)s.") % {"number": batch.decree_number})
    return redirect("updates:penetapan_print", penetapan_id=batch.pk)


@_no_store
@login_required
@require_GET
def penetapan_print_view(request: HttpRequest, penetapan_id: int) -> HttpResponse:
    with _ctx(request):
        batch = selectors.penetapan_get(actor=request.user, penetapan_id=penetapan_id)
        rows = selectors.penetapan_usulan(actor=request.user, penetapan=batch)
    return _page(request, "updates/penetapan_print.html", {
        "batch": batch, "region_name": _region_name(batch.region_code),
        "rows": [{"usulan": u, "village": _region_name(u.village_code)} for u in rows],
        "printed_at": timezone.localtime(),
    })


# ------------------------------------------------------------------------------------------------ report


@_no_store
@login_required
@require_GET
def report_view(request: HttpRequest) -> HttpResponse:
    region = request.GET.get("region", "").strip()[:13]
    try:
        level = int(request.GET.get("level", "2"))
    except ValueError:
        level = 2
    if level not in (1, 2, 3, 4):
        raise ValidationFailed("Tingkat wilayah harus 1-4.", "The region level must be 1 to 4.", field="level")
    data = selectors.report(actor=request.user, region_code=region, level=level)
    statuses = [(value, label, data.by_status.get(value, 0)) for value, label in U.choices]
    regions = [{"code": code, "name": _region_name(code), "total": sum(counts.values()),
                "open": sum(n for s, n in counts.items() if s not in selectors.FINAL_USULAN),
                "applied": counts.get(U.APPLIED, 0)} for code, counts in data.by_region.items()]
    ages = [(label, data.by_age.get(label, 0)) for _limit, label in selectors.AGE_BUCKETS]
    return _page(request, "updates/report.html", {
        "report": data, "statuses": statuses, "regions": regions, "ages": ages, "region": region, "level": level,
        "total": sum(data.by_status.values()),
        "levels": [(1, _("Province")), (2, _("Regency/city")), (3, _("District")), (4, _("Village"))],
    })


urlpatterns = [
    path("", queue_view, name="queue"),
    path("daftar/", list_view, name="list"),
    path("baru/", create_view, name="create"),
    path("musdes/", musdes_view, name="musdes"),
    path("penetapan/", penetapan_view, name="penetapan"),
    path("penetapan/<int:penetapan_id>/cetak/", penetapan_print_view, name="penetapan_print"),
    path("laporan/", report_view, name="report"),
    path("<int:usulan_id>/", detail_view, name="detail"),
    path("<int:usulan_id>/ubah/", edit_view, name="edit"),
    path("<int:usulan_id>/ajukan-musdes/", to_musdes_view, name="to_musdes"),
    path("<int:usulan_id>/batalkan/", cancel_view, name="cancel"),
    path("<int:usulan_id>/kirim-dinsos/", to_dinsos_view, name="to_dinsos"),
    path("<int:usulan_id>/kembalikan/", return_view, name="return"),
    path("<int:usulan_id>/kunjungan/", order_visit_view, name="order_visit"),
    path("<int:usulan_id>/verifikasi/", verify_view, name="verify"),
    path("<int:usulan_id>/tidak-layak/", not_eligible_view, name="not_eligible"),
]
