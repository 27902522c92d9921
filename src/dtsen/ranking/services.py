"""Ranking runs: freeze the register at a cut-off, score every family with the PMT model of its region, rank
nationally over persons, store the run immutably, and give a provisional desil to a family changed since.

`ranking_run` is a batch job, not one transaction: the run row is created first (status ``running``,
audited), the work happens outside any transaction (the snapshot only reads history older than the
freeze instant, which cannot change), then results, not-rankable list, diff and the ``finished`` status
are written in one transaction (audited). On any error the run is marked ``failed`` with the error. A
finished or failed run is final: every service that writes to a run asserts its state first
(`RUN_TRANSITIONS`), so nothing changes it afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dtsen.accounts.permissions import RANKING_RUN
from dtsen.accounts.selectors import Actor, require_scope
from dtsen.audit.services import audit_record
from dtsen.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from dtsen.ranking import pmt
from dtsen.ranking.engine import ENGINES, model_tables
from dtsen.ranking.engine import pipeline as pl
from dtsen.ranking.engine import sql as q
from dtsen.ranking.engine.base import BatchEngine, parquet_glob
from dtsen.ranking.engine.duck import DuckDBEngine, duckdb_connect, sql_string
from dtsen.ranking.engine.transfer import copy_in, fetch_into
from dtsen.ranking.models import (
    NotRankable,
    NotRankableReason,
    RankingDiff,
    RankingResult,
    RankingRun,
    RankMethod,
    RunStatus,
)
from dtsen.ranking.snapshot import Snapshot, freeze_instant, registry_snapshot
from dtsen.registry.covariates import family_covariates
from dtsen.registry.models import Condition, Family, Person

PERIOD = re.compile(r"(?P<year>[0-9]{4})-Q(?P<quarter>[1-4])")
RUN_TRANSITIONS: dict[str, frozenset[str]] = {
    RunStatus.RUNNING: frozenset({RunStatus.FINISHED, RunStatus.FAILED}),
    RunStatus.FINISHED: frozenset(),
    RunStatus.FAILED: frozenset(),
}
RESULT_COLUMNS = (
    "run_id", "family_id", "family_code", "village_code", "region_group", "persons", "score", "predicted_pce",
    "percentile", "desil", "previous_desil",
)  # fmt: skip
NOT_RANKABLE_COLUMNS = ("run_id", "family_id", "family_code", "village_code", "reason", "detail")
BATCH_ROWS = 100_000
STEPS = ("snapshot", "covariates", "features", "rank", "results", "write")
"""The steps `progress` is called with, in order."""


class RankingError(ValidationFailed):
    code = "ranking_error"


class PeriodInvalid(RankingError):
    code = "ranking_period_invalid"


class CutoffInvalid(RankingError):
    code = "ranking_cutoff_invalid"


class NothingToRank(RankingError):
    code = "ranking_nothing_to_rank"


class RunFinal(Conflict):
    code = "ranking_run_final"


# -- checks --------------------------------------------------------------------------------------------


def _check_period(period: str) -> str:
    if not isinstance(period, str) or not PERIOD.fullmatch(period.strip()):
        raise PeriodInvalid(
            f"Periode '{period}' tidak sah; gunakan format TTTT-Qn, mis. 2026-Q1.",
            f"Period '{period}' is invalid; use YYYY-Qn, e.g. 2026-Q1.",
            field="period",
        )
    return period.strip()


def _check_cutoff(cutoff: dt.date, today: dt.date) -> None:
    if not isinstance(cutoff, dt.date) or isinstance(cutoff, dt.datetime):
        raise CutoffInvalid(
            "Tanggal batas harus berupa tanggal.", "The cut-off must be a date.", field="cutoff"
        )
    if cutoff > today:
        raise CutoffInvalid(
            f"Tanggal batas {cutoff.isoformat()} ada di masa depan (hari ini {today.isoformat()}).",
            f"The cut-off {cutoff.isoformat()} is in the future (today is {today.isoformat()}).",
            field="cutoff",
        )


def _check_actor(actor: Actor) -> None:
    scope = require_scope(actor, RANKING_RUN)
    if not scope.national:
        raise PermissionDenied(
            "Peringkat nasional hanya dapat dijalankan dengan kewenangan nasional.",
            "The national ranking can only be run with national scope.",
        )


def model_resolve(model: pmt.PmtModel | str | Path | None) -> pmt.PmtModel:
    """The model object for `model`: an artefact, a path to one, or None for the shipped default."""
    if model is None:
        return pmt.load_default_model()
    if isinstance(model, pmt.PmtModel):
        return model
    return pmt.load_model(model)


def _work_root(work_dir: str | Path | None) -> Path:
    root = Path(work_dir or os.environ.get("DTSEN_RANKING_WORK_DIR") or Path(settings.DATA_DIR) / "ranking")
    root.mkdir(parents=True, exist_ok=True)
    return root


# -- the run -------------------------------------------------------------------------------------------


def ranking_run(
    *,
    actor: Actor,
    period: str,
    cutoff: dt.date,
    engine: str = "duckdb",
    model: pmt.PmtModel | str | Path | None = None,
    method: str = RankMethod.WINDOW,
    work_dir: str | Path | None = None,
    keep_files: bool = False,
    progress: Callable[[str], None] | None = None,
) -> RankingRun:
    """Rank every family of the register as of `cutoff` (see the module docstring); returns the finished run.

    Raises PermissionDenied (needs ``ranking.run`` with national scope), PeriodInvalid, CutoffInvalid,
    pmt.ArtefactInvalid / ModelUnsupported (model), NothingToRank (no family, or none rankable)."""
    _check_actor(actor)
    period = _check_period(period)
    now = timezone.now()
    _check_cutoff(cutoff, timezone.localdate(now))
    if engine not in ENGINES:
        raise RankingError(f"Mesin '{engine}' tidak dikenal.", f"Unknown engine '{engine}'.", field="engine")
    if method not in RankMethod.values:
        raise RankingError(f"Metode '{method}' tidak dikenal.", f"Unknown method '{method}'.", field="method")
    resolved = model_resolve(model)
    tables = model_tables(resolved)
    frozen_at = freeze_instant(cutoff, now)
    if not Family.history.filter(history_date__lt=frozen_at).exists():
        raise NothingToRank(
            f"Tidak ada keluarga terdaftar per {cutoff.isoformat()}; tidak ada yang diperingkat.",
            f"No family was registered as of {cutoff.isoformat()}; there is nothing to rank.",
        )
    run = _run_start(actor=actor, period=period, cutoff=cutoff, frozen_at=frozen_at, engine=engine,
                     method=method, model=resolved, score_scale=tables.score_scale)  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix=f"run-{run.pk}-", dir=_work_root(work_dir)))
    try:
        _run_work(run, actor=actor, model=resolved, tables=tables, tmp=tmp, progress=progress)
    except Exception as exc:
        ranking_run_fail(actor=actor, run=run, reason=_error_text(exc))
        raise
    finally:
        if not keep_files:
            shutil.rmtree(tmp, ignore_errors=True)
    run.refresh_from_db()
    return run


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationFailed | Conflict):
        return f"{exc.code}: {exc.message_id} / {exc.message_en}"
    return f"{type(exc).__name__}: {exc}"[:2000]


@transaction.atomic
def _run_start(
    *, actor: Actor, period: str, cutoff: dt.date, frozen_at: dt.datetime, engine: str, method: str,
    model: pmt.PmtModel, score_scale: int,
) -> RankingRun:  # fmt: skip
    previous = _previous_finished()
    run = RankingRun.objects.create(
        period=period, cutoff=cutoff, frozen_at=frozen_at, engine=engine, method=method,
        model_id=model.model_id,
        model_sha256=model.fingerprint(), model_artefact=model.to_dict(), score_scale=score_scale,
        previous_run=previous, status=RunStatus.RUNNING,
        created_by_id=actor.pk if actor.is_authenticated else None,
    )  # fmt: skip
    audit_record(actor=actor, action="ranking.run_start", object_type="rankingrun", object_id=run.pk,
                 after={"period": period, "cutoff": cutoff, "frozen_at": frozen_at, "engine": engine,
                        "method": method, "model_id": model.model_id, "model_sha256": run.model_sha256,
                        "previous_run": previous.pk if previous else None},
                 reason=f"Peringkat {period} / ranking {period}", channel="system")  # fmt: skip
    return run


def _previous_finished(exclude: int | None = None) -> RankingRun | None:
    qs = RankingRun.objects.filter(status=RunStatus.FINISHED)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.order_by("-finished_at", "-pk").first()


def _step(
    progress: Callable[[str], None] | None, name: str, timings: dict[str, float], started: float
) -> float:
    now = time.monotonic()
    timings[name] = round(now - started, 3)
    if progress is not None:
        progress(name)
    return now


def _run_work(
    run: RankingRun, *, actor: Actor, model: pmt.PmtModel, tables: q.ModelTables, tmp: Path,
    progress: Callable[[str], None] | None,
) -> None:  # fmt: skip
    timings: dict[str, float] = {}
    mark = time.monotonic()
    con = duckdb_connect(temp_directory=tmp / "duckdb.tmp")
    engine: BatchEngine | None = None
    try:
        snap = registry_snapshot(
            cutoff=run.cutoff, frozen_at=run.frozen_at, out_dir=tmp / "snapshot", con=con
        )
        mark = _step(progress, "snapshot", timings, mark)
        if snap.counts["families"] == 0:
            raise _nothing(run.cutoff)
        _raw_families(con, snap)
        mark = _step(progress, "covariates", timings, mark)
        pl.features_prepare(con, model)
        features_path: Path | None = None
        if run.engine == "spark":
            from dtsen.ranking.engine.spark import SparkEngine

            features_path = pl.features_write(con, tmp / "features")
            engine = SparkEngine()
        else:
            engine = DuckDBEngine(con)
        mark = _step(progress, "features", timings, mark)
        # DuckDB streams a one-level ranking straight into the results and runs the two-level ranking one
        # group of buckets at a time; Spark writes the ranking as Parquet.
        if isinstance(engine, DuckDBEngine) and run.method == RankMethod.TWO_LEVEL:
            rank = pl.rank_chunked(engine, tables, out_dir=tmp, chunks=pl.chunks_for(con))
        else:
            rank = pl.score_and_rank(engine, tables, out_dir=tmp, method=run.method,
                                     features_path=features_path, materialise=run.engine != "duckdb")
        mark = _step(progress, "rank", timings, mark)
        if run.previous_run is not None:
            _previous_load(con, run.previous_run, tmp)
        else:
            pl.previous_empty(con)
        results_dir = pl.results_write(con, rank, tmp / "results")
        rank = pl.results_summary(con, rank, results_dir)
        not_rankable_dir = tmp / "not_rankable"
        nr_counts = pl.not_rankable_write(con, not_rankable_dir)
        if rank.families == 0:
            raise NothingToRank(
                f"Tidak ada keluarga yang dapat diperingkat per {run.cutoff.isoformat()} "
                f"({nr_counts['families']} keluarga, semuanya tidak dapat diperingkat).",
                f"No family can be ranked as of {run.cutoff.isoformat()} "
                f"({nr_counts['families']} families, none rankable).",
            )
        diffs = pl.diff_rows(con, results_dir)
        mark = _step(progress, "results", timings, mark)
        counts = {
            "families_in_snapshot": snap.counts["families"],
            "persons_in_snapshot": snap.counts["persons"],
            "conditions_in_snapshot": snap.counts["conditions"],
            "families_ranked": rank.families,
            "persons_ranked": rank.persons,
            "families_not_rankable": nr_counts["families"],
            "not_rankable_by_reason": {r: n for r, n in sorted(nr_counts.items()) if r != "families"},
        }
        ranking_run_finish(
            actor=actor, run=run, input_sha256=snap.sha256, engine_version=rank.engine_version,
            cut_points=rank.cut_points, counts=counts, timings=timings,
            results=_batches(con, _with_run(int(run.pk), results_dir, RESULT_COLUMNS)),
            not_rankable=_batches(con, _with_run(int(run.pk), not_rankable_dir, NOT_RANKABLE_COLUMNS)),
            diffs=diffs,
        )  # fmt: skip
        _step(progress, "write", timings, mark)
    finally:
        if engine is not None and not isinstance(engine, DuckDBEngine):
            engine.close()
        con.close()


def _previous_load(con: duckdb.DuckDBPyConnection, previous: RankingRun, tmp: Path) -> None:
    table = RankingResult._meta.db_table
    sql = f"SELECT family_id, desil, village_code FROM {table} WHERE run_id = %s"  # noqa: S608
    columns = [("family_id", "BIGINT"), ("desil", "SMALLINT"), ("village_code", "VARCHAR")]
    fetch_into(con, "previous", sql, [previous.pk], columns, work_dir=tmp)


def _with_run(run_id: int, directory: Path, columns: tuple[str, ...]) -> str:
    """The rows of a result directory with the run id in front, as the columns of the table."""
    names = ", ".join(c for c in columns if c != "run_id")
    return f"SELECT {run_id} AS run_id, {names} FROM read_parquet({sql_string(parquet_glob(directory))})"  # noqa: S608


def _nothing(cutoff: dt.date) -> NothingToRank:
    return NothingToRank(
        f"Tidak ada keluarga aktif per {cutoff.isoformat()}; tidak ada yang diperingkat.",
        f"No active family as of {cutoff.isoformat()}; there is nothing to rank.",
    )


def _raw_families(con: duckdb.DuckDBPyConnection, snap: Snapshot) -> None:
    """The view ``raw_families``: the covariates of every active family of the snapshot, with its id, village
    and whether it has a condition snapshot."""
    cov = family_covariates(
        families=str(snap.path("families")), persons=str(snap.path("persons")),
        conditions=str(snap.path("conditions")), as_of=snap.cutoff, con=con, as_arrow=True,
    )  # fmt: skip
    con.register("covariates", cov)
    con.execute(pl.raw_families_sql(snap.path("families"), snap.path("conditions")))


def _batches(con: duckdb.DuckDBPyConnection, query: str) -> Callable[[], Iterator[pa.RecordBatch]]:
    def read() -> Iterator[pa.RecordBatch]:
        yield from con.sql(query).to_arrow_reader(BATCH_ROWS)

    return read


def _locked(run: RankingRun, to: str) -> RankingRun:
    locked = RankingRun.objects.select_for_update().get(pk=run.pk)
    if to not in RUN_TRANSITIONS.get(locked.status, frozenset()):
        raise RunFinal(
            f"Peringkat #{locked.pk} sudah berstatus '{locked.status}' dan tidak dapat diubah.",
            f"Ranking run #{locked.pk} is already '{locked.status}' and cannot be changed.",
        )
    return locked


@transaction.atomic
def ranking_run_finish(
    *,
    actor: Actor,
    run: RankingRun,
    input_sha256: str,
    engine_version: str,
    cut_points: list[dict[str, Any]],
    counts: dict[str, Any],
    timings: dict[str, float],
    results: Callable[[], Iterator[pa.RecordBatch]],
    not_rankable: Callable[[], Iterator[pa.RecordBatch]],
    diffs: list[tuple[Any, ...]],
) -> RankingRun:
    """Write the results, the not-rankable list and the diff of a running run and mark it finished. A run
    that is already finished or failed is refused (RunFinal) and left untouched."""
    locked = _locked(run, RunStatus.FINISHED)
    write_started = time.monotonic()
    written = copy_in(RankingResult._meta.db_table, RESULT_COLUMNS, results())
    copy_in(NotRankable._meta.db_table, NOT_RANKABLE_COLUMNS, not_rankable())
    RankingDiff.objects.bulk_create(
        [RankingDiff(run=locked, region_code=region, ranked=ranked, same=same, entered=entered, left=left,
                     up=[int(x) for x in up], down=[int(x) for x in down])
         for region, ranked, same, entered, left, up, down in diffs],
        batch_size=1000,
    )  # fmt: skip
    if written != counts.get("families_ranked"):
        raise RankingError(
            f"Jumlah hasil tertulis ({written}) tidak sama dengan jumlah keluarga diperingkat.",
            f"Results written ({written}) differ from families ranked ({counts.get('families_ranked')}).",
        )
    summary = _diff_summary(diffs, has_previous=locked.previous_run_id is not None)
    locked.input_sha256 = input_sha256
    locked.engine_version = engine_version
    locked.cut_points = cut_points
    locked.counts = counts
    locked.diff_summary = summary
    locked.timings = {**timings, "write_db": round(time.monotonic() - write_started, 3)}
    locked.status = RunStatus.FINISHED
    locked.finished_at = timezone.now()
    locked.save(update_fields=["input_sha256", "engine_version", "cut_points", "counts", "diff_summary",
                               "timings", "status", "finished_at"])  # fmt: skip
    audit_record(actor=actor, action="ranking.run_finish", object_type="rankingrun", object_id=locked.pk,
                 before={"status": RunStatus.RUNNING},
                 after={"status": locked.status, "input_sha256": input_sha256,
                        "engine_version": engine_version,
                        "counts": counts, "diff": summary,
                        "cut_points": [{k: c[k] for k in ("desil", "upper_score", "upper_family_code")}
                                       for c in cut_points]},
                 reason=f"Peringkat {locked.period} selesai / ranking {locked.period} finished",
                 channel="system")  # fmt: skip
    return locked


def _diff_summary(diffs: list[tuple[Any, ...]], *, has_previous: bool) -> dict[str, Any]:
    up = [0] * (q.DESILS - 1)
    down = [0] * (q.DESILS - 1)
    totals = {"ranked": 0, "same": 0, "entered": 0, "left": 0}
    for _region, ranked, same, entered, left, u, d in diffs:
        totals["ranked"] += int(ranked)
        totals["same"] += int(same)
        totals["entered"] += int(entered)
        totals["left"] += int(left)
        up = [a + int(b) for a, b in zip(up, u, strict=True)]
        down = [a + int(b) for a, b in zip(down, d, strict=True)]
    return {"has_previous": has_previous, **totals, "up": up, "down": down, "regions": len(diffs)}


@transaction.atomic
def ranking_run_fail(*, actor: Actor, run: RankingRun, reason: str) -> RankingRun:
    """Mark a running run failed (an error, or an operator ending a run whose process died). A finished or
    failed run is refused (RunFinal)."""
    if not reason or not reason.strip():
        raise RankingError("Alasan wajib diisi.", "A reason is required.", field="reason")
    locked = _locked(run, RunStatus.FAILED)
    locked.status = RunStatus.FAILED
    locked.error = reason.strip()[:4000]
    locked.finished_at = timezone.now()
    locked.save(update_fields=["status", "error", "finished_at"])
    audit_record(actor=actor, action="ranking.run_fail", object_type="rankingrun", object_id=locked.pk,
                 before={"status": RunStatus.RUNNING}, after={"status": locked.status, "error": locked.error},
                 reason=locked.error[:500], channel="system")  # fmt: skip
    return locked


# -- between runs: provisional desil ---------------------------------------------------------------------


@dataclass(frozen=True)
class FamilyScore:
    """A family's model inputs, score and reasons it cannot be ranked, as of one instant."""

    family_id: int
    family_code: str
    cutoff: dt.date
    frozen_at: dt.datetime
    raw: dict[str, Any]
    region: str | None
    region_group: str | None
    score: int | None
    not_rankable: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ProvisionalDesil:
    """A desil from a finished run's cut-points for a family's state after that run: provisional until the
    next run ranks the family."""

    run: RankingRun
    family_id: int
    desil: int | None
    score: Decimal | None
    predicted_pce: Decimal | None
    region_group: str | None
    computed_at: dt.datetime
    not_rankable: list[tuple[str, str]]
    state: FamilyScore
    provisional: bool = True


