"""Staff pages of the register: family search, the family page (members, condition, KK numbers, exclusion
flags, history and an "as of" view) and the person page.

Views parse the input, call selectors with `actor=request.user` and render. A family or person outside the
actor's regions raises `NotFound` in the selector, which the error middleware renders as a bilingual 404.
The helpers below only turn stored codes into readable labels.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from dtsen.audit.services import audit_read
from dtsen.core.errors import ApplicationError, NotFound, ValidationFailed
from dtsen.regions.selectors import region_ancestors, region_get
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_decrypt, nik_mask
from dtsen.registry.models import Condition, Family, Person
from dtsen.registry.selectors import (
    Version,
    family_as_of,
    family_exclusions,
    family_get,
    family_kk_history,
    family_latest_condition,
    family_list,
    family_members,
    family_versions,
    person_get,
)

PAGE_SIZE = 20
MAX_QUERY_LENGTH = 100
MAX_PAGE = 10_000
STATUS_ALL = "semua"
STATUS_FILTERS = (
    (c.RecordStatus.ACTIVE.value, c.RecordStatus.ACTIVE.label),
    (c.RecordStatus.REMOVED.value, c.RecordStatus.REMOVED.label),
    (STATUS_ALL, _("All")),
)
TABS = ("overview", "history")

# Labels of the fields that a version can change (the diff names model fields).
FIELD_LABELS: dict[str, Any] = {
    "family_code": _("Family code"),
    "kk_number": _("KK number"),
    "head": _("Head of family"),
    "pengurus": _("Aid recipient (pengurus)"),
    "village_code": _("Village"),
    "rw": _("RW"),
    "rt": _("RT"),
    "address": _("Address"),
    "dwelling": _("Dwelling"),
    "family_no": _("Family number in the dwelling"),
    "status": _("Record status"),
    "status_reason": _("Reason for the status"),
    "family": _("Family"),
    "person_code": _("Person code"),
    "nik_hash": _("NIK"),
    "nik_consistent": _("NIK agrees with birth date and sex"),
    "padan_status": _("Match with Dukcapil"),
    "name": _("Name"),
    "sex": _("Sex"),
    "birth_place": _("Place of birth"),
    "birth_date": _("Date of birth"),
    "relationship": _("Relationship to the head"),
    "marital_status": _("Marital status"),
    "education": _("Highest education completed"),
    "school_level": _("Current school"),
    "sector": _("Sector of work"),
    "employment_type": _("Type of work"),
    "occupation": _("Occupation"),
    "disability": _("Disability"),
    "disability_severity": _("Severity of disability"),
    "pregnant": _("Pregnant"),
    "life_status": _("Life status"),
    "death_date": _("Date of death"),
    "death_source": _("Source of the death record"),
}

# The condition snapshot, in the order of the Regsosek housing block.
CONDITION_FIELDS: list[tuple[str, Any]] = [
    ("tenure", _("Housing tenure")),
    ("floor_area_m2", _("Floor area (m²)")),
    ("floor_material", _("Floor")),
    ("wall_material", _("Walls")),
    ("roof_material", _("Roof")),
    ("toilet", _("Toilet")),
    ("drinking_water", _("Drinking water")),
    ("lighting", _("Lighting")),
    ("power_va", _("Installed power (VA)")),
    ("cooking_fuel", _("Cooking fuel")),
    ("received_credit", _("Received a business credit")),
]

VERSION_KINDS: dict[str, Any] = {"+": _("Created"), "~": _("Changed"), "-": _("Deleted")}
SUBJECTS: dict[str, Any] = {"family": _("Family"), "condition": _("Condition snapshot"), "event": _("Event")}
PERSON = _("Person")


# ---------------------------------------------------------------------------------------------- input


def _parse_page(raw: str | None) -> int:
    if raw is None or raw == "":
        return 1
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE:
        raise ValidationFailed(
            f"Nomor halaman harus angka 1 sampai {MAX_PAGE}.", f"The page number must be 1 to {MAX_PAGE}.",
            field="page",
        )
    return int(raw)


def _parse_query(raw: str) -> str:
    text = " ".join(raw.split())
    if len(text) > MAX_QUERY_LENGTH:
        raise ValidationFailed(
            f"Teks pencarian terlalu panjang (maksimal {MAX_QUERY_LENGTH} karakter).",
            f"The search text is too long (at most {MAX_QUERY_LENGTH} characters).",
            field="q",
        )
    if text.isdigit() and not text.isascii():
        raise ValidationFailed(
            "Ketik NIK atau nomor KK dengan angka 0-9.", "Type the NIK or KK number with the digits 0-9.",
            field="q",
        )
    if text.isdigit() and len(text) != 16:
        raise ValidationFailed(
            f"NIK dan nomor KK terdiri dari 16 digit; yang diketik {len(text)} digit.",
            f"NIK and KK numbers have 16 digits; {len(text)} were typed.",
            field="q",
        )
    return text


def _parse_status(raw: str | None) -> str:
    if raw is None or raw == "":
        return c.RecordStatus.ACTIVE
    if raw not in {value for value, _label in STATUS_FILTERS}:
        raise ValidationFailed("Status tidak dikenal.", "Unknown status.", field="status")
    return raw


def _parse_as_of(raw: str) -> dt.datetime | None:
    """A calendar date (YYYY-MM-DD) → the end of that day in the local time zone."""
    text = raw.strip()
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            "Tanggal tidak valid; gunakan format TTTT-BB-HH, misalnya 2025-01-31.",
            "Invalid date; use the format YYYY-MM-DD, for example 2025-01-31.",
            field="as_of",
        ) from None
    if day > timezone.localdate():
        raise ValidationFailed(
            "Tanggal tidak boleh di masa depan.", "The date cannot be in the future.", field="as_of"
        )
    if day.year < 1900:
        raise ValidationFailed("Tanggal terlalu lampau.", "The date is too far in the past.", field="as_of")
    return timezone.make_aware(dt.datetime.combine(day, dt.time.max))


def _parsed(errors: list[ApplicationError], parse: Any, raw: Any, default: Any) -> Any:
    """`parse(raw)`, or `default` with the error collected (so every bad field is reported at once)."""
    try:
        return parse(raw)
    except ValidationFailed as exc:
        errors.append(exc)
        return default


# ---------------------------------------------------------------------------------------- presentation


@dataclass
class DesilView:
    desil: int | None
    provisional: bool
    period: str
    percentile: Any
    not_rankable: list[str]
    reasons: list[str]


def _desil_view(actor: Any, family: Family) -> DesilView | None:
    """The family's desil from the latest ranking run and why ("lantai tanah: −0.12"), in the page language."""
    from dtsen.ranking import pmt
    from dtsen.ranking.selectors import family_desil

    info = family_desil(actor=actor, family=family)
    if info.run is None:
        return None
    lang = "en" if (get_language() or "id").startswith("en") else "id"
    reasons: list[str] = []
    if info.explanation is not None:
        model = pmt.PmtModel.from_dict(info.run.model_artefact)
        reasons = info.explanation.grouped(model.spec).lines(lang, n=6)
    return DesilView(
        desil=info.desil, provisional=info.provisional, period=info.run.period, percentile=info.percentile,
        not_rankable=[reason for reason, _ in info.not_rankable], reasons=reasons,
    )


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _masked_nik(person: Person) -> str:
    """The masked NIK of a person (or past version of one) that a selector returned for this actor: only the
    mask leaves the server, so no clear-NIK read (`person_nik`) is needed, and no query per member."""
    return nik_mask(nik_decrypt(person.nik_enc))


