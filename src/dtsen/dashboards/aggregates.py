"""Staff dashboards (issue 7 item 4): aggregate counts of one region, scoped by role and region.

Every function takes the acting user and starts from `scope_for(actor, DASHBOARD_VIEW)`: the region asked for
must lie inside one of the actor's regions (a Dinsos user sees their kabupaten and below, a provincial viewer
their province, Pusdatin/BPS the nation); anything else is refused with `PermissionDenied`, never shown
empty. Only counts, sums and ages leave this module: no names, NIK, family ids or family codes (the worker
panel names staff users, who are not registrants). docs/dashboards.md says what each number counts.

Sources (the models of the apps that own the data; nothing here is stored):
- desil: `ranking.RankingResult` of the latest finished `RankingRun` and of its previous run, and the
  `previous_desil` the run stored per family (the transition matrix);
- programs: `programs.Membership` (active kepesertaan), `EligibilityResult` of the latest finished,
  non-simulation `EligibilityRun` (selected, waiting), `Disbursement` of that run's decrees (ratified), and the
  amounts and desil ranges of the rules the run used (`programs.rules`);
- queues: `updates.Usulan`, `Submission` and `Visit` with the deadlines of `updates.schedule`;
- data quality: `NotRankable` of the latest run and the registry's own flags on `Person` / `Family`
  (`nik_consistent`, `padan_status`, shared KK numbers and NIKs as the eligibility inputs define them).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, Sum
from django.db.models.functions import Substr
from django.utils import timezone

from dtsen.accounts.permissions import DASHBOARD_VIEW
from dtsen.accounts.selectors import Actor, Scope, scope_for
from dtsen.audit.services import audit_read
from dtsen.core.errors import PermissionDenied, ValidationFailed
from dtsen.programs.models import (
    Disbursement,
    EligibilityResult,
    EligibilityRun,
    Membership,
    MembershipStatus,
    Outcome,
)
from dtsen.programs.models import RunStatus as EligibilityStatus
from dtsen.programs.rules import ProgramRule, RuleSet, rules_default, rules_parse
from dtsen.ranking.models import NotRankable, RankingResult, RankingRun, RunStatus
from dtsen.regions.errors import RegionNotFound
from dtsen.regions.models import Region
from dtsen.regions.selectors import region_ancestors, region_children, region_get, region_subtree_filter
from dtsen.registry import choices as c
from dtsen.registry.models import Family, Person
from dtsen.updates.models import (
    Submission,
    SubmissionStatus,
    Usulan,
    UsulanStatus,
    Visit,
    VisitStatus,
)
from dtsen.updates.schedule import deadline_for

DESILS = tuple(range(1, 11))
POOR_DESIL_MAX = 4  # the map's metric: share of ranked families in desil 1-4
# Citizen submissions have no day in the monthly calendar: the staff work queue gives them 30 days from
# their last status change (updates.selectors.work_queue); the dashboard uses the same.
SUBMISSION_DAYS = 30
# Length of a child code below a code of each length: nation -> "PP" -> "PP.KK" -> "PP.KK.CC" -> village.
CHILD_LENGTH = {0: 2, 2: 5, 5: 8, 8: 13}
USULAN_FINAL = frozenset({UsulanStatus.MUSDES_REJECTED, UsulanStatus.NOT_ELIGIBLE, UsulanStatus.APPLIED,
                          UsulanStatus.CANCELLED})
SUBMISSION_OPEN = (SubmissionStatus.SUBMITTED, SubmissionStatus.FIELD_CHECK, SubmissionStatus.VERIFIED)

_REFUSED = ("Wilayah ini di luar wilayah tugas Anda.", "This region is outside your regions.")


# ------------------------------------------------------------------------------------------ the region


@dataclass(frozen=True)
class Place:
    code: str
    name: str


@dataclass
class RegionView:
    """The region shown, where it sits, which children can be opened and the actor's own roots."""

    code: str  # "" = Indonesia
    name: str
    level: int  # 0 nation, 1 province, 2 kabupaten/kota, 3 kecamatan, 4 desa/kelurahan
    trail: list[Place]  # the covered ancestors above it (links up, never above the actor's regions)
    children: list[Place]
    roots: list[Place]  # the actor's regions (several for a user with several assignments)
    national: bool


def dashboard_scope(actor: Actor) -> Scope:
    scope = scope_for(actor, DASHBOARD_VIEW)
    if scope.empty:
        raise PermissionDenied("Anda tidak berwenang membuka dasbor.", "You are not allowed to open the dashboards.")
    return scope


