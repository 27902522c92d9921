"""The dashboard's panels as tables: one `Table` per chart (or map), the single source of the HTML table, the
chart's data and the CSV download, so the three always show the same numbers.

A cell holds a raw value (int, float, str or None); `Column.kind` says how to show it: "int", "pct" (a 0-1
share, shown and exported as a percentage with one decimal), "days" (one decimal), "rupiah" or "text".
`csv_value` is what the CSV and the table's `data-value` attribute carry."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from dtsen.dashboards.aggregates import POOR_DESIL_MAX, Dashboard, DesilPanel
from dtsen.ranking.models import NotRankableReason
from dtsen.updates.models import SubmissionStatus, UsulanStatus, VisitStatus, Workflow


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "int"  # int | pct | days | rupiah | text


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    note: str = ""
    links: list[str] = field(default_factory=list)  # per row: a region code to drill into ("" = none)
    chart: dict[str, Any] | None = None  # Chart.js data: {type, labels, datasets: [{label, data}], ...}

    def csv_rows(self) -> list[list[str]]:
        return [[col.label for col in self.columns],
                *[[csv_value(v, col.kind) for v, col in zip(row, self.columns, strict=True)] for row in self.rows]]


def csv_value(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "pct":
        return f"{value * 100:.1f}"
    if kind == "days":
        return f"{value:.1f}"
    return str(value)


def csv_bytes(table: Table) -> bytes:
    """UTF-8 with a byte-order mark (spreadsheets then read the region names right), CRLF like the BNBA files."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(table.csv_rows())
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _bar(labels: list[Any], datasets: list[tuple[str, list[Any]]], *, horizontal: bool = False,
         stacked: bool = False, fmt: str = "int") -> dict[str, Any]:
    return {"type": "bar", "labels": labels, "horizontal": horizontal, "stacked": stacked, "format": fmt,
            "datasets": [{"label": label, "data": data} for label, data in datasets]}


# ----------------------------------------------------------------------------------------------- panels


def desil_table(d: DesilPanel) -> Table:
    current = _("Families, %(period)s") % {"period": d.period} if d.period else _("Families")
    previous = _("Families, %(period)s") % {"period": d.previous_period} if d.previous_period else _("Previous run")
    rows: list[list[Any]] = []
    for i in range(10):
        rows.append([i + 1, d.current[i], d.previous[i] if d.previous_period else None,
                     d.change[i] if d.previous_period else None,
                     d.current[i] / d.total if d.total else None])
    columns = [Column("desil", _("Desil"), "int"), Column("families", current), Column("previous", previous),
               Column("change", _("Change")), Column("share", _("Share"), "pct")]
    datasets = [(current, d.current)]
    if d.previous_period:
        datasets.append((previous, d.previous))
    return Table("desil", _("Families per desil"), columns, rows,
                 note=_("Desil 1 is the poorest tenth of the population (person-weighted national ranking)."),
                 chart=_bar([str(i) for i in range(1, 11)], datasets))


def transition_table(d: DesilPanel) -> Table:
    columns = [Column("previous_desil", _("Previous desil"), "text"),
               *[Column(f"d{i}", _("Now %(n)s") % {"n": i}) for i in range(1, 11)], Column("total", _("Total"))]
    rows = [[str(p + 1), *d.transitions[p], sum(d.transitions[p])] for p in range(10)]
    rows.append([_("New (no previous desil)"), *([None] * 10), d.entered])
    moved = [[_("Moved to a higher desil"), d.moved_up], [_("Same desil"), d.same],
             [_("Moved to a lower desil"), d.moved_down], [_("New (no previous desil)"), d.entered]]
    table = Table("transitions", _("Movement between desil since the previous run"), columns, rows,
                  note=_("Families ranked in both runs, by their desil in the previous run (rows) and now (columns)."),
                  chart=_bar([m[0] for m in moved], [(_("Families"), [m[1] for m in moved])], horizontal=True))
    return table


def region_table(dash: Dashboard) -> Table:
    d = dash.desil
    columns = [Column("region", _("Region"), "text"), Column("code", _("Code"), "text"),
               Column("families", _("Ranked families")),
               Column("poor_share", _("Share in desil 1-%(n)s") % {"n": POOR_DESIL_MAX}, "pct"),
               *[Column(f"d{i}", _("Desil %(n)s") % {"n": i}) for i in range(1, 11)]]
    rows: list[list[Any]] = []
    links: list[str] = []
    children = dash.region.children or []
    for child in children:
        counts = d.by_child.get(child.code, [0] * 10)
        total = sum(counts)
        rows.append([child.name, child.code, total, sum(counts[:POOR_DESIL_MAX]) / total if total else None,
                     *counts])
        links.append(child.code)
    return Table("regions", _("Desil by region"), columns, rows, links=links,
                 note=_("One row per region one level down; open a region to see its own dashboard."))


def program_table(dash: Dashboard) -> Table:
    p = dash.programs
    columns = [Column("program", _("Program"), "text"), Column("code", _("Code"), "text"),
               Column("desil_range", _("Desil range"), "text"),
               Column("members", _("Active members (families)")),
               Column("selected", _("Selected")), Column("waiting", _("Waiting list")),
               Column("ratified", _("Ratified")),
               Column("target", _("Families in desil range")),
               Column("coverage", _("Coverage of the desil range"), "pct"),
               Column("cost_selected", _("Yearly cost of the selected (Rp)"), "rupiah"),
               Column("cost_ratified", _("Yearly cost of the ratified (Rp)"), "rupiah")]
    rows = [[r.name, r.code, f"{r.desil_min}-{r.desil_max}" if r.desil_min else "", r.members, r.selected,
             r.waiting, r.ratified, r.target_families, r.member_coverage, r.selected_per_year, r.ratified_per_year]
            for r in p.programs]
    labels = [r.code.upper().replace("_", "-") for r in p.programs]
    return Table("programs", _("Program coverage and cost"), columns, rows,
                 note=_("Selected and ratified: the eligibility run %(period)s; coverage: active members as a "
                        "share of the ranked families in the program's desil range; cost: the amounts of the "
                        "rules per tahap times the tahap per year.") % {"period": p.eligibility_period or "-"},
                 chart=_bar(labels, [(_("Active members (families)"), [r.members for r in p.programs]),
                                     (_("Selected"), [r.selected for r in p.programs]),
                                     (_("Families in desil range"), [r.target_families for r in p.programs])]))


