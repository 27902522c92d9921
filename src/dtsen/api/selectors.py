"""Reads the API needs that the apps' own selectors do not offer, built on them: every family is obtained
through `dtsen.registry.selectors` (scoped to the actor's regions) before anything of it is read, and every
aggregate is limited with the actor's `Scope.q`. Only non-personal models are queried here directly (ranking
runs and results carry a family id and a desil, no person); the personal ones only through a family the
registry selector has returned (its related rows)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from dtsen.accounts.permissions import REGISTRY_VIEW
from dtsen.accounts.selectors import Actor, require_scope
from dtsen.ranking.models import RankingResult, RankingRun, RunStatus
from dtsen.registry import selectors as registry
from dtsen.registry.models import Condition, Family


def _subtree(code: str, field: str = "village_code") -> Q:
    return Q(**{field: code}) | Q(**{f"{field}__startswith": code + "."})


def latest_run() -> RankingRun | None:
    return RankingRun.objects.filter(status=RunStatus.FINISHED).order_by("-finished_at", "-pk").first()


def family_page(
    *, actor: Actor, region: str = "", status: str = "", desil: int | None = None, limit: int, offset: int
) -> list[Family]:
    """Families the actor may see, by family code, filtered by region (any level), status and desil (of the
    latest finished ranking run; no run means no family has a desil)."""
    qs = registry.family_qs(actor=actor).select_related("head")
    if region:
        qs = qs.filter(_subtree(region))
    if status:
        qs = qs.filter(status=status)
    if desil is not None:
        run = latest_run()
        if run is None:
            return []
        qs = qs.filter(pk__in=RankingResult.objects.filter(run=run, desil=desil).values("family_id"))
    return list(qs.order_by("family_code")[offset : offset + limit])


def family_conditions(*, actor: Actor, family: Family) -> list[Condition]:
    """Every recorded housing and asset condition of a family the actor may see, the current one first."""
    visible = registry.family_get(actor=actor, family_id=family.pk)
    return list(visible.conditions.select_related("recorded_by").order_by("-observed_on", "-recorded_at", "-pk"))


def family_desil_runs(*, actor: Actor, family: Family) -> list[RankingResult]:
    """The family's result in every ranking run that ranked it, newest run first."""
    visible = registry.family_get(actor=actor, family_id=family.pk)
    return list(RankingResult.objects.filter(family_id=visible.pk).select_related("run").order_by("-run_id"))


def desil_distribution(*, actor: Actor, run: RankingRun, region: str = "") -> dict[int, int]:
    """Families per desil of a run, counted over the actor's regions (and below `region` when given)."""
    scope = require_scope(actor, REGISTRY_VIEW)
    qs = RankingResult.objects.filter(run=run).filter(scope.q("village_code"))
    if region:
        qs = qs.filter(_subtree(region))
    counts: dict[int, Any] = dict(qs.values_list("desil").annotate(n=Count("pk")).order_by())
    return {d: int(counts.get(d, 0)) for d in range(1, 11)}