@dataclass
class MemberRow:
    person: Person
    nik: str  # masked
    age: int


def _member_rows(members: list[Person], on: dt.date) -> list[MemberRow]:
    return [
        MemberRow(person=p, nik=_masked_nik(p), age=_age(p.birth_date, min(on, p.death_date or on)))
        for p in members
    ]


def _display(model: type[models.Model], name: str, value: Any, names: dict[int, str]) -> Any:
    """A stored value as a reader sees it: choice labels, yes/no, person names for head and pengurus."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if name in {"head", "pengurus", "family", "dwelling"}:  # foreign keys: a member's name, else the id
        return names.get(value, f"#{value}") if name in {"head", "pengurus"} else f"#{value}"
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:  # shown as stored
        return value
    choices = getattr(field, "flatchoices", None)
    if choices:
        return dict(choices).get(value, value)
    return value


@dataclass
class Change:
    label: Any
    old: Any
    new: Any
    hidden: bool = False  # the values are not shown (NIK)


@dataclass
class VersionRow:
    when: dt.datetime
    subject: Any
    kind: Any
    actor: str
    channel: Any
    reason: str
    changes: list[Change]


def _version_rows(versions: list[Version], names: dict[int, str], codes: dict[str, str]) -> list[VersionRow]:
    channels = dict(c.Channel.choices)
    events = dict(c.EventKind.choices)
    rows = []
    for v in versions:
        if v.subject.startswith("person:"):
            code = v.subject.partition(":")[2]
            model: type[models.Model] = Person
            subject: Any = f"{PERSON}: {codes.get(code, code)}"
        else:
            model = Family
            subject = SUBJECTS.get(v.subject, v.subject)
        changes = [
            Change(FIELD_LABELS.get(name, name), None, None, hidden=True)
            if name == "nik_hash"
            else Change(FIELD_LABELS.get(name, name), _display(model, name, before, names),
                        _display(model, name, after, names))
            for name, before, after in v.changes
        ]
        rows.append(VersionRow(
            when=v.when, subject=subject, kind=VERSION_KINDS.get(v.kind) or events.get(v.kind, v.kind),
            actor=v.actor, channel=channels.get(v.channel, v.channel), reason=v.reason, changes=changes,
        ))
    return rows


def _condition_rows(condition: Condition | None) -> tuple[list[tuple[Any, Any]], list[str]]:
    if condition is None:
        return [], []
    rows = [
        (label, _display(Condition, name, getattr(condition, name), {})) for name, label in CONDITION_FIELDS
    ]
    english = (get_language() or "id").startswith("en")
    assets = [en if english else id_ for name, id_, en in c.ASSETS if getattr(condition, f"asset_{name}")]
    return rows, assets


def _address(village_code: str) -> list[tuple[Any, str, str]]:
    """(kind, name, code) from the province down to the village; the bare code when regions are unknown."""
    try:
        chain = region_ancestors(village_code)
    except NotFound:
        chain = []
    if not chain:
        return [(_("Village"), village_code, village_code)]
    return [(r.get_kind_display(), r.name, r.code) for r in chain]


def _village_names(codes: set[str]) -> dict[str, str]:
    names = {}
    for code in codes:
        try:
            names[code] = region_get(code).name
        except NotFound:
            names[code] = code
    return names


def _audit(
    request: HttpRequest, object_type: str, object_id: int, person_ids: list[int], *, action: str
) -> None:
    """Record the staff read of personal data (who saw which family or person, when). The address and the
    channel come from the request's audit context (audit.middleware.AuditContextMiddleware)."""
    audit_read(actor=request.user, object_type=object_type, object_id=object_id, person_ids=person_ids,
               action=action)


