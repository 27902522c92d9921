"""Reads of the programs app, each limited to the actor's role and region."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, Sum

from dtsen.accounts.permissions import PROGRAM_DISBURSE, PROGRAM_RATIFY, PROGRAM_RUN, PROGRAM_VIEW
from dtsen.accounts.selectors import Actor, Scope, require_scope, scope_for
from dtsen.audit.services import audit_read
from dtsen.core.errors import NotFound, PermissionDenied
from dtsen.programs.models import (
    Decree,
    Disbursement,
    DisbursementEvent,
    EligibilityResult,
    EligibilityRun,
    Outcome,
    PayStatus,
    Reason,
    RunStatus,
)
from dtsen.programs.rules import rules_parse
from dtsen.registry.crypto import nik_decrypt, nik_mask

# --- runs, decrees, disbursement and BNBA

_RUN_NOT_FOUND = ("Proses kelayakan tidak ditemukan.", "Eligibility run not found.")
_DECREE_NOT_FOUND = ("SK penetapan tidak ditemukan.", "Beneficiary decree not found.")


def _view(actor: Actor) -> Scope:
    return require_scope(actor, PROGRAM_VIEW)


def _runs(actor: Actor) -> Any:
    _view(actor)
    qs = EligibilityRun.objects.all()
    if scope_for(actor, PROGRAM_RUN).empty:  # simulations are for those who run them, never published
        qs = qs.filter(simulation=False)
    return qs


def run_list(*, actor: Actor, simulation: bool | None = None, limit: int = 50, offset: int = 0) -> list[EligibilityRun]:
    """Eligibility runs, newest first (simulations only for users who may run them)."""
    qs = _runs(actor)
    if simulation is not None:
        qs = qs.filter(simulation=simulation)
    return list(qs.select_related("ranking_run").order_by("-started_at", "-pk")[offset:offset + limit])


def run_get(*, actor: Actor, run_id: int) -> EligibilityRun:
    try:
        return _runs(actor).select_related("ranking_run").get(pk=run_id)
    except (EligibilityRun.DoesNotExist, ValueError, TypeError):
        raise NotFound(*_RUN_NOT_FOUND) from None


def ratifiable_runs(*, actor: Actor, limit: int = 20) -> list[EligibilityRun]:
    """Finished, published runs a ratifier may choose for a decree."""
    require_scope(actor, PROGRAM_RATIFY)
    return list(EligibilityRun.objects.filter(status=RunStatus.FINISHED, simulation=False)
                .order_by("-finished_at", "-pk")[:limit])


def program_names(run: EligibilityRun) -> dict[str, str]:
    """The programs of the rules the run used: code -> name."""
    return {p.code: p.name for p in rules_parse(run.rules_text).programs}


@dataclass
class ProgramSummary:
    code: str
    name: str
    selected: int = 0
    waiting: int = 0
    not_selected: int = 0
    amount: int = 0  # Rupiah per tahap, selected only
    reasons: list[tuple[str, str, int]] = field(default_factory=list)  # (reason, label, count)


@dataclass
class RegionRow:
    region_code: str
    program: str
    selected: int
    waiting: int
    amount: int


@dataclass
class RunSummary:
    programs: list[ProgramSummary]
    regions: list[RegionRow]
    national: bool


def run_summary(*, actor: Actor, run: EligibilityRun) -> RunSummary:
    """Per program: selected, waiting, not selected by reason and the amount; per kabupaten/kota and program the
    selected, waiting and amount. Counted over the results in the actor's region."""
    scope = _view(actor)
    qs = EligibilityResult.objects.filter(run=run).filter(scope.q("village_code"))
    names = program_names(run)
    programs = {code: ProgramSummary(code, name) for code, name in names.items()}
    labels = dict(Reason.choices)
    for row in qs.values("program", "outcome", "reason").annotate(n=Count("pk"), total=Sum("amount")).order_by():
        summary = programs.setdefault(row["program"], ProgramSummary(row["program"], row["program"]))
        if row["outcome"] == Outcome.SELECTED:
            summary.selected += row["n"]
            summary.amount += int(row["total"] or 0)
        elif row["outcome"] == Outcome.WAITING:
            summary.waiting += row["n"]
        else:
            summary.not_selected += row["n"]
            summary.reasons.append((row["reason"], str(labels.get(row["reason"], row["reason"])), row["n"]))
    order = {value: i for i, value in enumerate(Reason.values)}
    for summary in programs.values():
        summary.reasons.sort(key=lambda r: order.get(r[0], 99))
    regions: dict[tuple[str, str], RegionRow] = {}
    for row in (qs.filter(outcome__in=(Outcome.SELECTED, Outcome.WAITING)).values("region_code", "program", "outcome")
                .annotate(n=Count("pk"), total=Sum("amount")).order_by()):
        key = (row["region_code"], row["program"])
        region = regions.setdefault(key, RegionRow(row["region_code"], row["program"], 0, 0, 0))
        if row["outcome"] == Outcome.SELECTED:
            region.selected += row["n"]
            region.amount += int(row["total"] or 0)
        else:
            region.waiting += row["n"]
    return RunSummary(programs=list(programs.values()), regions=[regions[k] for k in sorted(regions)],
                      national=scope.national)