def family_score(
    *, family_id: int, cutoff: dt.date, frozen_at: dt.datetime, model: pmt.PmtModel
) -> FamilyScore:
    """Score one family exactly as a run would (same snapshot rules, features SQL and scoring SQL)."""
    tables = model_tables(model)
    tmp = Path(tempfile.mkdtemp(prefix="family-", dir=_work_root(None)))
    con = duckdb_connect(memory_limit="512MB", temp_directory=tmp / "duckdb.tmp")
    try:
        snap = registry_snapshot(
            cutoff=cutoff, frozen_at=frozen_at, out_dir=tmp, con=con, family_ids=[family_id]
        )
        if snap.counts["families"] == 0:
            raise NotFound(
                "Keluarga belum terdaftar pada tanggal itu.", "The family was not registered at that time."
            )
        _raw_families(con, snap)
        pl.features_prepare(con, model)
        rows = con.sql("SELECT * FROM raw_families").to_arrow_table().to_pylist()
        code = str(con.sql("SELECT family_code FROM read_parquet(?)", params=[str(snap.path("families"))])
                   .fetchall()[0][0])  # fmt: skip
        if not rows:  # a removed family (status nonaktif) has no covariates
            return FamilyScore(family_id, code, cutoff, frozen_at, {}, None, None, None, [("removed", "")])
        raw = {k: v for k, v in rows[0].items() if k not in {"family_id", "village_code", "has_condition"}}
        village = str(rows[0]["village_code"])
        raw["province"] = int(village[:2]) if village[:2].isdigit() else None
        raw["regency"] = village[:5]
        reasons = [(str(r), str(d)) for _f, _c, _v, r, d in con.sql(
            "SELECT * FROM not_rankable ORDER BY reason").fetchall()]  # fmt: skip
        region_row = con.sql("SELECT region FROM features_all").fetchall()
        region = region_row[0][0] if region_row else None
        if reasons:
            return FamilyScore(family_id, code, cutoff, frozen_at, raw, region, None, None, reasons)
        engine = DuckDBEngine(con)
        engine.register_arrow("coefficients", tables.coefficients)
        engine.register_arrow("region_groups", tables.region_groups)
        engine.execute(q.features_view_sql())
        group = tables.group_names_sql("s.group_key")
        query = f"SELECT s.*, {group} AS region_group FROM ({q.score_sql(tables.feature_names)}) s"  # noqa: S608
        scored = engine.fetch(query).to_pylist()[0]
        return FamilyScore(family_id, code, cutoff, frozen_at, raw, region, str(scored["region_group"]),
                           int(scored["score"]), [])  # fmt: skip
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)