def _names(codes: Iterable[str]) -> dict[str, str]:
    return dict(Region.objects.filter(code__in=list(codes)).values_list("code", "name"))


def region_view(*, actor: Actor, code: str = "") -> RegionView:
    """The region `code` if the actor may see it (its default: the actor's first region, or the nation)."""
    return _region_view(dashboard_scope(actor), code)


def _region_view(scope: Scope, code: str) -> RegionView:
    code = (code or "").strip()
    if not code:
        code = "" if scope.national else scope.prefixes[0]
    if code and not _valid_code(code):
        raise ValidationFailed("Kode wilayah tidak valid.", "Invalid region code.", field="region")
    if not scope.covers(code):
        raise PermissionDenied(*_REFUSED)
    try:
        name = region_get(code).name if code else "Indonesia"
    except RegionNotFound:
        raise ValidationFailed("Wilayah tidak ditemukan.", "Region not found.", field="region") from None
    trail = [Place(r.code, r.name) for r in region_ancestors(code)[:-1] if scope.covers(r.code)] if code else []
    if code and scope.national:
        trail.insert(0, Place("", "Indonesia"))
    children = [Place(r.code, r.name) for r in region_children(code)] if len(code) in CHILD_LENGTH else []
    roots_names = _names(scope.prefixes)
    roots = [Place("", "Indonesia")] if scope.national else [Place(p, roots_names.get(p, p)) for p in scope.prefixes]
    level = len(code.split(".")) if code else 0
    return RegionView(code=code, name=name, level=level, trail=trail, children=children, roots=roots,
                      national=scope.national)


def _valid_code(code: str) -> bool:
    parts = code.split(".")
    widths = [2, 2, 2, 4]
    return 1 <= len(parts) <= 4 and all(p.isdigit() and len(p) == widths[i] for i, p in enumerate(parts))


def _grouped(qs: Any, field_name: str, code: str, *keys: str, measure: Any = None) -> list[dict[str, Any]]:
    """Rows of {child, *keys, n} over the subtree of `code`; child = the code one level down (or `code`)."""
    qs = qs.filter(region_subtree_filter(code, field=field_name))
    length = CHILD_LENGTH.get(len(code))
    if length:
        qs = qs.annotate(child=Substr(field_name, 1, length))
        group = ["child", *keys]
    else:
        group = list(keys)
    rows = list(qs.values(*group).annotate(n=measure if measure is not None else Count("pk")).order_by())
    for row in rows:
        row.setdefault("child", code)
        row["n"] = int(row["n"] or 0)
    return rows


# -------------------------------------------------------------------------------------------- 1. desil


@dataclass
class DesilPanel:
    period: str | None
    previous_period: str | None
    current: list[int]  # families per desil 1..10 in the latest run
    previous: list[int]  # the same in the previous run (its own village codes)
    by_child: dict[str, list[int]]  # child code -> families per desil, latest run
    transitions: list[list[int]]  # [previous desil - 1][current desil - 1]: families ranked in both runs
    entered: int  # ranked now, without a desil in the previous run

    @property
    def change(self) -> list[int]:
        return [a - b for a, b in zip(self.current, self.previous, strict=True)]

    @property
    def total(self) -> int:
        return sum(self.current)

    @property
    def moved_up(self) -> int:
        """Families now in a higher desil (better off) than in the previous run."""
        return sum(self.transitions[p][q] for p in range(10) for q in range(10) if q > p)

    @property
    def moved_down(self) -> int:
        return sum(self.transitions[p][q] for p in range(10) for q in range(10) if q < p)

    @property
    def same(self) -> int:
        return sum(self.transitions[p][p] for p in range(10))


def latest_ranking() -> RankingRun | None:
    return RankingRun.objects.filter(status=RunStatus.FINISHED).order_by("-finished_at", "-pk").first()


def _previous_ranking(run: RankingRun) -> RankingRun | None:
    if run.previous_run_id is not None:
        return RankingRun.objects.filter(pk=run.previous_run_id, status=RunStatus.FINISHED).first()
    return (RankingRun.objects.filter(status=RunStatus.FINISHED, finished_at__lt=run.finished_at)
            .order_by("-finished_at", "-pk").first())


