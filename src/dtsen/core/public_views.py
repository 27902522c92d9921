"""Cek Bansos (issue 7): anyone chooses a village, types a name as on the KTP, answers the challenge and sees the
matching recipients there, masked (dtsen.programs.public). No login; rate-limited per client address (group
"public-search" in dtsen.core.ratelimits.RULES, on top of the general anonymous limit); every search is audited
with the village and the length of the name typed, never the name.

The region selects cascade with htmx (the GET form swaps itself on change, and gets back only the part of the page
that changes, core/public_search_cek.html); without JavaScript the same GET form is submitted step by step with
its "Next" button. The search itself is a POST form (sent by htmx, or by the browser without JavaScript), so
the name stays out of URLs; an htmx request gets only the part of the page that changes.

Kept cheap for hundreds of searches a second (docs/benchmarks.md): the region option lists are rendered once per
process and the search is one SQL statement (dtsen.core.public_search).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dtsen.audit.services import audit_public
from dtsen.core.challenge import challenge_check, challenge_new
from dtsen.core.errors import ValidationFailed
from dtsen.core.public_search import (
    ResultRow,
    recipient_search,
    region_options,
    region_options_version,
    result_rows,
    result_rows_html,
)
from dtsen.programs.public import MAX_QUERY_LENGTH, query_words
from dtsen.regions.errors import RegionNotFound
from dtsen.regions.models import Region, RegionLevel
from dtsen.regions.selectors import region_get

LEVELS = ("prov", "kab", "kec", "desa")


@dataclass
class RegionStep:
    key: str
    label: str
    options: SafeString  # the rendered <option> elements, the chosen one marked (dtsen.core.public_search)
    selected: str


@dataclass
class Selection:
    steps: list[RegionStep] = field(default_factory=list)
    village: Region | None = None
    steps_html: str = ""  # SafeString: the rendered selects


STEPS_CACHE_SIZE = 4096


class _StepsCache:
    """The rendered region selects of this process, by (language, choice of regions), for one version of the
    region lists (dtsen.core.public_search.region_options_version): forgotten all at once when that changes or
    the cache is full. Safe for a server's threads (granian's blocking threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.version: tuple[object, ...] = ()
        self.html: dict[tuple[object, ...], SafeString] = {}

    def get(self, steps: list[RegionStep]) -> SafeString:
        version = region_options_version()
        key = (get_language(), tuple((s.key, s.selected) for s in steps))
        found = self.html.get(key) if version == self.version else None
        if found is not None:
            return found
        rendered = mark_safe(render_to_string("core/_public_search_steps.html", {"steps": steps}))  # noqa: S308
        with self.lock:
            if version != self.version or len(self.html) >= STEPS_CACHE_SIZE:
                self.html = {}
                self.version = version
            self.html[key] = rendered
        return rendered


_steps = _StepsCache()


def _labels() -> dict[str, str]:
    return {
        "prov": _("Province"),
        "kab": _("Regency/city"),
        "kec": _("District"),
        "desa": _("Village (desa/kelurahan)"),
    }


def _selection(data: dict[str, str]) -> Selection:
    """The region choices so far; a choice that is not a child of the one above it (or unknown) is dropped,
    and so is everything below it."""
    selection = Selection()
    labels = _labels()
    parent = ""
    for key in LEVELS:
        try:
            options = region_options(parent)
        except RegionNotFound:
            break
        chosen = data.get(key, "").strip()
        selected = chosen if chosen in options.regions else ""
        selection.steps.append(RegionStep(key, labels[key], options.render(selected), selected))
        if not selected:
            break
        parent = selected
        if key == "desa":
            selection.village = options.regions[selected]
    selection.steps_html = _steps.get(selection.steps)
    return selection


def _context(selection: Selection, **extra: object) -> dict[str, object]:
    return {"selection": selection, "challenge": challenge_new(), "max_name": MAX_QUERY_LENGTH,
            "search_url": reverse("public:search"), **extra}


def _render(request: HttpRequest, context: dict[str, object], status: int = 200) -> HttpResponse:
    """The whole page, or for htmx (the region selects of a browser with JavaScript) only the part that changes
    (`#cek`): the page around it costs as much to render again as the rest of it."""
    template = "core/public_search_cek.html" if getattr(request, "htmx", False) else "core/public_search.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def search(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render(request, _context(_selection(request.GET.dict())))
    data = request.POST.dict()
    name = data.get("name", "").strip()[:MAX_QUERY_LENGTH]
    village_code = data.get("desa", "").strip()
    error = None
    results: list[ResultRow] | None = None
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
        found = recipient_search(village_code=village.code, name=name)
        audit_public(action="public_search", object_type="region", object_id=village.code,
                     after={"query_length": len(name), "results": len(found)})
        results = result_rows(found)
    context = _context(selection, name=name, results=results, error=error, searched_village=village,
                       results_html=result_rows_html(results or []))
    return _render(request, context, status=400 if error else 200)