def results_list(
    *,
    actor: Actor,
    run: EligibilityRun,
    program: str = "",
    outcome: str = "",
    reason: str = "",
    region: str = "",
    limit: int = 50,
    offset: int = 0,
) -> list[EligibilityResult]:
    """Result rows of a run in the actor's region, filtered; ordered as decided (program, region, queue)."""
    scope = _view(actor)
    qs = EligibilityResult.objects.filter(run=run).filter(scope.q("village_code")).select_related("family")
    if program:
        qs = qs.filter(program=program)
    if outcome:
        qs = qs.filter(outcome=outcome)
    if reason:
        qs = qs.filter(reason=reason)
    if region:
        qs = qs.filter(Q(village_code=region) | Q(village_code__startswith=region + "."))
    return list(qs.order_by("program", "region_code", "outcome", "queue_no", "waiting_no", "family_id", "person_id",
                            "pk")[offset:offset + limit])


def _decree_q(scope: Scope) -> Q:
    """Decrees whose region shares a village with the scope: national ones, those of a region above a prefix,
    and those inside one."""
    if scope.national:
        return Q()
    q = Q(region_code="") | scope.q("region_code")
    for prefix in scope.prefixes:
        parts = prefix.split(".")
        q |= Q(region_code__in=[".".join(parts[:i]) for i in range(1, len(parts))])
    return q


def decree_list(*, actor: Actor, run: EligibilityRun | None = None, program: str = "", limit: int = 50
                ) -> list[Decree]:
    qs = Decree.objects.filter(_decree_q(_view(actor))).select_related("run", "ratified_by")
    if run is not None:
        qs = qs.filter(run=run)
    if program:
        qs = qs.filter(program=program)
    return list(qs.order_by("-decree_date", "-pk")[:limit])


def decree_get(*, actor: Actor, decree_id: int) -> Decree:
    try:
        return Decree.objects.filter(_decree_q(_view(actor))).select_related("run", "ratified_by").get(pk=decree_id)
    except (Decree.DoesNotExist, ValueError, TypeError):
        raise NotFound(*_DECREE_NOT_FOUND) from None


@dataclass
class VillageRow:
    village_code: str
    count: int
    amount: int
    by_status: dict[str, int]


def decree_villages(*, actor: Actor, decree: Decree) -> list[VillageRow]:
    """Per village of the decree in the actor's region: beneficiaries, amount and count per status."""
    scope = _view(actor)
    out: dict[str, VillageRow] = {}
    for row in (Disbursement.objects.filter(decree=decree).filter(scope.q("village_code"))
                .values("village_code", "status").annotate(n=Count("pk"), total=Sum("amount")).order_by()):
        village = out.setdefault(row["village_code"], VillageRow(row["village_code"], 0, 0, {}))
        village.count += row["n"]
        village.amount += int(row["total"] or 0)
        village.by_status[row["status"]] = row["n"]
    return [out[k] for k in sorted(out)]


def _village(actor: Actor, village_code: str) -> None:
    if not village_code or not _view(actor).covers(village_code):
        raise PermissionDenied("Desa ini di luar wilayah kewenangan Anda.", "This village is outside your region.")


@dataclass(frozen=True)
class BnbaRow:
    """One line of a BNBA list (by name, by address): the recipient and what they are paid. The NIK is masked:
    the full number never leaves this selector."""

    no: int
    disbursement_id: int
    version: int
    family_id: int
    family_code: str
    person_id: int | None  # the recipient (pengurus, or the person of a person program)
    name: str
    nik_masked: str
    address: str
    rt: str
    rw: str
    village_code: str
    components: str
    amount: int
    status: str
    status_label: str
    channel: str
    note: str