def _per_desil(rows: list[dict[str, Any]]) -> list[int]:
    out = [0] * 10
    for row in rows:
        if 1 <= row["desil"] <= 10:
            out[row["desil"] - 1] += row["n"]
    return out


def desil_panel(*, actor: Actor, code: str) -> DesilPanel:
    region_view_check(actor, code)
    return _desil(code, latest_ranking())


def _desil(code: str, run: RankingRun | None) -> DesilPanel:
    empty = DesilPanel(None, None, [0] * 10, [0] * 10, {}, [[0] * 10 for _ in range(10)], 0)
    if run is None:
        return empty
    rows = _grouped(RankingResult.objects.filter(run=run), "village_code", code, "desil")
    by_child: dict[str, list[int]] = defaultdict(lambda: [0] * 10)
    for row in rows:
        if 1 <= row["desil"] <= 10:
            by_child[row["child"]][row["desil"] - 1] += row["n"]
    previous_run = _previous_ranking(run)
    previous = [0] * 10
    transitions = [[0] * 10 for _ in range(10)]
    entered = 0
    if previous_run is not None:
        previous = _per_desil(_grouped(RankingResult.objects.filter(run=previous_run), "village_code", code,
                                       "desil"))
    moved = (RankingResult.objects.filter(run=run).filter(region_subtree_filter(code, field="village_code"))
             .values("previous_desil", "desil").annotate(n=Count("pk")).order_by())
    for row in moved:
        if row["previous_desil"] is None:
            entered += row["n"]
        elif 1 <= row["previous_desil"] <= 10 and 1 <= row["desil"] <= 10:
            transitions[row["previous_desil"] - 1][row["desil"] - 1] += row["n"]
    return DesilPanel(run.period, previous_run.period if previous_run else None, _per_desil(rows), previous,
                      dict(by_child), transitions, entered)


def region_view_check(actor: Actor, code: str) -> Scope:
    scope = dashboard_scope(actor)
    if not scope.covers(code):
        raise PermissionDenied(*_REFUSED)
    return scope


# ----------------------------------------------------------------------------------------- 2. programs


@dataclass
class ProgramRow:
    code: str
    name: str
    unit: str  # "family" | "person"
    desil_min: int
    desil_max: int
    tahap_per_year: int
    members: int = 0  # families with an active membership (kepesertaan)
    selected: int = 0  # selected in the latest eligibility run (families or persons, per the unit)
    waiting: int = 0
    ratified: int = 0  # beneficiaries of that run's decrees (one disbursement each)
    target_families: int = 0  # ranked families in the program's desil range
    selected_per_tahap: int = 0  # Rupiah
    ratified_per_tahap: int = 0

    @property
    def selected_per_year(self) -> int:
        return self.selected_per_tahap * self.tahap_per_year

    @property
    def ratified_per_year(self) -> int:
        return self.ratified_per_tahap * self.tahap_per_year

    @property
    def member_coverage(self) -> float | None:
        return self.members / self.target_families if self.target_families else None


@dataclass
class ProgramPanel:
    eligibility_period: str | None
    edition: str | None
    programs: list[ProgramRow]


def latest_eligibility() -> EligibilityRun | None:
    return (EligibilityRun.objects.filter(status=EligibilityStatus.FINISHED, simulation=False)
            .order_by("-finished_at", "-pk").first())


def _rules_of(run: EligibilityRun | None) -> RuleSet:
    if run is not None:
        try:
            return rules_parse(run.rules_text)
        except ValidationFailed:  # a run without readable rules: the shipped edition's programs and amounts
            return rules_default()
    return rules_default()


def _row_of(rule: ProgramRule) -> ProgramRow:
    return ProgramRow(rule.code, rule.name, rule.unit, rule.desil_min, rule.desil_max, len(rule.months) or 1)


def program_panel(*, actor: Actor, code: str) -> ProgramPanel:
    region_view_check(actor, code)
    return _programs(code, _desil(code, latest_ranking()))


