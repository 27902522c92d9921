"""API v1: ranking results (desil).

- `GET /ranking/runs`, `GET /ranking/runs/{run_id}`: the runs (national metadata: period, cut-off, model,
  status, counts), newest first;
- `GET /ranking/runs/{run_id}/distribution`: families per desil of a run, over the regions of the token's
  user (and below `region` when given);
- `GET /families/{family_code}/desil`: the family's desil now (latest run, provisional if it changed since)
  and in every run that ranked it.

Every endpoint needs the scope `registry.view` and reads through `dtsen.ranking.selectors` (api/selectors.py
for the distribution and the per-run history) with the token's user as the actor.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema

from dtsen.accounts.permissions import REGISTRY_VIEW
from dtsen.api import selectors as api_selectors
from dtsen.api.auth import TokenAuth
from dtsen.api.registry import FamilyCode, visible_family
from dtsen.api.schemas import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, REGION, ErrorOut, PageOut, page
from dtsen.audit.services import audit_read
from dtsen.ranking import selectors
from dtsen.ranking.models import RankingRun

REFUSALS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut}
MAX_RUN_ID = 2**62

router = Router(tags=["ranking"])


class RunOut(Schema):
    id: int
    period: str
    cutoff: dt.date
    status: str
    engine: str
    method: str
    model_id: str
    previous_run_id: int | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    counts: dict[str, Any]


class RunPageOut(PageOut):
    results: list[RunOut]


class DistributionOut(Schema):
    run_id: int
    region: str
    total: int
    by_desil: dict[str, int]


class RunDesilOut(Schema):
    run_id: int
    period: str
    desil: int
    previous_desil: int | None
    percentile: Decimal
    region_group: str


class NotRankableOut(Schema):
    reason: str
    detail: str


class FamilyDesilOut(Schema):
    family_code: str
    run_id: int | None
    desil: int | None
    provisional: bool
    changed_after_run: bool
    percentile: Decimal | None
    not_rankable: list[NotRankableOut]
    runs: list[RunDesilOut]


def _only_parameters(request: HttpRequest, *names: str) -> None:
    from dtsen.api.api import _only_parameters as only  # api.py mounts this router: imported at call time

    only(request, *names)


def _run(run: RankingRun) -> RunOut:
    return RunOut(id=run.pk, period=run.period, cutoff=run.cutoff, status=run.status, engine=run.engine,
                  method=run.method, model_id=run.model_id, previous_run_id=run.previous_run_id,
                  created_at=run.created_at, finished_at=run.finished_at, counts=run.counts or {})


RunId = Path(..., ge=1, le=MAX_RUN_ID, description="Ranking run id")


@router.get("/ranking/runs", response={200: RunPageOut, **REFUSALS}, auth=TokenAuth(REGISTRY_VIEW),
            operation_id="ranking_run_list", summary="Ranking runs, newest first",
            description="Needs the scope `registry.view`. Runs are national: their metadata is the same for all.")
def run_list(request: HttpRequest, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
             offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> dict[str, Any]:
    _only_parameters(request, "limit", "offset")
    rows = selectors.run_list(actor=request.auth.user, limit=offset + limit + 1)[offset:]  # type: ignore[attr-defined]
    rows, meta = page(rows, limit, offset)
    return {**meta, "results": [_run(r) for r in rows]}


@router.get("/ranking/runs/{run_id}", response={200: RunOut, 404: ErrorOut, **REFUSALS},
            auth=TokenAuth(REGISTRY_VIEW), operation_id="ranking_run_get", summary="One ranking run",
            description="Needs the scope `registry.view`.")
def run_get(request: HttpRequest, run_id: int = RunId) -> RunOut:
    _only_parameters(request)
    return _run(selectors.run_get(actor=request.auth.user, run_id=run_id))  # type: ignore[attr-defined]


@router.get("/ranking/runs/{run_id}/distribution", response={200: DistributionOut, 404: ErrorOut, **REFUSALS},
            auth=TokenAuth(REGISTRY_VIEW), operation_id="ranking_distribution",
            summary="Families per desil of a run in the regions of the token's user",
            description="Needs the scope `registry.view`. `region`: count only below this region code.")
def distribution(request: HttpRequest, run_id: int = RunId,
                 region: str | None = Query(None, pattern=REGION, description="Region code, e.g. 34.01")
                 ) -> DistributionOut:
    _only_parameters(request, "region")
    actor = request.auth.user  # type: ignore[attr-defined]
    run = selectors.run_get(actor=actor, run_id=run_id)
    counts = api_selectors.desil_distribution(actor=actor, run=run, region=region or "")
    return DistributionOut(run_id=run.pk, region=region or "", total=sum(counts.values()),
                           by_desil={str(d): n for d, n in counts.items()})


@router.get("/families/{family_code}/desil", response={200: FamilyDesilOut, 404: ErrorOut, **REFUSALS},
            auth=TokenAuth(REGISTRY_VIEW), operation_id="family_desil",
            summary="A family's desil now and in every ranking run",
            description=(
                "Needs the scope `registry.view`. `desil` is the latest finished run's, or provisional (from that "
                "run's cut-points on the family's current data) when the family changed since; null when the "
                "family is not rankable (`not_rankable` says why) or there is no run."
            ))
def family_desil(request: HttpRequest, family_code: str = FamilyCode) -> FamilyDesilOut:
    _only_parameters(request)
    actor = request.auth.user  # type: ignore[attr-defined]
    family = visible_family(request, family_code)
    now = selectors.family_desil(actor=actor, family=family, explain=False)
    runs = api_selectors.family_desil_runs(actor=actor, family=family)
    audit_read(actor=actor, object_type="family", object_id=family.pk, action="desil")
    return FamilyDesilOut(
        family_code=family.family_code, run_id=now.run.pk if now.run else None, desil=now.desil,
        provisional=now.provisional, changed_after_run=now.changed_after_run, percentile=now.percentile,
        not_rankable=[NotRankableOut(reason=r, detail=d) for r, d in now.not_rankable],
        runs=[RunDesilOut(run_id=r.run_id, period=r.run.period, desil=r.desil, previous_desil=r.previous_desil,
                          percentile=r.percentile, region_group=r.region_group) for r in runs],
    )  # fmt: skip
