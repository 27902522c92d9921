"""The hot path of Cek Bansos (dtsen.core.public_views), made cheap enough for hundreds of searches a second.

- Region option lists: the `<option>` elements below each region are rendered once per worker process and
  kept (`region_options`); a page marks the chosen one with one string replacement instead of rendering every
  option through the template engine. The cache belongs to the current region edition: a worker looks up
  which edition is current at most every `EDITION_CHECK_SECONDS` and starts afresh when it changed, and drops
  everything after `REGION_CACHE_SECONDS` anyway (an edition reloaded in place, e.g. a corrected name).
- The search (`recipient_search`): on PostgreSQL one hand-written statement finds the candidates through
  `registry_personword` (registry migrations 0002 and 0004: the words of each name, by village) and brings
  their programs along (memberships and ratified results, LATERAL), instead of the ORM's three queries with
  three EXISTS built per request. It applies the
  very rules of `dtsen.programs.public.public_recipient_search` (same filters, same order, same limits, same
  masking); other databases (SQLite) call that function. tests/public/test_search_sql.py holds the two
  against each other.
"""

from __future__ import annotations

import datetime as dt
import html
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from django.db import connection
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, ngettext

from dtsen.core.db import fetch_prepared
from dtsen.core.masking import mask_name
from dtsen.programs.models import MembershipStatus, Outcome
from dtsen.programs.public import MAX_ROWS, PublicProgram, PublicRecipient, public_recipient_search, query_words
from dtsen.regions.models import Edition, Region
from dtsen.regions.selectors import region_children
from dtsen.registry import choices as c

REGION_CACHE_SECONDS = 300
EDITION_CHECK_SECONDS = 30


@dataclass(frozen=True, slots=True)
class RegionOptions:
    """The regions directly below one region, by code, and their `<option>` elements (no blank option)."""

    regions: dict[str, Region]
    html: str

    def render(self, selected: str) -> SafeString:
        """The option elements with `selected` (a code of this list, or "") marked as chosen."""
        if selected not in self.regions:
            return mark_safe(self.html)  # noqa: S308 - built from escaped codes and names only
        marker = f'<option value="{escape(selected)}">'
        return mark_safe(self.html.replace(marker, f'<option value="{escape(selected)}" selected>', 1))  # noqa: S308


