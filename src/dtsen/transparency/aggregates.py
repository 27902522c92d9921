"""Transparency data: anonymous counts per region and its children, with small counts suppressed.

For a region (the nation "" or any province, kab/kota, kecamatan or village) this module builds four tables,
one row per child region one level down plus a last row for the region itself (the column totals):

- `desil_families` / `desil_persons`: families and persons per desil of the latest finished ranking run,
  with a "total" column;
- `programs`: families with an active membership, per program (no total column: a family may be in several);
- `usulan`: proposals of the formal channel decided / pending, with "received" (= decided + pending) as total;
- `submissions`: citizen submissions (usul/sanggah) decided / pending, with "received" as total.

Only counts leave this module: no names, NIK, family ids or family codes.

Suppression (docs/open-data.md):

1. Primary: every cell whose count is 1-4 is published as `None` with the flag "<5". Zero stays 0; 5 or more
   is shown. For `desil_persons` the rule is applied to the *family* count of the same cell (a persons cell is
   hidden exactly when the families cell is).
2. Complementary: a table's lines are its rows (cells plus the row total, when the table has one) and its
   columns (the child cells plus the region's own cell). Whenever a line has exactly one hidden entry, that
   entry could be recovered by subtraction, so the smallest non-zero shown entry of the line is hidden too
   (flag "c"); repeated until every line has zero or at least two hidden entries.
3. Consistency across pages: the region's own row is the same row the parent region's page shows for it, so
   its hidden cells are taken from the parent's table (computed top-down from the nation) and never
   un-hidden; complementary cells are only added in the child rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import Aggregate, Count, QuerySet, Sum
from django.db.models.functions import Substr
from django.utils import timezone

from dtsen.programs.models import Membership, MembershipStatus
from dtsen.ranking.models import RankingResult, RankingRun, RunStatus
from dtsen.regions.selectors import region_children, region_get, region_subtree_filter
from dtsen.updates.models import Program, Submission, SubmissionStatus, Usulan, UsulanStatus

THRESHOLD = 5
FLAG_SMALL = "<5"
FLAG_COMPLEMENT = "c"
CACHE_SECONDS = 300
DESILS = tuple(range(1, 11))
TABLES = ("desil_families", "desil_persons", "programs", "usulan", "submissions")

USULAN_DECIDED = frozenset({UsulanStatus.APPLIED, UsulanStatus.MUSDES_REJECTED, UsulanStatus.NOT_ELIGIBLE,
                            UsulanStatus.CANCELLED})
SUBMISSION_DECIDED = frozenset({SubmissionStatus.ACCEPTED, SubmissionStatus.REJECTED})

# Length of a child code below a code of each length: nation -> province "PP" -> "PP.KK" -> "PP.KK.CC" -> village.
_CHILD_LENGTH = {0: 2, 2: 5, 5: 8, 8: 13}


@dataclass(frozen=True, slots=True)
class Cell:
    value: int | None
    flag: str = ""  # "" shown, "<5" small count, "c" hidden to protect another cell

    @property
    def suppressed(self) -> bool:
        return self.value is None


@dataclass(slots=True)
class Row:
    code: str
    name: str
    is_region: bool  # the region itself (column totals), not a child
    cells: list[Cell]


@dataclass(slots=True)
class Table:
    id: str
    columns: list[str]  # column keys; the last is "total" when `has_total`
    has_total: bool
    rows: list[Row] = field(default_factory=list)


@dataclass(slots=True)
class Transparency:
    code: str
    name: str
    level: int
    children_level: int | None
    ranking_period: str | None
    generated_at: dt.datetime
    tables: dict[str, Table]


# ---------------------------------------------------------------- suppression (pure, tested directly)


def suppress(
    values: list[list[int]],
    *,
    has_total: bool,
    guide: list[list[int]] | None = None,
    fixed: dict[int, list[str]] | None = None,
) -> list[list[str]]:
    """Flags ("" / "<5" / "c") for a matrix of counts; the rule is in the module docstring.

    `values` are the rows (the region's own row included, conventionally last); with `has_total` the last
    column of every row is the sum of the others. `guide` holds the family counts deciding primary
    suppression when `values` are other counts (persons). `fixed` maps a row index to flags decided
    elsewhere (the parent's table): those rows keep exactly these flags.
    """
    guide = guide if guide is not None else values
    fixed = fixed or {}
    flags = [
        list(fixed[r]) if r in fixed else [FLAG_SMALL if 0 < g < THRESHOLD else "" for g in guide_row]
        for r, guide_row in enumerate(guide)
    ]
    n_rows = len(values)
    n_cols = len(values[0]) if values else 0
    lines: list[list[tuple[int, int]]] = []
    if has_total:
        lines += [[(r, c) for c in range(n_cols)] for r in range(n_rows)]
    if n_rows > 1:
        lines += [[(r, c) for r in range(n_rows)] for c in range(n_cols)]
    changed = True
    while changed:
        changed = False
        for line in lines:
            hidden = [rc for rc in line if flags[rc[0]][rc[1]]]
            if len(hidden) != 1:
                continue
            candidates = [
                rc for rc in line
                if not flags[rc[0]][rc[1]] and guide[rc[0]][rc[1]] > 0 and rc[0] not in fixed
            ]
            if not candidates:
                continue
            r, c = min(candidates, key=lambda rc: (guide[rc[0]][rc[1]], rc))
            flags[r][c] = FLAG_COMPLEMENT
            changed = True
    return flags


def _cells(values: list[int], flags: list[str]) -> list[Cell]:
    return [Cell(None, f) if f else Cell(v) for v, f in zip(values, flags, strict=True)]


# ---------------------------------------------------------------- counting (ORM; anonymous counts only)


def latest_run() -> RankingRun | None:
    return (
        RankingRun.objects.filter(status=RunStatus.FINISHED).order_by("-finished_at", "-pk")
        .only("pk", "period").first()
    )


def _child_length(code: str) -> int | None:
    return _CHILD_LENGTH.get(len(code))


def _grouped(
    qs: QuerySet[Any], village_field: str, code: str, key: str, measure: Aggregate
) -> dict[tuple[str, str], int]:
    """{(child code, key value): measure} over the subtree of `code`; the child is the code's prefix."""
    qs = qs.filter(region_subtree_filter(code, field=village_field))
    length = _child_length(code) or len(code)
    rows = qs.annotate(child=Substr(village_field, 1, length)).values("child", key).annotate(n=measure)
    out: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows.order_by():
        out[(row["child"], str(row[key]))] += int(row["n"] or 0)
    return out


def _counts(code: str, run_id: int | None) -> dict[str, dict[tuple[str, str], int]]:
    counts: dict[str, dict[tuple[str, str], int]] = {}
    if run_id is not None:
        results = RankingResult.objects.filter(run_id=run_id)
        counts["families"] = _grouped(results, "village_code", code, "desil", Count("pk"))
        counts["persons"] = _grouped(results, "village_code", code, "desil", Sum("persons"))
    else:
        counts["families"] = counts["persons"] = {}
    active = Membership.objects.filter(status=MembershipStatus.ACTIVE)
    counts["programs"] = _grouped(active, "family__village_code", code, "program", Count("family_id", distinct=True))
    usulan = Usulan.objects.exclude(status=UsulanStatus.DRAFT)
    counts["usulan"] = _grouped(usulan, "village_code", code, "status", Count("pk"))
    counts["submissions"] = _grouped(Submission.objects.all(), "village_code", code, "status", Count("pk"))
    return counts


def _sum(counts: dict[tuple[str, str], int], child: str, keys: Iterable[str]) -> int:
    return sum(counts.get((child, k), 0) for k in keys)


def _matrices(code: str, child_codes: list[str], run_id: int | None) -> tuple[list[str], dict[str, list[list[int]]]]:
    """Rows (child codes then the region) of raw counts per table; also the program columns."""
    counts = _counts(code, run_id)
    programs = sorted({k for _, k in counts["programs"]} | {p.value for p in Program})
    keys = [*child_codes, None]
    own_codes = child_codes or [code]  # a village has no children: its own row counts its own code

    def rows(metric: str) -> list[list[int]]:
        out = []
        for child in keys:
            children = [child] if child is not None else own_codes
            row = [sum(counts[metric].get((c, str(d)), 0) for c in children) for d in DESILS]
            out.append([*row, sum(row)])
        return out

    def program_rows() -> list[list[int]]:
        out = []
        for child in keys:
            children = [child] if child is not None else own_codes
            out.append([sum(counts["programs"].get((c, p), 0) for c in children) for p in programs])
        return out

    def status_rows(metric: str, decided: frozenset[str]) -> list[list[int]]:
        out = []
        statuses = {k for _, k in counts[metric]}
        for child in keys:
            children = [child] if child is not None else own_codes
            d = sum(_sum(counts[metric], c, statuses & decided) for c in children)
            p = sum(_sum(counts[metric], c, statuses - decided) for c in children)
            out.append([d, p, d + p])
        return out

    return programs, {
        "desil_families": rows("families"),
        "desil_persons": rows("persons"),
        "programs": program_rows(),
        "usulan": status_rows("usulan", frozenset(USULAN_DECIDED)),
        "submissions": status_rows("submissions", frozenset(SUBMISSION_DECIDED)),
    }


# ---------------------------------------------------------------- tables, top-down


def _parent(code: str) -> str | None:
    if not code:
        return None
    return code.rsplit(".", 1)[0] if "." in code else ""


def _build(code: str, run_id: int | None) -> dict[str, object]:
    """The raw tables and flags of `code` (cached); the region's own row inherits its parent's flags."""
    key = f"transparency:v1:{run_id}:{code or 'nation'}"
    hit = cache.get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return, unused-ignore]
    region_name = region_get(code).name if code else "Indonesia"
    children = list(region_children(code).values_list("code", "name")) if _child_length(code) else []
    child_codes = [c for c, _ in children]
    programs, matrices = _matrices(code, child_codes, run_id)
    parent = _parent(code)
    inherited: dict[str, list[str]] = {}
    if parent is not None:
        parent_built = _build(parent, run_id)
        parent_codes: list[str] = parent_built["codes"]  # type: ignore[assignment]
        if code in parent_codes:
            position = parent_codes.index(code)
            inherited = {t: parent_built["flags"][t][position] for t in TABLES}  # type: ignore[index]
    own = len(child_codes)
    flags: dict[str, list[list[str]]] = {}
    for table in ("desil_families", "programs", "usulan", "submissions"):
        fixed = {own: inherited[table]} if table in inherited else None
        flags[table] = suppress(matrices[table], has_total=table != "programs", fixed=fixed)
    flags["desil_persons"] = flags["desil_families"]
    built: dict[str, object] = {
        "name": region_name,
        "codes": [*child_codes, code],
        "names": [*(n for _, n in children), region_name],
        "programs": programs,
        "values": matrices,
        "flags": flags,
    }
    cache.set(key, built, CACHE_SECONDS)
    return built


def transparency_get(code: str) -> Transparency:
    """The published (suppressed) tables of region `code` ("" = Indonesia); RegionNotFound if unknown."""
    code = region_get(code).code if code else ""
    run = latest_run()
    built = _build(code, run.pk if run else None)
    columns = {
        "desil_families": [*(str(d) for d in DESILS), "total"],
        "desil_persons": [*(str(d) for d in DESILS), "total"],
        "programs": list(built["programs"]),  # type: ignore[call-overload]
        "usulan": ["decided", "pending", "received"],
        "submissions": ["decided", "pending", "received"],
    }
    codes: list[str] = built["codes"]  # type: ignore[assignment]
    names: list[str] = built["names"]  # type: ignore[assignment]
    tables: dict[str, Table] = {}
    for t in TABLES:
        table = Table(id=t, columns=columns[t], has_total=t != "programs")
        for i, (row_code, row_name) in enumerate(zip(codes, names, strict=True)):
            table.rows.append(Row(code=row_code, name=row_name, is_region=i == len(codes) - 1,
                                  cells=_cells(built["values"][t][i], built["flags"][t][i])))  # type: ignore[index]
        tables[t] = table
    level = len(code.split(".")) if code else 0
    child_level = level + 1 if _child_length(code) else None
    return Transparency(code=code, name=str(built["name"]), level=level, children_level=child_level,
                        ranking_period=run.period if run else None, generated_at=timezone.now(), tables=tables)


def transparency_dict(data: Transparency) -> dict[str, object]:
    """The JSON document (docs/open-data.md, schema.json)."""
    return {
        "region": {"code": data.code, "name": data.name, "level": data.level},
        "ranking_period": data.ranking_period,
        "generated_at": data.generated_at.isoformat(),
        "suppression": {"threshold": THRESHOLD, "flags": {FLAG_SMALL: "count 1-4", FLAG_COMPLEMENT: "complementary"}},
        "tables": [
            {
                "id": t.id,
                "columns": t.columns,
                "has_total": t.has_total,
                "rows": [
                    {"code": r.code, "name": r.name, "is_region": r.is_region,
                     "cells": [{"value": c.value, "flag": c.flag} for c in r.cells]}
                    for r in t.rows
                ],
            }
            for t in data.tables.values()
        ],
    }


CSV_HEADER = ["table", "region_code", "region_name", "is_region", "column", "value", "flag"]


def transparency_csv_rows(data: Transparency) -> list[list[str]]:
    """Long format: one line per cell (CSV_HEADER first)."""
    out = [CSV_HEADER]
    for t in data.tables.values():
        for r in t.rows:
            for col, c in zip(t.columns, r.cells, strict=True):
                out.append([t.id, r.code, r.name, "1" if r.is_region else "0", col,
                            "" if c.value is None else str(c.value), c.flag])
    return out