def _programs(code: str, desil: DesilPanel) -> ProgramPanel:
    """`desil` gives the ranked families per desil of the region (the denominators of coverage)."""
    run = latest_eligibility()
    rules = _rules_of(run)
    rows = {rule.code: _row_of(rule) for rule in rules.by_priority()}
    subtree = region_subtree_filter(code, field="village_code")
    members = (Membership.objects.filter(status=MembershipStatus.ACTIVE)
               .filter(region_subtree_filter(code, field="family__village_code"))
               .values("program").annotate(n=Count("family_id", distinct=True)).order_by())
    for m in members:
        row = rows.get(m["program"])
        if row is None:  # a membership of a program the rules no longer list
            row = rows[m["program"]] = ProgramRow(m["program"], m["program"], "family", 0, 0, 1)
        row.members += m["n"]
    if run is not None:
        for r in (EligibilityResult.objects.filter(run=run).filter(subtree)
                  .filter(outcome__in=(Outcome.SELECTED, Outcome.WAITING))
                  .values("program", "outcome").annotate(n=Count("pk"), total=Sum("amount")).order_by()):
            row = rows.get(r["program"])
            if row is None:
                continue
            if r["outcome"] == Outcome.SELECTED:
                row.selected += r["n"]
                row.selected_per_tahap += int(r["total"] or 0)
            else:
                row.waiting += r["n"]
        for d in (Disbursement.objects.filter(decree__run=run).filter(subtree)
                  .values("decree__program").annotate(n=Count("pk"), total=Sum("amount")).order_by()):
            row = rows.get(d["decree__program"])
            if row is not None:
                row.ratified += d["n"]
                row.ratified_per_tahap += int(d["total"] or 0)
    for row in rows.values():
        if row.desil_min:
            row.target_families = sum(desil.current[row.desil_min - 1:row.desil_max])
    return ProgramPanel(run.period if run else None, run.edition if run else None, list(rows.values()))


# ------------------------------------------------------------------------------------------- 3. queues


@dataclass
class QueueRow:
    workflow: str  # "usulan" | "pengajuan" | "kunjungan"
    status: str
    open: int
    median_days: float | None
    oldest_days: int | None
    overdue: int


def _ages(today: dt.date, days: list[dt.date]) -> tuple[float | None, int | None]:
    ages = [(today - d).days for d in days]
    if not ages:
        return None, None
    return float(statistics.median(ages)), max(ages)


class _Deadlines:
    """`schedule.deadline_for(status, since)` with two lookups per status and month instead of per day.

    Within a month M the deadline of an item is that status's day of M when the item entered the status on or
    before it, else the day of the next month: both are `deadline_for` of the first day of M and of M + 1."""

    def __init__(self) -> None:
        self._first: dict[tuple[str, dt.date], dt.date | None] = {}

    def _of_month(self, status: str, first: dt.date) -> dt.date | None:
        key = (status, first)
        if key not in self._first:
            self._first[key] = deadline_for(status, first)
        return self._first[key]

    def __call__(self, status: str, since: dt.date) -> dt.date | None:
        first = since.replace(day=1)
        day = self._of_month(status, first)
        if day is None or since <= day:
            return day
        return self._of_month(status, (first + dt.timedelta(days=32)).replace(day=1))


def _local_date(value: dt.datetime) -> dt.date:
    return timezone.localtime(value).date()


def queue_panel(*, actor: Actor, code: str, today: dt.date | None = None) -> list[QueueRow]:
    """Open items per workflow and status: how many, how old (days since they entered the status; visits:
    since assigned), and how many are past their deadline (usulan: updates.schedule; submissions: 30 days;
    visits: their due date)."""
    region_view_check(actor, code)
    return _queues(code, today or timezone.localdate())


def _queues(code: str, today: dt.date) -> list[QueueRow]:
    subtree = region_subtree_filter(code, field="village_code")
    out: list[QueueRow] = []
    deadline = _Deadlines()
    usulan: dict[str, list[dt.date]] = defaultdict(list)
    for status, changed in (Usulan.objects.filter(subtree).exclude(status__in=USULAN_FINAL)
                            .values_list("status", "status_changed_at")):
        usulan[status].append(_local_date(changed))
    for status in UsulanStatus.values:
        if status not in usulan:
            continue
        days = usulan[status]
        median, oldest = _ages(today, days)
        overdue = 0
        for d in days:
            due = deadline(status, d)
            overdue += bool(due and due < today)
        out.append(QueueRow("usulan", status, len(days), median, oldest, overdue))
    submissions: dict[str, list[dt.date]] = defaultdict(list)
    for status, changed in (Submission.objects.filter(subtree).filter(status__in=SUBMISSION_OPEN)
                            .values_list("status", "status_changed_at")):
        submissions[status].append(_local_date(changed))
    for status in SUBMISSION_OPEN:
        if status not in submissions:
            continue
        days = submissions[status]
        median, oldest = _ages(today, days)
        overdue = sum(1 for d in days if d + dt.timedelta(days=SUBMISSION_DAYS) < today)
        out.append(QueueRow("pengajuan", status, len(days), median, oldest, overdue))
    visits = list(Visit.objects.filter(subtree).filter(status=VisitStatus.ASSIGNED)
                  .values_list("assigned_at", "due_on"))
    if visits:
        median, oldest = _ages(today, [_local_date(a) for a, _ in visits])
        out.append(QueueRow("kunjungan", VisitStatus.ASSIGNED, len(visits), median, oldest,
                            sum(1 for _, due in visits if due < today)))
    return out