class _RegionCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.options: dict[str, RegionOptions] = {}
        self.version: tuple[object, ...] = ()
        self.checked = float("-inf")
        # each process drops its lists at its own moment of the period: workers started together would otherwise
        # all rebuild them in the same second (seen as a latency burst every 5 minutes under load)
        self.phase = random.uniform(0, REGION_CACHE_SECONDS)

    def current_version(self) -> tuple[object, ...]:
        now = time.monotonic()
        if now - self.checked >= EDITION_CHECK_SECONDS:
            edition = Edition.objects.filter(is_current=True).values_list("pk", "code").first()
            version = (edition, int((now + self.phase) // REGION_CACHE_SECONDS))
            with self.lock:
                if version != self.version:
                    self.options = {}
                    self.version = version
                self.checked = now
        return self.version

    def get(self, parent: str) -> RegionOptions:
        version = self.current_version()
        found = self.options.get(parent)
        if found is not None:
            return found
        regions = {r.code: r for r in region_children(parent)}  # RegionNotFound for a malformed code
        html = "".join(f'<option value="{escape(code)}">{escape(r.name)}</option>' for code, r in regions.items())
        built = RegionOptions(regions, html)
        with self.lock:
            if self.version == version:
                self.options[parent] = built
        return built

    def clear(self) -> None:
        with self.lock:
            self.options = {}
            self.version = ()
            self.checked = float("-inf")


_regions = _RegionCache()


def region_options(parent: str) -> RegionOptions:
    """The regions below `parent` ("" for the provinces) with their rendered options, cached per process (see
    the module); RegionNotFound when `parent` is not a region code."""
    return _regions.get(parent)


def region_options_version() -> tuple[object, ...]:
    """What the cached region lists belong to (the current edition and the cache period): caches built from
    them are keyed on it."""
    return _regions.current_version()


def region_options_clear() -> None:
    """Forget the cached region lists of this process (tests; a worker does it by itself on a new edition)."""
    _regions.clear()


# --- the search ---------------------------------------------------------------------------------------------

# The candidates as public_recipient_search selects them (its ORM query on PostgreSQL, written out): living,
# active persons of active families in the village, narrowed through registry_personword (each typed word
# starts the name or a word of it), each word also contained in the name (icontains), with an active
# membership of the family or a selected result of a non-simulation run ratified by a decree (national or for
# the result's kab/kota) for the family or the person; ordered by name and id, at most MAX_ROWS * 5. Then the
# programs of each candidate, from the same two sources.
_RATIFIED = """
    r.outcome = %(selected)s AND r.village_code = %(village)s AND u.simulation = false
    AND EXISTS (SELECT 1 FROM programs_decree d WHERE d.run_id = r.run_id AND d.program = r.program
                AND (d.region_code = '' OR d.region_code = r.region_code))"""
_SEARCH = """
WITH cand AS (
    SELECT p.id, p.family_id, p.name, p.birth_date, s.name AS sort_name
    FROM (SELECT DISTINCT w.person_id, w.name FROM registry_personword w
          WHERE w.village_code = %(village)s AND w.word ~>=~ %(low)s AND w.word ~<~ %(high)s
            AND w.word LIKE %(key)s{narrow}
          ORDER BY w.name, w.person_id OFFSET 0) s
    JOIN registry_person p ON p.id = s.person_id
    JOIN registry_family f ON f.id = p.family_id
    WHERE f.village_code = %(village)s AND f.status = %(active)s AND p.status = %(active)s AND p.life_status = %(alive)s
      {contains}
      AND (EXISTS (SELECT 1 FROM programs_membership m WHERE m.family_id = p.family_id AND m.status = %(member)s)
           OR EXISTS (SELECT 1 FROM programs_eligibilityresult r JOIN programs_eligibilityrun u ON u.id = r.run_id
                      WHERE r.person_id IS NULL AND r.family_id = p.family_id AND {ratified})
           OR EXISTS (SELECT 1 FROM programs_eligibilityresult r JOIN programs_eligibilityrun u ON u.id = r.run_id
                      WHERE r.person_id = p.id AND {ratified}))
    ORDER BY s.name, s.person_id
    LIMIT %(limit)s
)
SELECT c.id, c.family_id, c.name, c.birth_date, g.source, g.program, g.period, g.since
FROM cand c
LEFT JOIN LATERAL (
    SELECT 0 AS source, m.program, '' AS period, m.since, 0 AS run_id
    FROM programs_membership m WHERE m.family_id = c.family_id AND m.status = %(member)s
    UNION ALL
    SELECT CASE WHEN r.person_id IS NULL THEN 1 ELSE 2 END, r.program, u.period, NULL, r.run_id
    FROM programs_eligibilityresult r JOIN programs_eligibilityrun u ON u.id = r.run_id
    WHERE ((r.person_id IS NULL AND r.family_id = c.family_id) OR r.person_id = c.id) AND {ratified}
) g ON true
ORDER BY c.sort_name, c.id, g.source, g.period, g.run_id
"""


def _like_escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _next_prefix(prefix: str) -> str:
    """The smallest text greater than every text that starts with `prefix`, in code point (= UTF-8 byte) order,
    the order of text_pattern_ops: the last character that can be incremented is, and what follows it dropped.
    A prefix made only of U+10FFFF (a private-use code point) has no such bound: longer texts are missed."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            following = last + 1
            if 0xD800 <= following <= 0xDFFF:  # no surrogates in text
                following = 0xE000
            return "".join(chars) + chr(following)
    return "\U0010ffff" * (len(prefix) + 1)  # pragma: no cover - a prefix of U+10FFFF only


def _name_matches(name: str, words: list[str]) -> bool:
    parts = name.upper().split()
    return all(any(p.startswith(w) for p in parts) for w in words)


def _age(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _sql(n_words: int) -> str:
    # the index finds the names with a word starting with the longest typed word (`key`); each typed word must
    # start the name or a word of it
    narrow = "".join(
        f" AND (w.name LIKE upper(%(start{i})s) OR w.name LIKE upper(%(inner{i})s))" for i in range(n_words)
    )
    contains = "".join(f" AND upper(p.name::text) LIKE upper(%(contains{i})s)" for i in range(n_words))
    return _SEARCH.format(narrow=narrow, contains=contains, ratified=_RATIFIED)


_STATEMENTS: dict[int, str] = {}


def recipient_search(*, village_code: str, name: str, today: dt.date | None = None) -> list[PublicRecipient]:
    """Recipients in `village_code` whose name matches `name`, masked: the result of
    `dtsen.programs.public.public_recipient_search`, in one statement on PostgreSQL (two, now and then: see
    below)."""
    if connection.vendor != "postgresql":
        return public_recipient_search(village_code=village_code, name=name, today=today)
    words = query_words(name)
    if not words or not village_code:
        return []
    sql = _STATEMENTS.get(len(words))
    if sql is None:
        sql = _STATEMENTS[len(words)] = _sql(len(words))
    params: dict[str, object] = {
        "village": village_code, "limit": MAX_ROWS, "selected": Outcome.SELECTED,
        "active": c.RecordStatus.ACTIVE, "alive": c.LifeStatus.ALIVE, "member": MembershipStatus.ACTIVE,
    }
    # the words that start with the longest typed word: as a range of the index (a prepared statement's generic
    # plan cannot turn `LIKE $1` into one), and LIKE for the exact test
    key = max(words, key=len).upper()
    params.update(low=key, high=_next_prefix(key), key=f"{_like_escape(key)}%")
    for i, word in enumerate(words):
        escaped = _like_escape(word)
        params[f"start{i}"] = f"{escaped}%"
        params[f"inner{i}"] = f"% {escaped}%"
        params[f"contains{i}"] = f"%{escaped}%"
    rows = fetch_prepared(sql, params)
    # public_recipient_search reads MAX_ROWS * 5 candidates and shows the first MAX_ROWS whose name matches word
    # by word; the statement's conditions already match word starts, so the first MAX_ROWS candidates nearly
    # always are the answer: read more only when there may be more and one of them did not match
    candidates = {int(row[0]): str(row[2]) for row in rows}
    if len(candidates) >= MAX_ROWS and not all(_name_matches(n, words) for n in candidates.values()):
        rows = fetch_prepared(sql, {**params, "limit": MAX_ROWS * 5})
    return _recipients(rows, words, today or timezone.localdate())


def _recipients(rows: list[tuple[object, ...]], words: list[str], today: dt.date) -> list[PublicRecipient]:
    # rows: one per (candidate, program source) in candidate order; the same merge as public_recipient_search:
    # a family's membership beats a ratified result of the same program, the latest period wins, and a person's
    # own result beats the family's
    order: list[int] = []
    people: dict[int, tuple[str, dt.date] | None] = {}  # None: a candidate not shown
    own: dict[int, dict[str, PublicProgram]] = defaultdict(dict)
    family: dict[int, dict[str, PublicProgram]] = defaultdict(dict)
    for pid, _family_id, name, born, source, program, period, since in rows:
        person_id = int(pid)  # type: ignore[call-overload]
        if person_id not in people:
            shown = len(order) < MAX_ROWS and _name_matches(str(name), words)
            people[person_id] = (str(name), born) if shown else None  # type: ignore[assignment]
            if shown:
                order.append(person_id)
        if source is None or people[person_id] is None:
            continue
        code = str(program).upper()
        if source == 0:
            family[person_id][code] = PublicProgram(code, "", since)  # type: ignore[arg-type]
        elif source == 1:
            current = family[person_id].get(code)
            if current is None or current.since is None:
                family[person_id][code] = PublicProgram(code, str(period), None)
        else:
            own[person_id][code] = PublicProgram(code, str(period), None)
    out = []
    for person_id in order:
        programs = {**family.get(person_id, {}), **own.get(person_id, {})}
        if not programs:
            continue
        name, born = people[person_id]  # type: ignore[misc]
        out.append(PublicRecipient(masked_name=mask_name(name), age=_age(born, today),
                                   programs=tuple(programs[k] for k in sorted(programs))))
    return out


# --- the result rows ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One recipient as the result table shows it: the texts are made here, once, instead of by template tags
    per row (plural of the age, month names of the dates: most of the page's rendering time)."""

    masked_name: str
    age: str
    programs: str


@lru_cache(maxsize=4096)
def _since(language: str, year: int, month: int) -> str:
    return f"{gettext('since')} {date_format(dt.date(year, month, 1), 'M Y')}"


@lru_cache(maxsize=1024)
def _period(language: str, period: str) -> str:
    return f"{gettext('period')} {period}"


@lru_cache(maxsize=1024)
def _age_text(language: str, years: int) -> str:
    return ngettext("%(years)s year", "%(years)s years", years) % {"years": years}


def _program_text(program: PublicProgram, language: str) -> str:
    if program.since is not None:
        when = _since(language, program.since.year, program.since.month)
    else:
        when = _period(language, program.period)
    return f"{program.program} ({when})"


def result_rows_html(rows: list[ResultRow]) -> SafeString:
    """The `<tr>` elements of the result table, each value escaped (html.escape: what Django's escape does,
    without its lazy-text wrappers, for the sixty values of a full result)."""
    return mark_safe("\n".join(  # noqa: S308 - every value escaped here
        f"<tr data-recipient><td>{html.escape(r.masked_name)}</td><td>{html.escape(r.age)}</td>"
        f"<td>{html.escape(r.programs)}</td></tr>" for r in rows))


def result_rows(results: list[PublicRecipient]) -> list[ResultRow]:
    """The rows of the result table in the active language (texts per language made once per process)."""
    language = get_language() or ""
    return [
        ResultRow(
            masked_name=r.masked_name,
            age=_age_text(language, r.age),
            programs=", ".join(_program_text(p, language) for p in r.programs),
        )
        for r in results
    ]