def _status_label(workflow: str, status: str) -> str:
    choices = {"usulan": UsulanStatus, "pengajuan": SubmissionStatus, "kunjungan": VisitStatus}[workflow]
    return str(dict(choices.choices).get(status, status))


def queue_table(dash: Dashboard) -> Table:
    workflows = dict(Workflow.choices)
    columns = [Column("workflow", _("Workflow"), "text"), Column("status", _("Status"), "text"),
               Column("open", _("Open")), Column("median_days", _("Median age (days)"), "days"),
               Column("oldest_days", _("Oldest (days)")), Column("overdue", _("Overdue"))]
    rows = [[str(workflows.get(q.workflow, q.workflow)), _status_label(q.workflow, q.status), q.open, q.median_days,
             q.oldest_days, q.overdue] for q in dash.queues]
    labels = [f"{r[0]}: {r[1]}" for r in rows]
    return Table("queues", _("Queues"), columns, rows,
                 note=_("Age: days since the item entered its status (visits: since assigned). Overdue: past the "
                        "deadline of the monthly schedule (usulan), 30 days (citizen submissions) or the due date "
                        "(visits)."),
                 chart=_bar(labels, [(_("Open"), [q.open for q in dash.queues]),
                                     (_("Overdue"), [q.overdue for q in dash.queues])], horizontal=True))


def worker_table(dash: Dashboard) -> Table:
    columns = [Column("worker", _("Social worker"), "text"), Column("username", _("Username"), "text"),
               Column("assigned", _("Assigned")), Column("done", _("Done")), Column("open", _("Open")),
               Column("overdue", _("Overdue")), Column("done_late", _("Done late"))]
    rows = [[w.name, w.username, w.assigned, w.done, w.open, w.overdue, w.done_late] for w in dash.workers]
    return Table("workers", _("Verification progress per worker"), columns, rows,
                 note=_("Visits to families of this region, cancelled visits left out."),
                 chart=_bar([w.username for w in dash.workers],
                            [(_("Done"), [w.done for w in dash.workers]),
                             (_("Open, on time"), [w.open - w.overdue for w in dash.workers]),
                             (_("Overdue"), [w.overdue for w in dash.workers])], horizontal=True, stacked=True))


def quality_table(dash: Dashboard) -> Table:
    q = dash.quality
    ranked = dash.desil.total
    reasons = dict(NotRankableReason.choices)
    items: list[tuple[str, int, int | None]] = [
        (_("Families not rankable (latest run)"), q.not_rankable, ranked + q.not_rankable),
        *[(_("Not rankable: %(reason)s") % {"reason": reasons.get(k, k)}, n, None)
          for k, n in q.not_rankable_by_reason.items()],
        (_("NIK disagrees with birth date or sex"), q.nik_inconsistent, q.persons),
        (_("NIK not matched with Dukcapil"), q.not_matched, q.persons),
        (_("NIK not yet matched with Dukcapil"), q.not_yet_matched, q.persons),
        (_("Families sharing a KK number with another active family"), q.shared_kk, q.families),
        (_("Persons whose NIK is also in another active family"), q.shared_nik, q.persons),
        (_("Families closed as duplicate records"), q.removed_duplicate_families, None),
        (_("Persons closed as duplicate records"), q.removed_duplicate_persons, None),
    ]
    columns = [Column("indicator", _("Indicator"), "text"), Column("count", _("Count")),
               Column("of", _("Out of")), Column("share", _("Share"), "pct")]
    rows = [[label, n, of, n / of if of else None] for label, n, of in items]
    return Table("quality", _("Data quality"), columns, rows,
                 note=_("What the registry and the latest ranking run already flag; suspected duplicates are exact "
                        "shared KK numbers or NIKs, not a record-linkage result."),
                 chart=_bar([r[0] for r in rows], [(_("Count"), [r[1] for r in rows])], horizontal=True))


def map_table(dash: Dashboard) -> Table | None:
    m = dash.map
    if m is None:
        return None
    columns = [Column("region", _("Region"), "text"), Column("code", _("Code"), "text"),
               Column("families", _("Ranked families")),
               Column("poor_share", _("Share in desil 1-%(n)s") % {"n": POOR_DESIL_MAX}, "pct")]
    rows = [[m.names.get(code, code), code, m.families[code], m.values[code]] for code in sorted(m.values)]
    return Table("map", _("Map: share of families in desil 1-%(n)s") % {"n": POOR_DESIL_MAX}, columns, rows)


def dashboard_tables(dash: Dashboard) -> dict[str, Table]:
    tables = {
        "desil": desil_table(dash.desil),
        "transitions": transition_table(dash.desil),
        "regions": region_table(dash),
        "programs": program_table(dash),
        "queues": queue_table(dash),
        "workers": worker_table(dash),
        "quality": quality_table(dash),
    }
    mt = map_table(dash)
    if mt is not None:
        tables["map"] = mt
    if not dash.region.children:
        del tables["regions"]
    return tables