def _render(request: HttpRequest, *, full: str, partial: str, target: str, context: dict[str, Any],
            status: int = 200) -> HttpResponse:
    """The whole page, or only the fragment an htmx request asked for (by its target element id)."""
    htmx = getattr(request, "htmx", None)
    template = partial if htmx and htmx.target == target else full
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


# --------------------------------------------------------------------------------------------- views


@login_required
@require_GET
def family_list_view(request: HttpRequest) -> HttpResponse:
    errors: list[ApplicationError] = []
    raw_query = request.GET.get("q", "")
    query = _parsed(errors, _parse_query, raw_query, "")
    status = _parsed(errors, _parse_status, request.GET.get("status"), c.RecordStatus.ACTIVE.value)
    page = _parsed(errors, _parse_page, request.GET.get("page"), 1)
    families: list[Family] = []
    has_next = False
    if not errors:
        rows = family_list(
            actor=request.user, query=query, status="" if status == STATUS_ALL else status,
            limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE,
        )
        has_next = len(rows) > PAGE_SIZE
        families = rows[:PAGE_SIZE]

    villages = _village_names({f.village_code for f in families})

    def page_url(number: int) -> str:
        params = {"q": query} if query else {}
        if status != c.RecordStatus.ACTIVE:
            params["status"] = status
        if number > 1:
            params["page"] = str(number)
        return "?" + urlencode(params)

    context = {
        "section": "families",
        "query": raw_query,
        "status": status,
        "status_filters": STATUS_FILTERS,
        "errors": errors,
        "rows": [(f, villages[f.village_code]) for f in families],
        "page": page,
        "prev_url": page_url(page - 1) if page > 1 and not errors else "",
        "next_url": page_url(page + 1) if has_next else "",
    }
    return _render(request, full="registry/family_list.html", partial="registry/_family_results.html",
                   target="family-results", context=context, status=400 if errors else 200)


