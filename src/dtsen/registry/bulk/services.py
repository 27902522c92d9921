"""`bulk_import`: whole-or-nothing, idempotent import of families, persons, conditions and exclusions.

1. read: the files are staged in DuckDB (NIKs checked, hashed and encrypted on the way);
2. validate: inside one database transaction (other writers wait), the rows of the register the files
   touch are read and every check runs; if any row is bad the transaction is rolled back untouched;
3. write: otherwise only the differences are written, in that same transaction, each with its version.

`rejected.csv` and `summary.json` are written to the report directory in every case.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from dtsen.accounts.permissions import REGISTRY_BULK
from dtsen.accounts.selectors import Actor, Scope, require_scope
from dtsen.accounts.services import system_actor
from dtsen.audit.services import audit_record
from dtsen.core.errors import NotFound, ValidationFailed
from dtsen.regions.selectors import region_subtree_codes
from dtsen.registry import choices as c
from dtsen.registry.bulk import report as rep
from dtsen.registry.bulk.door import bulk_door_check, default_report
from dtsen.registry.bulk.engine import Engine
from dtsen.registry.bulk.load import LOCKED_MODELS, SCHEMA_FIELDS, Stamp, Writer, plan_build, state_fetch
from dtsen.registry.bulk.read import (
    Ingested,
    Problem,
    Source,
    Staging,
    UnusableInput,
    source_ingest,
    sources_find,
    src_table_create,
)
from dtsen.registry.bulk.validate import max_lengths_from, validate
from dtsen.registry.schema import TABLES


class _Rollback(Exception):
    """Leaves the import transaction without writing (rows rejected, or a dry run)."""


@dataclass
class _Run:
    summary: rep.ImportSummary
    report_dir: Path
    started: float

    def lap(self, phase: str, since: float) -> float:
        now = time.monotonic()
        self.summary.timings[phase] = round(now - since, 3)
        return now


def default_reasons(sources: dict[str, Source]) -> dict[str, str]:
    """Per table: "Impor massal <file> / bulk import <file>", naming the file the rows came from."""
    out = {}
    for table in TABLES:
        name = sources[table].name if table in sources else table
        out[table] = f"Impor massal {name} / bulk import {name}"
    return out


def _report_dir(report_dir: str | Path | None, now: dt.datetime) -> Path:
    if report_dir:
        path = Path(report_dir)
    else:
        path = Path(settings.DATA_DIR) / "imports" / timezone.localtime(now).strftime("%Y%m%d-%H%M%S-%f")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _finish(run: _Run, problems: Iterable[tuple[Any, ...]], status: str) -> rep.ImportSummary:
    summary = run.summary
    summary.status = status
    summary.finished_at = timezone.now().isoformat()
    summary.timings["total"] = round(time.monotonic() - run.started, 3)
    rep.rejected_write(run.report_dir / "rejected.csv", problems)
    summary.message_id, summary.message_en = rep.summary_messages(summary)
    rep.summary_write(run.report_dir / "summary.json", summary)
    return summary


def _problem_rows(problems: Sequence[Problem]) -> list[tuple[Any, ...]]:
    return [(p.file, p.row, p.key, p.field, p.code, p.value) for p in problems]


def bulk_import(
    *,
    actor: Actor,
    paths: Sequence[str | Path],
    fmt: str = "auto",
    channel: str = c.Channel.IMPORT,
    reason: str | None = None,
    report_dir: str | Path | None = None,
    dry_run: bool = False,
    progress: bool = False,
    door_check: bool = False,
    door_report: str | Path | None = None,
) -> rep.ImportSummary:
    """Import the files at `paths` (directories or single files) as `actor`, who needs REGISTRY_BULK; every
    row must lie in the actor's scope. Returns the summary; `summary.exit_code` is 0, 1 or 2.

    `door_check`: before validating, check every person row new to the register against it (bulk/door.py) and
    write the likely duplicates to `door_report` (default: door-check.csv next to the persons file); the result
    is in `summary.door_check`. It never blocks the import."""
    scope = require_scope(actor, REGISTRY_BULK)
    if channel not in c.Channel.values:
        raise ValidationFailed(f"Kanal '{channel}' tidak dikenal.", f"Unknown channel '{channel}'.",
                               field="channel")
    if reason is not None and not reason.strip():
        raise ValidationFailed("Alasan perubahan wajib diisi.", "A reason for the change is required.",
                               field="reason")
    now = timezone.now()
    today = timezone.localdate(now)
    summary = rep.ImportSummary(status=rep.UNUSABLE, actor=actor.get_username(), channel=channel, reasons={},
                                started_at=now.isoformat(), dry_run=dry_run)
    run = _Run(summary, _report_dir(report_dir, now), time.monotonic())
    summary.report_dir = str(run.report_dir)
    try:
        sources = sources_find(paths, fmt=fmt)
    except UnusableInput as exc:
        summary.errors = len(exc.problems)
        return _finish(run, _problem_rows(exc.problems), rep.UNUSABLE)
    summary.reasons = {table: reason.strip() for table in TABLES} if reason else default_reasons(sources)
    with Staging() as staging:
        try:
            ingested = _read(staging, sources, today=today, progress=progress)
        except UnusableInput as exc:
            summary.errors = len(exc.problems)
            return _finish(run, _problem_rows(exc.problems), rep.UNUSABLE)
        run.lap("read", run.started)
        for table, got in ingested.items():
            summary.files[table] = {"file": str(got.source.path), "format": got.source.format,
                                    "rows": got.rows, "ignored_columns": got.extra_columns}
        if door_check and "persons" in sources:
            mark = time.monotonic()
            door = bulk_door_check(staging, actor=actor, report=Path(door_report or default_report(sources)),
                                   file_name=sources["persons"].name, progress=progress)
            summary.door_check = door.as_dict()
            run.lap("door check", mark)
        stamp = Stamp(user_id=actor.pk if actor.is_authenticated else None, channel=channel,
                      reasons=summary.reasons, now=now, today=today)
        return _validate_and_write(run, staging, sources, ingested, scope=scope, stamp=stamp, dry_run=dry_run,
                                   progress=progress)


def _read(
    staging: Staging, sources: dict[str, Source], *, today: dt.date, progress: bool
) -> dict[str, Ingested]:
    villages = list(region_subtree_codes("", level=4))
    if not villages:
        raise UnusableInput([Problem("", None, "village_code", "regions_not_loaded")])
    staging.con.execute("CREATE TABLE villages AS SELECT unnest(?::VARCHAR[]) AS code", [villages])
    ingested = {}
    for table in TABLES.values():
        if table.name in sources:
            ingested[table.name] = source_ingest(staging, sources[table.name], today=today, progress=progress)
        else:
            src_table_create(staging, table)
    return ingested


def _validate_and_write(
    run: _Run, staging: Staging, sources: dict[str, Source], ingested: dict[str, Ingested], *, scope: Scope,
    stamp: Stamp, dry_run: bool, progress: bool,
) -> rep.ImportSummary:
    summary = run.summary
    engine = Engine.current()
    files = {t: (sources[t].name if t in sources else t) for t in TABLES}
    malformed = [p for got in ingested.values() for p in got.malformed]
    status = rep.IMPORTED
    try:
        with transaction.atomic():
            mark = time.monotonic()
            engine.begin([m._meta.db_table for m in LOCKED_MODELS])
            summary.changes["register_rows_read"] = state_fetch(engine, staging, progress=progress)
            mark = run.lap("register read", mark)
            validate(staging, files=files, today=stamp.today, scope=scope,
                     max_lengths=max_lengths_from(SCHEMA_FIELDS))
            if malformed:
                insert = "INSERT INTO errors VALUES (?, ?, ?, ?, ?, ?)"
                staging.con.executemany(insert, _problem_rows(malformed))
            mark = run.lap("validate", mark)
            if staging.count("errors"):
                _count_errors(staging, summary, files)
                status = rep.REJECTED
                raise _Rollback
            plan = plan_build(staging, engine, today=stamp.today)
            summary.changes.update(plan.as_dict())
            mark = run.lap("plan", mark)
            if dry_run:
                status = rep.DRY_RUN
                raise _Rollback
            total = sum(k.created + k.updated for k in plan.counts.values()) + plan.kk_numbers
            with tqdm(total=total, desc="menulis/writing", unit=" baris/rows", disable=not progress) as bar:
                writer = Writer(engine, staging, stamp, plan, progress=bar.update)
                writer.run()
            summary.versions = writer.versions
            run.lap("write", mark)
            summary.timings.update({f"write: {k}": v for k, v in writer.timings.items()})
            audit_record(
                actor=get_user_model().objects.filter(pk=stamp.user_id).first() if stamp.user_id else None,
                action="bulk_import",
                object_type="import",
                object_id=run.report_dir.name,
                after={"files": files, "changes": summary.changes, "versions": summary.versions},
                reason="; ".join(sorted(set(stamp.reasons.values()))),
                channel=stamp.channel,
            )
    except _Rollback:
        pass
    finally:
        engine.temps_drop()
    if status == rep.REJECTED:
        rows = staging.con.execute(
            'SELECT file, "row", "key", field, code, value FROM errors '
            'ORDER BY file, "row" NULLS FIRST, field, code'
        )
        return _finish(run, _fetch_rows(rows), status)
    return _finish(run, [], status)


def _count_errors(staging: Staging, summary: rep.ImportSummary, files: dict[str, str]) -> None:
    summary.errors = staging.count("errors")
    summary.rejected_rows = int(staging.scalar('SELECT count(DISTINCT (file, "row")) FROM errors'))
    by_code = staging.con.execute("SELECT code, count(*) FROM errors GROUP BY code ORDER BY code").fetchall()
    summary.errors_by_code = {code: int(n) for code, n in by_code}
    for table, name in files.items():
        if table in summary.files:
            summary.files[table]["rejected_rows"] = int(
                staging.scalar('SELECT count(DISTINCT "row") FROM errors WHERE file = ?', [name])
            )


def _fetch_rows(cursor: Any) -> Iterator[tuple[Any, ...]]:
    while chunk := cursor.fetchmany(10_000):
        yield from chunk


def actor_for(username: str | None) -> Actor:
    """The acting user of a command: the named (active) user, else the system actor."""
    if not username:
        return system_actor()
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise NotFound(f"Pengguna '{username}' tidak ditemukan atau tidak aktif.",
                       f"User '{username}' not found or inactive.")
    return user
