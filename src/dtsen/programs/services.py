"""Writes of the programs app: rule editions, quotas, eligibility runs (and simulations).

Every service takes `actor=` and is audited. An eligibility run freezes its inputs as of a date (inputs.py),
decides every program with the rules in force on that date (or the rules given, for a simulation), and stores
one result row per candidate. A finished run never changes; `eligibility_rerun` recomputes a past run with
the rules it stored, which must give the same rows.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dtsen.accounts.permissions import PROGRAM_RUN
from dtsen.accounts.selectors import Actor, author_of, require_scope
from dtsen.audit.services import audit_record
from dtsen.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from dtsen.programs.engine import RESULT_COLUMNS, eligibility_compute
from dtsen.programs.inputs import inputs_build
from dtsen.programs.models import EligibilityResult, EligibilityRun, Quota, RuleEdition, RunStatus
from dtsen.programs.rules import RuleSet, rules_default, rules_parse
from dtsen.ranking.engine import engine_open
from dtsen.ranking.engine.base import parquet_glob
from dtsen.ranking.engine.duck import DuckDBEngine, duckdb_connect, sql_string
from dtsen.ranking.engine.transfer import copy_in
from dtsen.ranking.models import RankingRun
from dtsen.ranking.models import RunStatus as RankingStatus
from dtsen.ranking.snapshot import freeze_instant

_PERIOD = re.compile(r"(\d{4})-T([1-4])")
DB_COLUMNS = ("run_id", "program", "family_id", "person_id", "region_code", "village_code", "desil", "percentile",
              "outcome", "reason", "queue_no", "waiting_no", "amount", "components")


def _national(actor: Actor) -> None:
    scope = require_scope(actor, PROGRAM_RUN)
    if not scope.national:
        raise PermissionDenied("Hanya pengguna nasional yang dapat menjalankan ini.",
                               "Only national users can run this.")


def period_check(period: str) -> tuple[int, int]:
    m = _PERIOD.fullmatch(period or "")
    if not m:
        raise ValidationFailed("Periode harus ditulis YYYY-Tn (tahap 1-4), misalnya 2026-T1.",
                               "The period must be YYYY-Tn (tahap 1-4), e.g. 2026-T1.", field="period")
    return int(m.group(1)), int(m.group(2))


# -------------------------------------------------------------------------------------------- rules


def rules_in_force(day: dt.date) -> RuleSet:
    """The edition with the latest `valid_from` on or before `day`; the shipped default when none is stored."""
    row = RuleEdition.objects.filter(valid_from__lte=day).order_by("-valid_from", "-pk").first()
    return rules_parse(row.text) if row is not None else rules_default()


@transaction.atomic
def rule_edition_add(*, actor: Actor, text: str, valid_from: dt.date, reason: str) -> RuleEdition:
    """A rule change: a new dated edition. Runs of earlier periods keep the rules they were decided under."""
    _national(actor)
    if not reason.strip():
        raise ValidationFailed("Alasan perubahan aturan wajib diisi.", "A reason is required.", field="reason")
    rules = rules_parse(text)
    if not rules.edition or RuleEdition.objects.filter(code=rules.edition).exists():
        raise ValidationFailed("Kode edisi aturan kosong atau sudah dipakai.",
                               "The edition code is empty or already used.", field="edition")
    row = RuleEdition.objects.create(code=rules.edition, valid_from=valid_from, legal_basis=rules.legal_basis[:300],
                                     text=rules.text, sha256=rules.sha256, created_by=author_of(actor))
    audit_record(actor=actor, action="rule_edition_add", object_type="rule_edition", object_id=row.pk,
                 after={"code": row.code, "valid_from": valid_from.isoformat(), "sha256": row.sha256}, reason=reason)
    return row


@transaction.atomic
def quota_set(*, actor: Actor, period: str, program: str, region_code: str, quota: int, reason: str) -> Quota:
    _national(actor)
    period_check(period)
    rules_default().program(program)
    if quota < 0:
        raise ValidationFailed("Kuota tidak boleh negatif.", "The quota cannot be negative.", field="quota")
    row = Quota.objects.select_for_update().filter(period=period, program=program, region_code=region_code).first()
    before = {"quota": row.quota} if row else None
    if row is None:
        row = Quota(period=period, program=program, region_code=region_code, set_by=actor)  # type: ignore[misc]
    row.quota = quota
    row.set_by = actor  # type: ignore[assignment]
    row.save()
    audit_record(actor=actor, action="quota_set", object_type="quota", object_id=row.pk, before=before,
                 after={"period": period, "program": program, "region_code": region_code, "quota": quota},
                 reason=reason)
    return row


# ----------------------------------------------------------------------------------------- eligibility


def _latest_ranking() -> RankingRun:
    run = RankingRun.objects.filter(status=RankingStatus.FINISHED).order_by("-finished_at", "-pk").first()
    if run is None:
        raise ApplicationError("Belum ada pemeringkatan yang selesai.", "No finished ranking run yet.",
                               code="no_ranking_run")
    return run


def eligibility_run(
    *,
    actor: Actor,
    period: str,
    as_of: dt.date,
    ranking_run: RankingRun | None = None,
    rules: RuleSet | None = None,
    simulation: bool = False,
    engine: str = "duckdb",
    work_dir: str | Path | None = None,
) -> EligibilityRun:
    """Decide every program for `period` over the register as of `as_of`; returns the finished run."""
    _national(actor)
    period_check(period)
    if as_of > timezone.localdate():
        raise ValidationFailed("Tanggal data tidak boleh di masa depan.", "The as-of date cannot be in the future.",
                               field="as_of")
    ranking = ranking_run or _latest_ranking()
    if ranking.status != RankingStatus.FINISHED:
        raise ValidationFailed("Pemeringkatan ini belum selesai.", "That ranking run is not finished.",
                               field="ranking_run")
    used = rules or rules_in_force(as_of)
    with transaction.atomic():
        run = EligibilityRun.objects.create(
            period=period, as_of=as_of, ranking_run=ranking, edition=used.edition, rules_text=used.text,
            rules_sha256=used.sha256, simulation=simulation, engine=engine, created_by=author_of(actor),
        )
        audit_record(actor=actor, action="eligibility_run_start", object_type="eligibility_run", object_id=run.pk,
                     after={"period": period, "as_of": as_of.isoformat(), "ranking_run": ranking.pk,
                            "edition": used.edition, "rules_sha256": used.sha256, "simulation": simulation})
    root = Path(work_dir or Path(settings.DATA_DIR) / "work")
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"elig-{run.pk}-", dir=root))
    try:
        _work(run, used, tmp, actor)
    except Exception as exc:
        EligibilityRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, error=str(exc)[:2000],
                                                        finished_at=timezone.now())
        with transaction.atomic():
            audit_record(actor=actor, action="eligibility_run_fail", object_type="eligibility_run",
                         object_id=run.pk, after={"error": str(exc)[:500]})
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    run.refresh_from_db()
    return run


def _work(run: EligibilityRun, rules: RuleSet, tmp: Path, actor: Actor) -> None:
    started = time.monotonic()
    con = duckdb_connect(temp_directory=tmp / "duckdb.tmp")
    try:
        frozen_at = freeze_instant(run.as_of, timezone.now())
        paths, input_sha = inputs_build(con=con, out_dir=tmp / "inputs", as_of=run.as_of, frozen_at=frozen_at,
                                        ranking_run=run.ranking_run, period=run.period)
        built = time.monotonic()
        engine = DuckDBEngine(con) if run.engine == "duckdb" else engine_open(run.engine)
        try:
            results = eligibility_compute(engine, paths, rules, tmp / "out")
            version = engine.version
        finally:
            if not isinstance(engine, DuckDBEngine):
                engine.close()
        computed = time.monotonic()
        source = f"read_parquet({sql_string(parquet_glob(results))})"
        renamed = {"regency_code": "regency_code AS region_code", "reason": "COALESCE(reason, '') AS reason",
                   "components": "COALESCE(components, '') AS components"}
        names = ", ".join(renamed.get(c, c) for c in RESULT_COLUMNS)
        query = (f"SELECT {run.pk} AS run_id, {names} FROM {source} "  # noqa: S608
                 "ORDER BY program, regency_code, family_id, person_id")
        counts: dict[str, Any] = {}
        summary = f"SELECT program, outcome, count(*), sum(amount) FROM {source} GROUP BY ALL ORDER BY ALL"  # noqa: S608
        for program, outcome, n, amount in con.execute(summary).fetchall():
            counts.setdefault(program, {})[outcome] = int(n)
            counts[program]["amount"] = counts[program].get("amount", 0) + int(amount or 0)

        def batches() -> Iterator[pa.RecordBatch]:
            yield from con.sql(query).to_arrow_reader(batch_size=100_000)

        with transaction.atomic():
            written = copy_in(EligibilityResult._meta.db_table, DB_COLUMNS, batches())
            EligibilityRun.objects.filter(pk=run.pk).update(
                status=RunStatus.FINISHED, finished_at=timezone.now(), engine_version=version,
                input_sha256=input_sha,
                counts={"programs": counts, "rows": written,
                        "timings": {"inputs": round(built - started, 3), "engine": round(computed - built, 3),
                                    "write_db": round(time.monotonic() - computed, 3)}},
            )
            audit_record(actor=actor, action="eligibility_run_finish", object_type="eligibility_run",
                         object_id=run.pk, after={"rows": written, "input_sha256": input_sha, "counts": counts})
    finally:
        con.close()


def eligibility_rerun(*, actor: Actor, run: EligibilityRun, work_dir: str | Path | None = None) -> EligibilityRun:
    """Recompute a past run with the rules, date and ranking it stored (a simulation row: nothing published)."""
    try:
        original = EligibilityRun.objects.get(pk=run.pk, status=RunStatus.FINISHED)
    except EligibilityRun.DoesNotExist:
        raise NotFound("Proses kelayakan tidak ditemukan.", "Eligibility run not found.") from None
    return eligibility_run(actor=actor, period=original.period, as_of=original.as_of,
                           ranking_run=original.ranking_run, rules=rules_parse(original.rules_text),
                           simulation=True, engine=original.engine, work_dir=work_dir)