@login_required
@require_GET
def family_detail_view(request: HttpRequest, family_id: int) -> HttpResponse:
    actor = request.user
    family = family_get(actor=actor, family_id=family_id)
    tab = request.GET.get("tab", TABS[0])
    if tab not in TABS:
        tab = TABS[0]
    errors: list[ApplicationError] = []
    raw_as_of = request.GET.get("as_of", "")
    as_of: dt.datetime | None = _parsed(errors, _parse_as_of, raw_as_of, None) if tab == "overview" else None
    context: dict[str, Any] = {
        "section": "families", "family": family, "tab": tab,
        "as_of": timezone.localdate(as_of) if as_of else None,
        "as_of_input": raw_as_of, "today": timezone.localdate(), "errors": errors,
    }
    if tab == "history":
        everyone = family_members(actor=actor, family=family, include_removed=True)
        _audit(request, "family", family.pk, [p.pk for p in everyone], action="history")
        context["versions"] = _version_rows(
            family_versions(actor=actor, family=family),
            names={p.pk: p.name for p in everyone},
            codes={p.person_code: p.name for p in everyone},
        )
    else:
        state = None
        if as_of is not None:
            try:
                state = family_as_of(actor=actor, family_id=family.pk, when=as_of)
            except NotFound as exc:
                errors.append(exc)
        if state is not None:
            shown, members, condition = state.family, state.members, state.condition
            on = timezone.localdate(state.when)
        else:
            context["as_of"] = None
            shown, on = family, timezone.localdate()
            members = family_members(actor=actor, family=family)
            condition = family_latest_condition(actor=actor, family=family)
            context["exclusions"] = family_exclusions(actor=actor, family=family)
            context["desil"] = _desil_view(actor, family)
        _audit(request, "family", family.pk, [p.pk for p in members], action="as_of" if state else "view")
        condition_rows, assets = _condition_rows(condition)
        context.update(
            shown=shown, members=_member_rows(members, on), condition=condition,
            condition_rows=condition_rows, assets=assets, address=_address(shown.village_code),
            kk_history=family_kk_history(actor=actor, family=family),
        )
    bad_input = any(isinstance(e, ValidationFailed) for e in errors)
    return _render(request, full="registry/family_detail.html", partial=f"registry/_family_{tab}.html",
                   target="family-tab", context=context, status=400 if bad_input else 200)


@login_required
@require_GET
def person_detail_view(request: HttpRequest, person_id: int) -> HttpResponse:
    actor = request.user
    person = person_get(actor=actor, person_id=person_id)
    family = person.family
    today = timezone.localdate()
    everyone = family_members(actor=actor, family=family, include_removed=True)
    subject = f"person:{person.person_code}"
    versions = [v for v in family_versions(actor=actor, family=family) if v.subject == subject]
    _audit(request, "person", person.pk, [person.pk], action="view")
    context = {
        "section": "families",
        "person": person,
        "family": family,
        "nik": _masked_nik(person),
        "age": _age(person.birth_date, person.death_date or today),
        "exclusions": [f for f in family_exclusions(actor=actor, family=family) if f.person_id == person.pk],
        "versions": _version_rows(versions, names={p.pk: p.name for p in everyone},
                                  codes={p.person_code: p.name for p in everyone}),
    }
    return render(request, "registry/person_detail.html", context)
