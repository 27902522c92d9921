"""Reads of ranking runs. Every selector takes the acting user and is scoped by region like the registry's:
a family outside the actor's regions is "not found"; lists and diffs only cover the actor's regions."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q

from dtsen.accounts.permissions import REGISTRY_VIEW
from dtsen.accounts.selectors import Actor, Scope, require_scope
from dtsen.core.errors import NotFound
from dtsen.ranking import pmt
from dtsen.ranking.engine.sql import DESILS
from dtsen.ranking.models import NotRankable, RankingDiff, RankingResult, RankingRun, RunStatus
from dtsen.ranking.services import (
    FamilyScore,
    family_changed_since,
    family_score,
    ranking_provisional,
)
from dtsen.registry.models import Family
from dtsen.registry.selectors import family_get

REGENCY_DIGITS = 5


def run_latest(*, actor: Actor) -> RankingRun | None:
    """The latest finished run (runs are national: anyone with a registry scope may see their metadata)."""
    require_scope(actor, REGISTRY_VIEW)
    return RankingRun.objects.filter(status=RunStatus.FINISHED).order_by("-finished_at", "-pk").first()


def run_get(*, actor: Actor, run_id: int) -> RankingRun:
    require_scope(actor, REGISTRY_VIEW)
    try:
        return RankingRun.objects.get(pk=run_id)
    except (RankingRun.DoesNotExist, ValueError, TypeError):
        raise NotFound("Peringkat tidak ditemukan.", "Ranking run not found.") from None


def run_list(*, actor: Actor, limit: int = 50) -> list[RankingRun]:
    require_scope(actor, REGISTRY_VIEW)
    return list(RankingRun.objects.order_by("-pk")[:limit])


@dataclass(frozen=True)
class FamilyDesil:
    """What a family's desil is, where it comes from, and why.

    ``provisional`` is True when the family changed (or was registered) after the run froze the register:
    the desil then comes from that run's cut-points applied to the family's current state, until the next
    run. ``desil`` is None when the family is not rankable (``not_rankable`` says why) or there is no run."""

    family_id: int
    run: RankingRun | None
    desil: int | None
    provisional: bool
    changed_after_run: bool
    percentile: Decimal | None = None
    predicted_pce: Decimal | None = None
    score: Decimal | None = None
    previous_desil: int | None = None
    region_group: str | None = None
    not_rankable: list[tuple[str, str]] = field(default_factory=list)
    explanation: pmt.Explanation | None = None


def _explain(model: pmt.PmtModel, state: FamilyScore) -> pmt.Explanation | None:
    if state.score is None:
        return None
    region = state.raw.get(model.spec.region_column) if model.spec.region_column else None
    return pmt.explain_family(model, state.raw, region)


def family_desil(*, actor: Actor, family: Family, explain: bool = True) -> FamilyDesil:
    """The family's desil in the latest finished run - or a provisional desil if it changed since - with
    the contributions of its features (see `dtsen.ranking.pmt.explain`). Staff: scoped like the registry."""
    return desil_of_visible_family(family=family_get(actor=actor, family_id=family.pk), explain=explain)


def desil_of_visible_family(*, family: Family, explain: bool = True) -> FamilyDesil:
    """`family_desil` for a family the caller has already obtained through an access check (a staff selector,
    or a citizen's own-family selector); never call it with a family from anywhere else."""
    visible = family
    run = RankingRun.objects.filter(status=RunStatus.FINISHED).order_by("-finished_at", "-pk").first()
    if run is None:
        return FamilyDesil(
            family_id=visible.pk, run=None, desil=None, provisional=False, changed_after_run=False
        )
    model = pmt.PmtModel.from_dict(run.model_artefact)
    result = RankingResult.objects.filter(run=run, family_id=visible.pk).first()
    changed = result is None and not NotRankable.objects.filter(run=run, family_id=visible.pk).exists()
    changed = changed or family_changed_since(family_id=visible.pk, since=run.frozen_at)
    if changed:
        prov = ranking_provisional(family_id=visible.pk, run=run)
        return FamilyDesil(
            family_id=visible.pk, run=run, desil=prov.desil, provisional=True, changed_after_run=True,
            predicted_pce=prov.predicted_pce, score=prov.score,
            previous_desil=result.desil if result is not None else None, region_group=prov.region_group,
            not_rankable=prov.not_rankable,
            explanation=_explain(model, prov.state) if explain else None,
        )  # fmt: skip
    if result is None:
        reasons = [(n.reason, n.detail) for n in NotRankable.objects.filter(run=run, family_id=visible.pk)
                   .order_by("reason")]  # fmt: skip
        return FamilyDesil(family_id=visible.pk, run=run, desil=None, provisional=False,
                           changed_after_run=False,
                           not_rankable=reasons)  # fmt: skip
    explanation = None
    if explain:
        state = family_score(family_id=visible.pk, cutoff=run.cutoff, frozen_at=run.frozen_at, model=model)
        explanation = _explain(model, state)
    return FamilyDesil(
        family_id=visible.pk, run=run, desil=result.desil, provisional=False, changed_after_run=False,
        percentile=result.percentile, predicted_pce=result.predicted_pce,
        score=run.score_decimal(result.score),
        previous_desil=result.previous_desil, region_group=result.region_group, explanation=explanation,
    )  # fmt: skip


@dataclass
class DiffRow:
    """Families of a region that crossed each desil boundary k (between desil k and k+1), up and down."""

    region_code: str
    ranked: int = 0
    same: int = 0
    entered: int = 0
    left: int = 0
    up: list[int] = field(default_factory=lambda: [0] * (DESILS - 1))
    down: list[int] = field(default_factory=lambda: [0] * (DESILS - 1))

    @property
    def crossed(self) -> int:
        """Families whose desil changed (each counted once, however many boundaries it crossed)."""
        return self.ranked - self.same - self.entered

    def add(self, other: DiffRow) -> None:
        self.ranked += other.ranked
        self.same += other.same
        self.entered += other.entered
        self.left += other.left
        self.up = [a + b for a, b in zip(self.up, other.up, strict=True)]
        self.down = [a + b for a, b in zip(self.down, other.down, strict=True)]


def _coarse(scope: Scope) -> bool:
    return scope.national or all(len(p) <= REGENCY_DIGITS for p in scope.prefixes)


def run_diff(*, actor: Actor, run: RankingRun, level: str = "regency") -> list[DiffRow]:
    """Boundary crossings between `run` and its previous run, per kab/kota (`level="regency"`) or province,
    limited to the actor's regions. An actor scoped below kab/kota gets them per village, counted from
    the results of its own villages."""
    scope = require_scope(actor, REGISTRY_VIEW)
    digits = 2 if level == "province" else REGENCY_DIGITS
    rows: dict[str, DiffRow] = {}
    if _coarse(scope):
        for d in RankingDiff.objects.filter(run=run).order_by("region_code"):
            if not scope.covers(d.region_code):
                continue
            key = d.region_code[:digits]
            rows.setdefault(key, DiffRow(key)).add(
                DiffRow(d.region_code, d.ranked, d.same, d.entered, d.left, list(d.up), list(d.down))
            )
        return [rows[k] for k in sorted(rows)]
    current = dict(
        RankingResult.objects.filter(run=run)
        .filter(scope.q("village_code"))
        .values_list("family_id", "desil")
    )
    villages = dict(
        RankingResult.objects.filter(run=run).filter(scope.q("village_code"))
        .values_list("family_id", "village_code")
    )  # fmt: skip
    previous: dict[int, tuple[int, str]] = {}
    if run.previous_run_id is not None:
        for fid, desil, village in (
            RankingResult.objects.filter(run_id=run.previous_run_id).filter(scope.q("village_code"))
            .values_list("family_id", "desil", "village_code")
        ):  # fmt: skip
            previous[fid] = (desil, village)
    for fid in set(current) | set(previous):
        village = villages.get(fid) or previous[fid][1]
        row = rows.setdefault(village, DiffRow(village))
        cur = current.get(fid)
        prev = previous[fid][0] if fid in previous else None
        if cur is not None:
            row.ranked += 1
        if cur is not None and prev is None:
            row.entered += 1
        elif cur is None and prev is not None:
            row.left += 1
        elif cur is not None and prev is not None:
            if cur == prev:
                row.same += 1
            for k in range(1, DESILS):
                if prev <= k < cur:
                    row.up[k - 1] += 1
                if cur <= k < prev:
                    row.down[k - 1] += 1
    return [rows[k] for k in sorted(rows)]


def not_rankable(*, actor: Actor, run: RankingRun, region: str = "") -> list[NotRankable]:
    """Families of `run` that could not be ranked, with the reason, in the actor's regions (and below
    `region` when given)."""
    scope = require_scope(actor, REGISTRY_VIEW)
    qs = NotRankable.objects.filter(run=run).filter(scope.q("village_code"))
    if region:
        qs = qs.filter(Q(village_code=region) | Q(village_code__startswith=region + "."))
    return list(qs.order_by("village_code", "family_code", "reason"))
