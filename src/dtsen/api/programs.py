"""API v1: social assistance programs, eligibility runs and memberships.

- `GET /programs`: the programs of the rules in force (code, name, unit, desil range, months, amounts);
- `GET /programs/runs`, `GET /programs/runs/{run_id}`: eligibility runs (simulations only for users who run them);
- `GET /programs/runs/{run_id}/results`: the result rows of a run in the regions of the token's user, filtered
  by `program`, `outcome`, `region`, paginated;
- `GET /families/{family_code}/memberships`: the family's memberships (kepesertaan) with every change.

Every endpoint needs the scope `program.view` and reads through `dtsen.programs.selectors` with the token's user
as the actor; lists of families are audited (channel "api").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema

from dtsen.accounts.permissions import PROGRAM_VIEW
from dtsen.api.auth import TokenAuth
from dtsen.api.registry import FamilyCode, visible_family
from dtsen.api.schemas import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, REGION, ErrorOut, PageOut, page
from dtsen.audit.services import audit_read
from dtsen.programs import selectors
from dtsen.programs.models import EligibilityRun, Outcome, Reason
from dtsen.programs.rules import rules_default

REFUSALS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut}
PROGRAM = r"^[a-z0-9_]{1,20}$"
OUTCOME = "^(" + "|".join(Outcome.values) + ")$"
REASON = "^(" + "|".join(Reason.values) + ")$"
MAX_RUN_ID = 2**62

router = Router(tags=["programs"])


class ProgramOut(Schema):
    code: str
    name: str
    unit: str
    desil_min: int
    desil_max: int
    priority: int
    months: list[int]
    amount_kind: str
    monthly: int
    who: str
    requires_quota: bool


class ProgramListOut(Schema):
    edition: str
    valid_from: str
    legal_basis: str
    results: list[ProgramOut]


class EligibilityRunOut(Schema):
    id: int
    period: str
    as_of: dt.date
    ranking_run_id: int
    edition: str
    simulation: bool
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    counts: dict[str, Any]


class EligibilityRunPageOut(PageOut):
    results: list[EligibilityRunOut]


class ResultOut(Schema):
    program: str
    family_code: str
    village_code: str
    region_code: str
    desil: int
    percentile: Decimal
    outcome: str
    reason: str
    queue_no: int | None
    waiting_no: int | None
    amount: int
    components: str


class ResultPageOut(PageOut):
    run_id: int
    results: list[ResultOut]


class MembershipEventOut(Schema):
    from_status: str
    to_status: str
    reason: str
    note: str
    at: dt.datetime


class MembershipOut(Schema):
    program: str
    status: str
    reason: str
    since: dt.date
    decree_number: str | None
    events: list[MembershipEventOut]


class MembershipListOut(Schema):
    family_code: str
    results: list[MembershipOut]


def _only_parameters(request: HttpRequest, *names: str) -> None:
    from dtsen.api.api import _only_parameters as only  # api.py mounts this router: imported at call time

    only(request, *names)


def _run(run: EligibilityRun) -> EligibilityRunOut:
    return EligibilityRunOut(id=run.pk, period=run.period, as_of=run.as_of, ranking_run_id=run.ranking_run_id,
                             edition=run.edition, simulation=run.simulation, status=run.status,
                             started_at=run.started_at, finished_at=run.finished_at, counts=run.counts or {})


RunId = Path(..., ge=1, le=MAX_RUN_ID, description="Eligibility run id")
Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
Offset = Query(0, ge=0, le=MAX_OFFSET)


@router.get("/programs", response={200: ProgramListOut, **REFUSALS}, auth=TokenAuth(PROGRAM_VIEW),
            operation_id="program_list", summary="The programs of the rules in force",
            description="Needs the scope `program.view`.")
def program_list(request: HttpRequest) -> ProgramListOut:
    _only_parameters(request)
    rules = rules_default()
    return ProgramListOut(
        edition=rules.edition, valid_from=rules.valid_from, legal_basis=rules.legal_basis,
        results=[ProgramOut(code=p.code, name=p.name, unit=p.unit, desil_min=p.desil_min, desil_max=p.desil_max,
                            priority=p.priority, months=list(p.months), amount_kind=p.amount_kind, monthly=p.monthly,
                            who=p.who, requires_quota=p.requires_quota) for p in rules.by_priority()],
    )  # fmt: skip


@router.get("/programs/runs", response={200: EligibilityRunPageOut, **REFUSALS}, auth=TokenAuth(PROGRAM_VIEW),
            operation_id="eligibility_run_list", summary="Eligibility runs, newest first",
            description="Needs the scope `program.view`. Simulations only for users who may run them.")
def run_list(request: HttpRequest, limit: int = Limit, offset: int = Offset) -> dict[str, Any]:
    _only_parameters(request, "limit", "offset")
    rows = selectors.run_list(actor=request.auth.user, limit=limit + 1, offset=offset)  # type: ignore[attr-defined]
    rows, meta = page(rows, limit, offset)
    return {**meta, "results": [_run(r) for r in rows]}


@router.get("/programs/runs/{run_id}", response={200: EligibilityRunOut, 404: ErrorOut, **REFUSALS},
            auth=TokenAuth(PROGRAM_VIEW), operation_id="eligibility_run_get", summary="One eligibility run",
            description="Needs the scope `program.view`.")
def run_get(request: HttpRequest, run_id: int = RunId) -> EligibilityRunOut:
    _only_parameters(request)
    return _run(selectors.run_get(actor=request.auth.user, run_id=run_id))  # type: ignore[attr-defined]


@router.get("/programs/runs/{run_id}/results", response={200: ResultPageOut, 404: ErrorOut, **REFUSALS},
            auth=TokenAuth(PROGRAM_VIEW), operation_id="eligibility_results",
            summary="Eligibility results of a run in the regions of the token's user",
            description=(
                "Needs the scope `program.view`. Ordered as decided: program, kabupaten/kota, outcome, queue. "
                "`region`: only below this region code."
            ))
def results(
    request: HttpRequest,
    *,
    run_id: int = RunId,
    program: str | None = Query(None, pattern=PROGRAM, description="Program code, e.g. pkh"),
    outcome: str | None = Query(None, pattern=OUTCOME, description="terpilih, daftar_tunggu or tidak_terpilih"),
    reason: str | None = Query(None, pattern=REASON, description="Why not selected"),
    region: str | None = Query(None, pattern=REGION, description="Region code, e.g. 34.01"),
    limit: int = Limit,
    offset: int = Offset,
) -> dict[str, Any]:
    _only_parameters(request, "program", "outcome", "reason", "region", "limit", "offset")
    actor = request.auth.user  # type: ignore[attr-defined]
    run = selectors.run_get(actor=actor, run_id=run_id)
    rows = selectors.results_list(actor=actor, run=run, program=program or "", outcome=outcome or "",
                                  reason=reason or "", region=region or "", limit=limit + 1, offset=offset)
    rows, meta = page(rows, limit, offset)
    if rows:
        audit_read(actor=actor, object_type="eligibility_run", object_id=run.pk, action="results",
                   person_ids=sorted({r.person_id for r in rows if r.person_id}) or None)
    out = [ResultOut(program=r.program, family_code=r.family.family_code, village_code=r.village_code,
                     region_code=r.region_code, desil=r.desil, percentile=r.percentile, outcome=r.outcome,
                     reason=r.reason, queue_no=r.queue_no, waiting_no=r.waiting_no, amount=r.amount,
                     components=r.components) for r in rows]  # fmt: skip
    return {**meta, "run_id": run.pk, "results": out}


@router.get("/families/{family_code}/memberships", response={200: MembershipListOut, 404: ErrorOut, **REFUSALS},
            auth=TokenAuth(PROGRAM_VIEW), operation_id="family_memberships",
            summary="A family's program memberships (kepesertaan) with every change",
            description="Needs the scope `program.view`. A family outside the regions of the token's user is 404.")
def memberships(request: HttpRequest, family_code: str = FamilyCode) -> MembershipListOut:
    _only_parameters(request)
    actor = request.auth.user  # type: ignore[attr-defined]
    family = visible_family(request, family_code)
    views = selectors.membership_list(actor=actor, family_id=family.pk)
    audit_read(actor=actor, object_type="family", object_id=family.pk, action="memberships")
    return MembershipListOut(
        family_code=family.family_code,
        results=[MembershipOut(program=v.membership.program, status=v.membership.status, reason=v.membership.reason,
                               since=v.membership.since,
                               decree_number=v.membership.decree.decree_number if v.membership.decree else None,
                               events=[MembershipEventOut(from_status=e.from_status, to_status=e.to_status,
                                                          reason=e.reason, note=e.note, at=e.at)
                                       for e in v.events])
                 for v in views],
    )  # fmt: skip
