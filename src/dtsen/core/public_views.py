"""Cek Bansos (issue 7): anyone chooses a village, types a name as on the KTP, answers the challenge and sees the
matching recipients there, masked (dtsen.programs.public). No login; rate-limited per client address (group
"public-search", on top of the general anonymous limit); every search is audited with the village and the
length of the name typed, never the name.

The region selects cascade with htmx (the GET form swaps itself on change); without JavaScript the same GET form
is submitted step by step with its "Next" button. The search itself is a POST, so the name stays out of URLs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dtsen.audit.services import audit_public
from dtsen.core.challenge import challenge_check, challenge_new
from dtsen.core.errors import ValidationFailed
from dtsen.core.ratelimits import public_limit
from dtsen.programs.public import MAX_QUERY_LENGTH, PublicRecipient, public_recipient_search, query_words
from dtsen.regions.errors import RegionNotFound
from dtsen.regions.models import Region, RegionLevel
from dtsen.regions.selectors import region_children, region_get

LEVELS = ("prov", "kab", "kec", "desa")
REGION_CACHE_SECONDS = 300  # region lists are reference data; a new edition shows within this time


@dataclass
class RegionStep:
    key: str
    label: str
    options: list[Region]
    selected: str


@dataclass
class Selection:
    steps: list[RegionStep] = field(default_factory=list)
    village: Region | None = None


def _labels() -> dict[str, str]:
    return {
        "prov": _("Province"),
        "kab": _("Regency/city"),
        "kec": _("District"),
        "desa": _("Village (desa/kelurahan)"),
    }


@lru_cache(maxsize=4096)
def _children_cached(parent: str, period: int) -> tuple[Region, ...]:
    return tuple(region_children(parent))


def _children(parent: str) -> tuple[Region, ...]:
    """The options below `parent` (region_children), kept in the process for up to REGION_CACHE_SECONDS: every
    search page shows four lists of them, so reading them each time was a good part of a search's cost."""
    return _children_cached(parent, int(time.monotonic() // REGION_CACHE_SECONDS))


def _selection(data: dict[str, str]) -> Selection:
    """The region choices so far; a choice that is not a child of the one above it (or unknown) is dropped,
    and so is everything below it."""
    selection = Selection()
    labels = _labels()
    parent = ""
    for key in LEVELS:
        try:
            options = list(_children(parent))
        except RegionNotFound:
            break
        chosen = data.get(key, "").strip()
        codes = {r.code for r in options}
        selected = chosen if chosen in codes else ""
        selection.steps.append(RegionStep(key, labels[key], options, selected))
        if not selected:
            break
        parent = selected
    last = selection.steps[-1] if selection.steps else None
    if last is not None and last.key == "desa" and last.selected:
        selection.village = next(r for r in last.options if r.code == last.selected)
    return selection


def _context(selection: Selection, **extra: object) -> dict[str, object]:
    return {"selection": selection, "challenge": challenge_new(), "max_name": MAX_QUERY_LENGTH, **extra}


@require_http_methods(["GET", "HEAD", "POST"])
@public_limit("10/m", group="public-search", methods=("POST",))
def search(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "core/public_search.html", _context(_selection(request.GET.dict())))
    data = request.POST.dict()
    name = data.get("name", "").strip()[:MAX_QUERY_LENGTH]
    village_code = data.get("desa", "").strip()
    error = None
    results: list[PublicRecipient] | None = None
    selection = _selection(data)
    village = selection.village
    if village is None or village.code != village_code:
        try:
            village = region_get(village_code) if village_code else None
        except RegionNotFound:
            village = None
    if village is None or village.level != RegionLevel.VILLAGE:
        error = ValidationFailed("Pilih desa/kelurahan yang ada.", "Choose an existing village.",
                                 code="unknown_village")
    elif not query_words(name):
        error = ValidationFailed("Ketik nama seperti di KTP (paling sedikit 3 huruf).",
                                 "Type the name as on the KTP (at least 3 letters).", code="name_too_short")
    elif not challenge_check(data.get("challenge_token", ""), data.get("challenge_answer", "")):
        error = ValidationFailed("Jawaban pertanyaan keamanan salah. Coba lagi.",
                                 "The answer to the security question is wrong. Try again.", code="challenge")
    else:
        results = public_recipient_search(village_code=village.code, name=name)
        audit_public(action="public_search", object_type="region", object_id=village.code,
                     after={"query_length": len(name), "results": len(results)})
    context = _context(selection, name=name, results=results, error=error, searched_village=village)
    return render(request, "core/public_search.html", context, status=400 if error else 200)