def components_text(text: str) -> str:
    """'ibu_hamil:1,sd:2' -> 'ibu hamil 1, sd 2' (PKH components counted for the amount)."""
    parts = []
    for item in (text or "").split(","):
        if item.strip():
            code, _, count = item.partition(":")
            parts.append(f"{code.strip().replace('_', ' ')} {count.strip()}".strip())
    return ", ".join(parts)


def bnba_rows(*, actor: Actor, decree: Decree, village_code: str) -> list[BnbaRow]:
    """The decree's beneficiaries in one village, by address (RW, RT) then name. The recipient of a family
    program is the family's pengurus (else its head); of a person program, the person."""
    _village(actor, village_code)
    statuses = dict(PayStatus.choices)
    qs = (Disbursement.objects.filter(decree=decree, village_code=village_code)
          .select_related("family", "family__pengurus", "family__head", "person", "result"))
    rows = []
    for d in qs:
        family = d.family
        person = d.person or family.pengurus or family.head
        nik = nik_mask(nik_decrypt(person.nik_enc)) if person is not None and person.nik_enc else ""
        rows.append(BnbaRow(
            no=0, disbursement_id=d.pk, version=d.version, family_id=family.pk, family_code=family.family_code,
            person_id=person.pk if person is not None else None, name=person.name if person is not None else "",
            nik_masked=nik, address=family.address, rt=family.rt, rw=family.rw, village_code=d.village_code,
            components=components_text(d.result.components), amount=d.amount, status=d.status,
            status_label=str(statuses.get(d.status, d.status)), channel=d.channel, note=d.note,
        ))
    rows.sort(key=lambda r: (r.rw, r.rt, r.name, r.disbursement_id))
    return [BnbaRow(**{**r.__dict__, "no": i}) for i, r in enumerate(rows, start=1)]


def disbursements(*, actor: Actor, decree: Decree, village: str) -> list[BnbaRow]:
    """The disbursement list of one village for the decree page (names shown: the read is audited)."""
    rows = bnba_rows(actor=actor, decree=decree, village_code=village)
    audit_read(actor=actor, object_type="decree", object_id=f"{decree.pk}:{village}", action="view",
               person_ids=[r.person_id for r in rows if r.person_id])
    return rows


def disbursement_get(*, actor: Actor, disbursement_id: int) -> Disbursement:
    scope = _view(actor)
    try:
        return Disbursement.objects.filter(scope.q("village_code")).select_related("decree").get(pk=disbursement_id)
    except (Disbursement.DoesNotExist, ValueError, TypeError):
        raise NotFound("Data penyaluran tidak ditemukan.", "Disbursement not found.") from None


def disbursement_history(*, actor: Actor, disbursement: Disbursement) -> list[DisbursementEvent]:
    _village(actor, disbursement.village_code)
    return list(DisbursementEvent.objects.filter(disbursement=disbursement).select_related("actor"))


# --- membership and empowerment
# Memberships with their history (program.view), the PPKS records and empowerment activities of a family and
# its members (empower.record), and the progress toward graduation per village and per social pillar
# (program.view). Outside the actor's regions a family, person, record or activity is "not found".

from collections import defaultdict  # noqa: E402

from dtsen.accounts.permissions import EMPOWER_RECORD  # noqa: E402
from dtsen.programs.models import (  # noqa: E402
    ActivityOutcome,
    EmpowermentActivity,
    Membership,
    MembershipEvent,
    MembershipStatus,
    PpksRecord,
)
from dtsen.registry import choices as registry_choices  # noqa: E402
from dtsen.registry.models import Family, Person  # noqa: E402

_FAMILY_NOT_FOUND = ("Keluarga tidak ditemukan.", "Family not found.")


def _family_in(scope: Scope, family_id: Any) -> Family:
    try:
        return Family.objects.filter(scope.q("village_code")).get(pk=int(family_id))
    except (Family.DoesNotExist, ValueError, TypeError):
        raise NotFound(*_FAMILY_NOT_FOUND) from None


@dataclass
class MembershipView:
    membership: Membership
    events: list[MembershipEvent]


def membership_list(*, actor: Actor, family_id: int) -> list[MembershipView]:
    """The family's memberships (one per program) with every change, oldest first."""
    family = _family_in(require_scope(actor, PROGRAM_VIEW), family_id)
    rows = list(Membership.objects.filter(family=family).select_related("decree").order_by("program"))
    events: dict[int, list[MembershipEvent]] = defaultdict(list)
    for ev in MembershipEvent.objects.filter(membership__in=rows).select_related("actor", "decree"):
        events[ev.membership_id].append(ev)
    return [MembershipView(m, events[m.pk]) for m in rows]