# ------------------------------------------------------------------------------------------ 4. workers


@dataclass
class WorkerRow:
    user_id: int
    username: str
    name: str
    assigned: int  # every visit ever assigned in the region (not cancelled)
    done: int
    open: int
    overdue: int  # open and past the due date
    done_late: int  # done after the due date


def worker_panel(*, actor: Actor, code: str, today: dt.date | None = None) -> list[WorkerRow]:
    """Verification visits per social worker, counted over the visits of villages in the region."""
    region_view_check(actor, code)
    return _workers(code, today or timezone.localdate())


def _workers(code: str, today: dt.date) -> list[WorkerRow]:
    rows: dict[int, dict[str, int]] = defaultdict(lambda: {"done": 0, "open": 0, "overdue": 0, "done_late": 0})
    visits = (Visit.objects.filter(region_subtree_filter(code, field="village_code"))
              .exclude(status=VisitStatus.CANCELLED).values_list("assigned_to_id", "status", "due_on", "visited_on"))
    for user_id, status, due, visited in visits:
        row = rows[user_id]
        if status == VisitStatus.DONE:
            row["done"] += 1
            row["done_late"] += bool(visited and visited > due)
        else:
            row["open"] += 1
            row["overdue"] += due < today
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=list(rows))}
    out = []
    for user_id, n in rows.items():
        user = users.get(user_id)
        username = user.get_username() if user else str(user_id)
        name = (user.get_full_name() or username) if user else username
        out.append(WorkerRow(user_id, username, name, n["done"] + n["open"], n["done"], n["open"], n["overdue"],
                             n["done_late"]))
    out.sort(key=lambda r: (-r.overdue, -r.open, r.username))
    return out


# ------------------------------------------------------------------------------------- 5. data quality


@dataclass
class QualityPanel:
    period: str | None
    not_rankable: int  # families of the latest run without a desil (each counted once)
    not_rankable_by_reason: dict[str, int]
    persons: int  # living, active members of active families
    nik_inconsistent: int  # NIK disagrees with the birth date or sex (registry.nik rules)
    not_matched: int  # padan Dukcapil: "tidak_padan"
    not_yet_matched: int  # padan Dukcapil not done: "belum_dipadankan"
    families: int  # active families
    shared_kk: int  # active families whose KK number another active family also has
    shared_nik: int  # living active persons whose NIK is also in another active family
    removed_duplicate_families: int  # families already closed as duplicate records
    removed_duplicate_persons: int


def quality_panel(*, actor: Actor, code: str) -> QualityPanel:
    region_view_check(actor, code)
    return _quality(code, latest_ranking())


