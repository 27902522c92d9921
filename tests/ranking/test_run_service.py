"""Ranking runs through the service, on SQLite and PostgreSQL: determinism, immutability, person shares per
desil, not-rankable families, provisional desil between runs, the diff, the cut-off, scope and errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from dtsen.accounts.services import role_assign
from dtsen.audit.models import AuditRecord
from dtsen.core.errors import NotFound, PermissionDenied
from dtsen.ranking import pmt
from dtsen.ranking import selectors as sel
from dtsen.ranking import services as svc
from dtsen.ranking.engine import ModelUnsupported, desil_from_cut_points
from dtsen.ranking.models import NotRankable, RankingDiff, RankingResult, RankingRun, RunStatus
from dtsen.registry import choices as c
from dtsen.registry import services as reg
from dtsen.registry.models import Family
from tests.ranking import conftest_run as fx
from tests.registry.factories import VILLAGE_A, VILLAGE_B, condition

pytestmark = pytest.mark.django_db

operator_village_a = fx.operator_village_a
operator_village_b = fx.operator_village_b
ranker = fx.ranker
registrar = fx.registrar
synth_dir = fx.synth_dir
work_dir = fx.work_dir

PERIOD = "2026-Q1"


def _today() -> dt.date:
    return timezone.localdate()


def _run(actor: Any, work: Path, **kw: Any) -> RankingRun:
    return svc.ranking_run(actor=actor, period=kw.pop("period", PERIOD), cutoff=kw.pop("cutoff", _today()),
                           work_dir=work, **kw)  # fmt: skip


def _results(run: RankingRun) -> list[tuple[Any, ...]]:
    return list(RankingResult.objects.filter(run=run).order_by("family_id").values_list(
        "family_id", "family_code", "village_code", "region_group", "persons", "score", "predicted_pce",
        "percentile", "desil"))  # fmt: skip


RICH = {
    "floor_material": c.FloorMaterial.CERAMIC, "wall_material": c.WallMaterial.MASONRY,
    "roof_material": c.RoofMaterial.CONCRETE, "toilet": c.Toilet.PRIVATE,
    "drinking_water": c.DrinkingWater.BOTTLED, "cooking_fuel": c.CookingFuel.LPG_LARGE,
    "floor_area_m2": Decimal("240.0"), "observed_on": dt.date(2025, 9, 1),
    "assets": {"car", "ac", "computer", "refrigerator", "motorcycle", "mobile_phone", "tv", "gold",
               "gas_stove"},
}  # fmt: skip


def test_a_run_is_deterministic(ranker, synth_dir, work_dir):
    # given a registry frozen at a past cut-off
    fx.registry_load(synth_dir, limit=300, when=timezone.now() - dt.timedelta(days=3))
    cutoff = _today() - dt.timedelta(days=1)
    # when it is ranked twice
    first = _run(ranker, work_dir, cutoff=cutoff)
    second = _run(ranker, work_dir, cutoff=cutoff)
    # then the input hash, the cut-points and every family's score, percentile and desil are identical
    assert first.status == second.status == RunStatus.FINISHED
    assert len(first.input_sha256) == 64
    assert second.input_sha256 == first.input_sha256
    assert second.model_sha256 == first.model_sha256 == pmt.load_default_model().fingerprint()
    assert second.cut_points == first.cut_points
    assert _results(second) == _results(first)
    assert len(_results(first)) == first.counts["families_ranked"] == 300
    # and the second run records the first as previous: nobody moved
    assert second.previous_run_id == first.pk
    prev = dict(RankingResult.objects.filter(run=second).values_list("family_id", "previous_desil"))
    assert prev == dict(RankingResult.objects.filter(run=first).values_list("family_id", "desil"))
    assert second.diff_summary["same"] == 300
    assert sum(second.diff_summary["up"]) == sum(second.diff_summary["down"]) == 0


def test_a_finished_run_is_immutable(ranker, synth_dir, work_dir):
    fx.registry_load(synth_dir, limit=120)
    run = _run(ranker, work_dir)
    before = (_results(run), run.cut_points, run.counts)
    # a finished run can neither fail nor finish again, and its results stay as they were
    with pytest.raises(svc.RunFinal) as refused:
        svc.ranking_run_fail(actor=ranker, run=run, reason="Coba ubah / try to change")
    assert refused.value.code == "ranking_run_final"
    with pytest.raises(svc.RunFinal):
        svc.ranking_run_finish(actor=ranker, run=run, input_sha256="0" * 64, engine_version="x",
                               cut_points=[], counts={}, timings={}, results=iter, not_rankable=iter,
                               diffs=[])  # fmt: skip
    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED
    assert (_results(run), run.cut_points, run.counts) == before
    # every step is in the audit trail
    actions = set(AuditRecord.objects.filter(object_type="rankingrun", object_id=str(run.pk))
                  .values_list("action", flat=True))  # fmt: skip
    assert actions == {"ranking.run_start", "ranking.run_finish"}


def test_a_failed_run_is_recorded_and_final(ranker, synth_dir, work_dir, monkeypatch):
    fx.registry_load(synth_dir, limit=50)

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(svc.pl, "score_and_rank", boom)
    with pytest.raises(RuntimeError):
        _run(ranker, work_dir)
    run = RankingRun.objects.get()
    assert run.status == RunStatus.FAILED
    assert "disk full" in run.error
    assert not RankingResult.objects.filter(run=run).exists()
    with pytest.raises(svc.RunFinal):
        svc.ranking_run_fail(actor=ranker, run=run, reason="lagi / again")


def test_each_desil_holds_a_tenth_of_the_persons(ranker, synth_dir, work_dir):
    # given the whole synthetic registry (1,500 families)
    families = fx.registry_load(synth_dir)
    run = _run(ranker, work_dir)
    rows = list(RankingResult.objects.filter(run=run).values("persons", "desil", "score", "percentile"))
    total = sum(r["persons"] for r in rows)
    largest = max(r["persons"] for r in rows)
    assert len(rows) == len(families)
    assert total == run.counts["persons_ranked"] == sum(cp["persons"] for cp in run.cut_points)
    # then each desil holds 10 % of persons, give or take one family (families are not split)
    shares = Counter()
    for r in rows:
        shares[r["desil"]] += r["persons"]
    assert sorted(shares) == list(range(1, 11))
    for desil, persons in shares.items():
        assert abs(persons / total - 0.1) <= largest / total, desil
    # and the desil and the percentile never decrease with the score
    rows.sort(key=lambda r: r["score"])
    assert all(
        a["desil"] <= b["desil"] and a["percentile"] <= b["percentile"] for a, b in itertools.pairwise(rows)
    )


def test_not_rankable_families_get_no_desil(ranker, registrar, synth_dir, work_dir):
    # given a registry with a family without a condition snapshot and a family whose members all died
    fx.registry_load(synth_dir, limit=60)
    bare = fx.family_register(registrar, serial=901, with_condition=False)
    gone = fx.family_register(registrar, serial=902)
    for person in gone.members.all():
        reg.person_record_death(
            actor=registrar,
            person=person,
            death_date=dt.date(2025, 5, 1),
            source=c.DeathSource.DUKCAPIL,
            channel=c.Channel.WEB,
            reason="Akta kematian",
        )
    # when ranked
    run = _run(ranker, work_dir)
    # then neither has a desil, both are listed with the reason, the others are ranked
    assert not RankingResult.objects.filter(run=run, family__in=[bare, gone]).exists()
    listed = {(n.family_id, n.reason) for n in NotRankable.objects.filter(run=run)}
    assert listed == {(bare.pk, "no_condition"), (gone.pk, "no_members")}
    assert run.counts["families_not_rankable"] == 2
    assert run.counts["not_rankable_by_reason"] == {"no_condition": 1, "no_members": 1}
    assert run.counts["families_ranked"] == 60
    view = sel.family_desil(actor=ranker, family=bare)
    assert view.desil is None
    assert view.not_rankable == [("no_condition", "")]
    assert not view.provisional
    assert {n.family_id for n in sel.not_rankable(actor=ranker, run=run)} == {bare.pk, gone.pk}
    assert sel.not_rankable(actor=ranker, run=run, region=VILLAGE_B) == []


def test_nothing_rankable_is_refused_not_put_in_a_desil(ranker, registrar, work_dir):
    fx.family_register(registrar, serial=903, with_condition=False)
    with pytest.raises(svc.NothingToRank) as refused:
        _run(ranker, work_dir)
    assert refused.value.code == "ranking_nothing_to_rank"
    assert RankingRun.objects.get().status == RunStatus.FAILED
    assert not RankingResult.objects.exists()


def test_a_family_changed_after_the_run_gets_a_provisional_desil(ranker, registrar, synth_dir, work_dir):
    # given a ranked registry and three families: unchanged, improved after the run, registered after it
    fx.registry_load(synth_dir, limit=200)
    unchanged = fx.family_register(registrar, serial=911)
    improved = fx.family_register(registrar, serial=912)
    run = _run(ranker, work_dir)
    stored = RankingResult.objects.get(run=run, family=improved)
    reg.condition_record(actor=registrar, family=improved, channel=c.Channel.GROUND_CHECK,
                         data=condition(**RICH))  # fmt: skip
    newcomer = fx.family_register(registrar, serial=913, **RICH)
    # the unchanged family keeps its desil, explained by its features
    view = sel.family_desil(actor=ranker, family=unchanged)
    result = RankingResult.objects.get(run=run, family=unchanged)
    assert not view.provisional
    assert view.desil == result.desil
    assert view.percentile == result.percentile
    assert view.explanation is not None
    assert view.explanation.score == view.score == run.score_decimal(result.score)
    assert view.explanation.lines("id")
    # the improved family gets a provisional desil from the run's cut-points, clearly marked
    view = sel.family_desil(actor=ranker, family=improved)
    assert view.provisional
    assert view.changed_after_run
    assert view.previous_desil == stored.desil
    scaled = int(view.score.scaleb(run.score_scale))
    assert view.desil == desil_from_cut_points(scaled, improved.family_code, run.cut_points)
    assert view.desil > stored.desil
    assert view.explanation is not None
    assert view.explanation.score == view.score
    # the newcomer too
    fresh = sel.family_desil(actor=ranker, family=newcomer)
    assert fresh.provisional
    assert fresh.desil is not None
    assert fresh.previous_desil is None
    # and the next run ranks both for real: same score as the provisional one, no longer provisional
    second = _run(ranker, work_dir)
    again = sel.family_desil(actor=ranker, family=improved, explain=False)
    assert not again.provisional
    assert again.run == second
    assert again.score == view.score
    assert RankingResult.objects.get(run=second, family=newcomer).score == int(fresh.score.scaleb(12))


def test_the_diff_counts_boundary_crossings_per_region(ranker, registrar, synth_dir, work_dir):
    # given a first run, then some families improve, one is removed and one is new
    families = fx.registry_load(synth_dir, limit=300)
    first = _run(ranker, work_dir)
    poorest = list(RankingResult.objects.filter(run=first, desil__lte=3).order_by("score")[:5])
    for r in poorest:
        reg.condition_record(actor=registrar, family=Family.objects.get(pk=r.family_id),
                             channel=c.Channel.GROUND_CHECK, data=condition(**RICH))  # fmt: skip
    removed = families[-1]
    reg.family_remove(actor=registrar, family=removed, removal_reason=c.RemovalReason.MOVED,
                      channel=c.Channel.WEB, reason="Pindah")  # fmt: skip
    fx.family_register(registrar, serial=921)
    # when ranked again
    second = _run(ranker, work_dir)
    # then the stored diff equals the crossings counted from the two runs' results, per kab/kota
    old = dict(RankingResult.objects.filter(run=first).values_list("family_id", "desil"))
    new = dict(RankingResult.objects.filter(run=second).values_list("family_id", "desil"))
    up = [sum(1 for f in new if f in old and old[f] <= k < new[f]) for k in range(1, 10)]
    down = [sum(1 for f in new if f in old and new[f] <= k < old[f]) for k in range(1, 10)]
    diffs = list(RankingDiff.objects.filter(run=second))
    assert [sum(d.up[k] for d in diffs) for k in range(9)] == up
    assert [sum(d.down[k] for d in diffs) for k in range(9)] == down
    assert sum(d.left for d in diffs) == 1
    assert sum(d.entered for d in diffs) == 1
    assert second.diff_summary["up"] == up
    assert second.diff_summary["left"] == 1
    assert all(len(d.region_code) == 5 for d in diffs)
    # the five improved families all crossed at least one boundary upwards
    assert sum(up) >= 5
    for r in poorest:
        assert new[r.family_id] > r.desil
    # the selector gives the same totals per province
    (province,) = sel.run_diff(actor=ranker, run=second, level="province")
    assert province.region_code == "34"
    assert province.up == up
    assert province.left == 1


def test_scope_another_village_cannot_read_a_familys_desil(
    ranker, registrar, operator_village_a, operator_village_b, synth_dir, work_dir
):
    fx.registry_load(synth_dir, limit=50)
    mine = fx.family_register(registrar, serial=931, village=VILLAGE_A)
    bare = fx.family_register(registrar, serial=932, village=VILLAGE_A, with_condition=False)
    fx.family_register(registrar, serial=933, village=VILLAGE_B)
    run = _run(ranker, work_dir)
    # the operator of village A sees the desil of a family of village A
    view = sel.family_desil(actor=operator_village_a, family=mine, explain=False)
    assert view.desil == RankingResult.objects.get(run=run, family=mine).desil
    # the operator of village B gets "not found", exactly as for a family that does not exist
    with pytest.raises(NotFound):
        sel.family_desil(actor=operator_village_b, family=mine)
    # lists and diffs only cover the actor's own village
    assert [n.family_id for n in sel.not_rankable(actor=operator_village_a, run=run)] == [bare.pk]
    assert sel.not_rankable(actor=operator_village_b, run=run) == []
    rows = sel.run_diff(actor=operator_village_b, run=run)
    assert [r.region_code for r in rows] == [VILLAGE_B]
    assert rows[0].entered == rows[0].ranked == 1
    # a village operator cannot start a run, nor a regional analyst (the ranking is national)
    with pytest.raises(PermissionDenied):
        _run(operator_village_a, work_dir)
    regional = get_user_model().objects.create_user("bps.diy", password="rahasia-sekali-123")
    role_assign(user=regional, role="bps_analyst", region_code="34")
    with pytest.raises(PermissionDenied):
        _run(regional, work_dir)


def test_changes_after_the_cutoff_are_not_in_the_run(ranker, registrar, synth_dir, work_dir):
    # given a registry loaded ten days ago and ranked as of three days ago
    families = fx.registry_load(synth_dir, limit=80, when=timezone.now() - dt.timedelta(days=10))
    cutoff = _today() - dt.timedelta(days=3)
    before = _run(ranker, work_dir, cutoff=cutoff)
    # when a family is added and another gets a new condition snapshot today
    fx.family_register(registrar, serial=941)
    observed = cutoff - dt.timedelta(days=30)
    reg.condition_record(actor=registrar, family=families[0], channel=c.Channel.GROUND_CHECK,
                         data=condition(**{**RICH, "observed_on": observed}))  # fmt: skip
    # then a new run with the same cut-off sees exactly the same register
    after = _run(ranker, work_dir, cutoff=cutoff)
    assert after.input_sha256 == before.input_sha256
    assert _results(after) == _results(before)
    assert after.frozen_at == before.frozen_at < timezone.now() - dt.timedelta(days=2)


def test_bad_input_is_refused_with_a_bilingual_reason(ranker, synth_dir, work_dir, tmp_path):
    fx.registry_load(synth_dir, limit=10)
    with pytest.raises(svc.PeriodInvalid) as bad:
        _run(ranker, work_dir, period="2026Q1")
    assert "TTTT-Qn" in bad.value.message_id
    assert "YYYY-Qn" in bad.value.message_en
    with pytest.raises(svc.CutoffInvalid) as future:
        _run(ranker, work_dir, cutoff=_today() + dt.timedelta(days=1))
    assert "masa depan" in future.value.message_id
    assert "future" in future.value.message_en
    with pytest.raises(pmt.ArtefactInvalid):
        _run(ranker, work_dir, model=tmp_path / "missing.json")
    with pytest.raises(svc.RankingError):
        _run(ranker, work_dir, engine="postgres")
    tree = dataclasses.replace(pmt.load_default_model(), linear=None, kind=pmt.KIND_BOOSTING)
    with pytest.raises(ModelUnsupported):
        _run(ranker, work_dir, model=tree)
    assert not RankingRun.objects.exists()


def test_an_empty_registry_has_nothing_to_rank(ranker, work_dir):
    with pytest.raises(svc.NothingToRank):
        _run(ranker, work_dir)
    assert not RankingRun.objects.exists()