def membership_get(*, actor: Actor, membership_id: int) -> Membership:
    scope = require_scope(actor, PROGRAM_VIEW)
    try:
        return Membership.objects.filter(scope.q("family__village_code")).select_related("family").get(
            pk=int(membership_id))
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise NotFound("Kepesertaan tidak ditemukan.", "Membership not found.") from None


@dataclass
class EmpowerMember:
    person: Person
    ppks: list[PpksRecord]


@dataclass
class EmpowerFamily:
    family: Family
    members: list[EmpowerMember]
    activities: list[EmpowermentActivity]
    memberships: list[Membership]


def empower_family(*, actor: Actor, family_id: Any) -> EmpowerFamily:
    """A family in the actor's empower.record regions: its living members with their PPKS records, its
    empowerment activities (newest first) and its program memberships."""
    family = _family_in(require_scope(actor, EMPOWER_RECORD), family_id)
    people = list(Person.objects.filter(family=family, status=registry_choices.RecordStatus.ACTIVE,
                                        life_status=registry_choices.LifeStatus.ALIVE).order_by("birth_date", "pk"))
    records: dict[int, list[PpksRecord]] = defaultdict(list)
    for rec in PpksRecord.objects.filter(person__in=people).order_by("-observed_on", "-pk"):
        records[rec.person_id].append(rec)
    return EmpowerFamily(
        family=family,
        members=[EmpowerMember(p, records[p.pk]) for p in people],
        activities=list(EmpowermentActivity.objects.filter(family=family).order_by("-started_on", "-pk")),
        memberships=list(Membership.objects.filter(family=family).order_by("program")),
    )


def empower_person_get(*, actor: Actor, person_id: Any) -> Person:
    scope = require_scope(actor, EMPOWER_RECORD)
    try:
        return Person.objects.filter(scope.q("family__village_code")).select_related("family").get(pk=int(person_id))
    except (Person.DoesNotExist, ValueError, TypeError):
        raise NotFound("Orang tidak ditemukan.", "Person not found.") from None


def ppks_record_get(*, actor: Actor, record_id: Any) -> PpksRecord:
    scope = require_scope(actor, EMPOWER_RECORD)
    try:
        return PpksRecord.objects.filter(scope.q("person__family__village_code")).select_related(
            "person__family").get(pk=int(record_id))
    except (PpksRecord.DoesNotExist, ValueError, TypeError):
        raise NotFound("Catatan PPKS tidak ditemukan.", "PPKS record not found.") from None


def empowerment_activity_get(*, actor: Actor, activity_id: Any) -> EmpowermentActivity:
    scope = require_scope(actor, EMPOWER_RECORD)
    try:
        return EmpowermentActivity.objects.filter(scope.q("village_code")).get(pk=int(activity_id))
    except (EmpowermentActivity.DoesNotExist, ValueError, TypeError):
        raise NotFound("Kegiatan tidak ditemukan.", "Activity not found.") from None


@dataclass
class PillarProgress:
    """One social pillar's activities in one village."""

    village_code: str
    pillar: str
    activities: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    by_outcome: dict[str, int] = field(default_factory=dict)
    families: int = 0  # families with an activity of this pillar
    graduated: int = 0  # of those, families with a graduated membership (any program)


@dataclass
class VillageProgress:
    village_code: str
    activities: int = 0
    families: int = 0  # families with any activity
    ready: int = 0  # families with an activity whose outcome is "ready to graduate"
    graduated_with_activity: int = 0
    graduated: int = 0  # every family of the village with a graduated membership
    pillars: list[PillarProgress] = field(default_factory=list)


@dataclass
class EmpowermentProgress:
    region_code: str
    villages: list[VillageProgress]
    pillars: dict[str, PillarProgress]  # totals per pillar over the region (village_code "")


def _region_allowed(scope: Scope, region_code: str) -> bool:
    return scope.national or not region_code or scope.covers(region_code) or any(
        p.startswith(region_code + ".") for p in scope.prefixes)