def ranking_provisional(*, family_id: int, run: RankingRun | None = None) -> ProvisionalDesil:
    """The provisional desil of a family as it is now, from `run`'s model and cut-points (default: the latest
    finished run). Not stored: it is recomputed on demand and replaced by the next run's desil."""
    run = run or _previous_finished()
    if run is None or run.status != RunStatus.FINISHED:
        raise NotFound("Belum ada peringkat yang selesai.", "There is no finished ranking run yet.")
    model = pmt.PmtModel.from_dict(run.model_artefact)
    now = timezone.now()
    state = family_score(family_id=family_id, cutoff=timezone.localdate(now), frozen_at=now, model=model)
    desil = score = pce = None
    if state.score is not None:
        desil = q.desil_from_cut_points(state.score, state.family_code, run.cut_points)
        score = run.score_decimal(state.score)
        pce = score.exp().quantize(Decimal("0.01")) if score < 27 else None
    return ProvisionalDesil(run=run, family_id=family_id, desil=desil, score=score, predicted_pce=pce,
                            region_group=state.region_group, computed_at=now, not_rankable=state.not_rankable,
                            state=state)  # fmt: skip


def family_changed_since(*, family_id: int, since: dt.datetime) -> bool:
    """Whether the family, any person who has ever been a member, or its condition snapshots changed at or
    after `since` (a family registered later counts as changed)."""
    if Family.history.filter(id=family_id, history_date__gte=since).exists():
        return True
    ever = Person.history.filter(family_id=family_id).values("id")
    if Person.history.filter(id__in=ever, history_date__gte=since).exists():
        return True
    return Condition.objects.filter(family_id=family_id, recorded_at__gte=since).exists()


__all__ = [
    "STEPS",
    "CutoffInvalid",
    "FamilyScore",
    "NotRankableReason",
    "NothingToRank",
    "PeriodInvalid",
    "ProvisionalDesil",
    "RankingError",
    "RunFinal",
    "family_changed_since",
    "family_score",
    "model_resolve",
    "ranking_provisional",
    "ranking_run",
    "ranking_run_fail",
    "ranking_run_finish",
]