def _quality(code: str, run: RankingRun | None) -> QualityPanel:
    not_rankable = 0
    by_reason: dict[str, int] = {}
    if run is not None:
        nr = NotRankable.objects.filter(run=run).filter(region_subtree_filter(code, field="village_code"))
        not_rankable = nr.values("family_id").distinct().count()
        by_reason = {r["reason"]: r["n"] for r in nr.values("reason").annotate(n=Count("pk")).order_by("reason")}
    active = c.RecordStatus.ACTIVE
    duplicate = Q(status=c.RecordStatus.REMOVED, status_reason=c.RemovalReason.DUPLICATE)
    shared_kk_numbers = (Family.objects.filter(status=active).values("kk_number")
                         .annotate(n=Count("pk")).filter(n__gt=1).values("kk_number"))
    shared_niks = (Person.objects.filter(status=active, life_status=c.LifeStatus.ALIVE, family__status=active)
                   .values("nik_hash").annotate(n=Count("family_id", distinct=True)).filter(n__gt=1)
                   .values("nik_hash"))
    fam = Family.objects.filter(region_subtree_filter(code, field="village_code")).aggregate(
        active=Count("pk", filter=Q(status=active)),
        shared_kk=Count("pk", filter=Q(status=active, kk_number__in=shared_kk_numbers)),
        removed_duplicate=Count("pk", filter=duplicate),
    )
    living = Q(status=active, life_status=c.LifeStatus.ALIVE, family__status=active)
    per = Person.objects.filter(region_subtree_filter(code, field="family__village_code")).aggregate(
        n=Count("pk", filter=living),
        inconsistent=Count("pk", filter=living & Q(nik_consistent=False)),
        not_matched=Count("pk", filter=living & Q(padan_status="tidak_padan")),
        not_yet=Count("pk", filter=living & Q(padan_status="belum_dipadankan")),
        shared_nik=Count("pk", filter=living & Q(nik_hash__in=shared_niks)),
        removed_duplicate=Count("pk", filter=duplicate),
    )
    return QualityPanel(
        period=run.period if run else None,
        not_rankable=not_rankable,
        not_rankable_by_reason=by_reason,
        persons=per["n"],
        nik_inconsistent=per["inconsistent"],
        not_matched=per["not_matched"],
        not_yet_matched=per["not_yet"],
        families=fam["active"],
        shared_kk=fam["shared_kk"],
        shared_nik=per["shared_nik"],
        removed_duplicate_families=fam["removed_duplicate"],
        removed_duplicate_persons=per["removed_duplicate"],
    )


# ---------------------------------------------------------------------------------------------- 6. map


@dataclass
class MapData:
    region: str  # whose children the boundaries draw ("" = provinces, a province = its kabupaten/kota)
    values: dict[str, float]  # child code -> share (0-1) of ranked families in desil 1..POOR_DESIL_MAX
    families: dict[str, int]  # child code -> ranked families
    names: dict[str, str]


def map_region(code: str) -> str | None:
    """Whose children the map draws for the region shown: the nation's and a province's own children; a
    kabupaten/kota is shown within its province (only its own value filled); below, no map."""
    if len(code) <= 2:
        return code
    if len(code) == 5:
        return code[:2]
    return None


def map_data(*, actor: Actor, code: str) -> MapData | None:
    """Per child region of `map_region(code)` that the actor's scope covers *entirely* (and that lies within
    `code`): the share of ranked families of the latest run in desil 1-4. None below kabupaten/kota."""
    scope = region_view_check(actor, code)
    return _map(scope, code, _desil(code, latest_ranking()))


def _map(scope: Scope, code: str, desil: DesilPanel) -> MapData | None:
    """From the desil panel of `code`: its children's values, or its own for a kabupaten/kota."""
    parent = map_region(code)
    if parent is None:
        return None
    counts = desil.by_child if parent == code else {code: desil.current}
    values: dict[str, float] = {}
    families: dict[str, int] = {}
    for child, per_desil in counts.items():
        n = sum(per_desil)
        if n and scope.covers(child):
            values[child] = sum(per_desil[:POOR_DESIL_MAX]) / n
            families[child] = n
    return MapData(region=parent, values=values, families=families, names=_names(values))


# ----------------------------------------------------------------------------------------- the audit


def dashboard_audit(*, actor: Actor, code: str, export: str = "") -> None:
    """One audit record per dashboard page or CSV download (aggregates only: no person ids)."""
    region_view_check(actor, code)
    audit_read(actor=actor, object_type="dashboard", object_id=f"{code or 'nasional'}{':' + export if export else ''}",
               action="export" if export else "view")


@dataclass
class Dashboard:
    region: RegionView
    desil: DesilPanel
    programs: ProgramPanel
    queues: list[QueueRow]
    workers: list[WorkerRow]
    quality: QualityPanel
    map: MapData | None
    today: dt.date
    generated_at: dt.datetime = field(default_factory=timezone.now)


def dashboard_get(*, actor: Actor, code: str = "", today: dt.date | None = None) -> Dashboard:
    """Every panel of the region `code` (default: the actor's own region); PermissionDenied outside scope."""
    scope = dashboard_scope(actor)
    region = _region_view(scope, code)
    today = today or timezone.localdate()
    run = latest_ranking()
    desil = _desil(region.code, run)
    return Dashboard(
        region=region,
        desil=desil,
        programs=_programs(region.code, desil),
        queues=_queues(region.code, today),
        workers=_workers(region.code, today),
        quality=_quality(region.code, run),
        map=_map(scope, region.code, desil),
        today=today,
    )