def empowerment_progress(*, actor: Actor, region_code: str = "") -> EmpowermentProgress:
    """Progress toward graduation per village and per social pillar, in the actor's program.view regions
    (optionally within `region_code`): activities by kind and by outcome, families with an activity, families
    ready to graduate, families graduated (Membership status graduasi)."""
    scope = require_scope(actor, PROGRAM_VIEW)
    code = (region_code or "").strip()
    if not _region_allowed(scope, code):
        raise PermissionDenied("Wilayah ini di luar kewenangan Anda.", "This region is outside your scope.")
    where = scope.q("village_code")
    if code:
        where &= Q(village_code=code) | Q(village_code__startswith=code + ".")
    acts = EmpowermentActivity.objects.filter(where)
    graduated_ids = set(Membership.objects.filter(status=MembershipStatus.GRADUATED).filter(
        family_id__in=acts.values("family_id")).values_list("family_id", flat=True))
    cells: dict[tuple[str, str], PillarProgress] = {}
    totals: dict[str, PillarProgress] = {}
    families: dict[tuple[str, str], set[int]] = defaultdict(set)
    village_families: dict[str, set[int]] = defaultdict(set)
    ready: dict[str, set[int]] = defaultdict(set)
    for village, pillar, kind, outcome, family_id in acts.values_list(
            "village_code", "pillar", "kind", "outcome", "family_id").order_by("village_code", "pillar", "pk"):
        for cell in (cells.setdefault((village, pillar), PillarProgress(village, pillar)),
                     totals.setdefault(pillar, PillarProgress("", pillar))):
            cell.activities += 1
            cell.by_kind[kind] = cell.by_kind.get(kind, 0) + 1
            cell.by_outcome[outcome] = cell.by_outcome.get(outcome, 0) + 1
        families[(village, pillar)].add(family_id)
        families[("", pillar)].add(family_id)
        village_families[village].add(family_id)
        if outcome == ActivityOutcome.READY_TO_GRADUATE:
            ready[village].add(family_id)
    for (village, pillar), ids in families.items():
        cell = cells[(village, pillar)] if village else totals[pillar]
        cell.families = len(ids)
        cell.graduated = len(ids & graduated_ids)
    in_region = scope.q("family__village_code")
    if code:
        in_region &= Q(family__village_code=code) | Q(family__village_code__startswith=code + ".")
    graduated_by_village = dict(
        Membership.objects.filter(in_region, status=MembershipStatus.GRADUATED)
        .values("family__village_code").annotate(n=Count("family_id", distinct=True))
        .values_list("family__village_code", "n"))
    codes = sorted(set(village_families) | set(graduated_by_village))
    villages = []
    for village in codes:
        ids = village_families.get(village, set())
        villages.append(VillageProgress(
            village_code=village, activities=sum(c.activities for (v, _p), c in cells.items() if v == village),
            families=len(ids), ready=len(ready.get(village, set())), graduated_with_activity=len(ids & graduated_ids),
            graduated=int(graduated_by_village.get(village, 0)),
            pillars=[cells[k] for k in sorted(k for k in cells if k[0] == village)]))
    return EmpowermentProgress(region_code=code, villages=villages, pillars=dict(sorted(totals.items())))


@dataclass(frozen=True)
class ProgramPages:
    """Which program pages and actions the actor may use (links and buttons; services check again)."""

    view: bool = False
    ratify: bool = False
    disburse: bool = False
    run: bool = False


def program_pages(*, actor: Actor) -> ProgramPages:
    if not getattr(actor, "is_authenticated", False):
        return ProgramPages()
    return ProgramPages(view=not scope_for(actor, PROGRAM_VIEW).empty,
                        ratify=not scope_for(actor, PROGRAM_RATIFY).empty,
                        disburse=not scope_for(actor, PROGRAM_DISBURSE).empty,
                        run=not scope_for(actor, PROGRAM_RUN).empty)


# --- the citizen's own family (Cek Bansos account page)


@dataclass
class OwnPrograms:
    memberships: list[Any]
    payments: list[Any]


def own_family_programs(*, actor: Actor) -> OwnPrograms:
    """The verified citizen's own family: its program memberships and its payment history (newest first).
    Only for the family the citizen belongs to (citizen_own_family checks the account)."""
    from dtsen.accounts.citizen_selectors import citizen_own_family

    own = citizen_own_family(actor=actor)
    memberships = list(Membership.objects.filter(family=own.family).order_by("program"))
    payments = list(Disbursement.objects.filter(family=own.family).select_related("decree")
                    .order_by("-tahap", "decree__program", "pk")[:40])
    return OwnPrograms(memberships=memberships, payments=payments)
