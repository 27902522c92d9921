"""Exports of ranking runs and program lists (Parquet/CSV + manifest), their schedules. Reference imports are
in `reference.py`.

An export reads the database in one streamed query per table (`stream.batches`), limited to the actor's region
scope, writes every format batch by batch into a temporary folder next to the destination and renames it into
place when complete: a reader never sees a half-written export. The export is then recorded (`ExportRecord`)
and audited (who, what, rows, checksums) in one transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.db import connection, connections, transaction
from django.utils import timezone

from dtsen.accounts.permissions import PROGRAM_VIEW, REGISTRY_BULK, REGISTRY_VIEW
from dtsen.accounts.selectors import Actor, Scope, author_of, require_scope, scope_for
from dtsen.audit.services import audit_record
from dtsen.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from dtsen.exchange import datasets as ds
from dtsen.exchange.files import FORMATS, MANIFEST_VERSION, TableWriter, manifest_write, table_schema_doc
from dtsen.exchange.models import Cadence, Dataset, ExportRecord, ExportSchedule, ExportStatus
from dtsen.exchange.stream import batches
from dtsen.programs.models import EligibilityResult, EligibilityRun, Outcome
from dtsen.programs.models import RunStatus as ProgramRunStatus
from dtsen.ranking.models import RankingRun, RunStatus
from dtsen.registry.crypto import nik_decrypt, nik_mask

NIK_MODES = ("none", "masked", "keyed", "plain")
EXPORT_STREAMS = 2  # parallel COPY streams for a large table on PostgreSQL (one PostgreSQL backend each)
PARALLEL_MIN_SPAN = 100_000  # below this many ids per stream, one stream
Progress = Callable[[str, int], None]


class ExportExists(Conflict):
    code = "export_exists"


def _invalid(field: str, message_id: str, message_en: str) -> ValidationFailed:
    return ValidationFailed(message_id, message_en, field=field)


def _formats(formats: Sequence[str]) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(f.strip().lower() for f in formats if f.strip()))
    if not out or any(f not in FORMATS for f in out):
        raise _invalid("formats", "Format harus parquet dan/atau csv.", "Formats must be parquet and/or csv.")
    return out


def _scope(actor: Actor, permission: str, region: str | None) -> Scope:
    """The actor's scope for `permission`, narrowed to `region` (which the scope must cover)."""
    scope = require_scope(actor, permission)
    if not region:
        return scope
    if not scope.covers(region):
        raise PermissionDenied(
            "Wilayah di luar kewenangan Anda.", "The region is outside your scope.", region=region
        )
    return Scope(False, (region,))


def _scope_where(scope: Scope, column: str) -> tuple[str, list[Any]]:
    if scope.national:
        return "1 = 1", []
    parts, params = [], []
    for code in scope.prefixes:
        parts.append(f"({column} = %s OR {column} LIKE %s)")
        params += [code, code + ".%"]
    return "(" + " OR ".join(parts) + ")", params


def _scope_doc(scope: Scope) -> list[str]:
    return ["national"] if scope.national else list(scope.prefixes)


@dataclass(frozen=True)
class NikOption:
    mode: str = "none"
    link_key: bytes = b""
    agreement: str = ""

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"dtsen-link-key-id" + self.link_key).hexdigest()[:16] if self.link_key else ""


def nik_option(*, actor: Actor, mode: str, link_key: bytes = b"", agreement: str = "", region: str | None) -> NikOption:
    """Validate the personal-data option of a program list (docs/exchange.md, UU 27/2022)."""
    if mode not in NIK_MODES:
        raise _invalid("nik", "Mode NIK tidak dikenal.", "Unknown NIK mode.")
    if mode == "keyed" and len(link_key) < 32:
        raise _invalid("link_key", "Kunci tautan mitra minimal 32 bita.",
                       "The partner link key needs 32 bytes or more.")
    if mode == "plain":
        bulk = scope_for(actor, REGISTRY_BULK)
        if bulk.empty or (region and not bulk.covers(region)) or (not region and not bulk.national):
            raise PermissionDenied(
                "NIK utuh hanya untuk pemegang izin registry.bulk.",
                "A clear NIK is only for holders of registry.bulk.",
            )
        if not agreement.strip():
            raise _invalid("agreement", "NIK utuh memerlukan nomor perjanjian kerja sama dengan mitra.",
                           "A clear NIK needs the partner agreement reference.")  # fmt: skip
    return NikOption(mode=mode, link_key=link_key if mode == "keyed" else b"", agreement=agreement.strip())


def _nik_transform(option: NikOption) -> Callable[[str], str]:
    if option.mode == "masked":
        return nik_mask
    if option.mode == "keyed":
        key = option.link_key
        return lambda nik: hmac.new(key, nik.encode("ascii"), hashlib.sha256).hexdigest()
    return lambda nik: nik


def _with_nik(batch: pa.RecordBatch, transform: Callable[[str], str], schema: pa.Schema) -> pa.RecordBatch:
    tokens = batch.column(batch.num_columns - 1).to_pylist()
    values = [None if t is None else transform(nik_decrypt(t)) for t in tokens]
    arrays = [*batch.columns[:-1], pa.array(values, pa.string())]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


@dataclass(frozen=True)
class _Part:
    table: ds.Table
    where: str
    params: list[Any]
    nik: NikOption | None = None


def _write(
    *, directory: Path, stem: str, parts: Sequence[_Part], formats: tuple[str, ...], progress: Progress | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    files: list[dict[str, Any]] = []
    tables: dict[str, Any] = {}
    for part in parts:
        table = part.table
        select_cols = table.columns + ((ds.NIK_SOURCE,) if part.nik else ())
        read_schema = pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in select_cols])
        descriptions: dict[str, str] = {}
        out_schema = table.schema
        transform = None
        if part.nik:
            out_schema = table.schema.append(pa.field("nik", pa.string(), nullable=True))
            descriptions["nik"] = ds.NIK_DESCRIPTIONS[part.nik.mode]
            transform = _nik_transform(part.nik)
        sql = dataclasses.replace(table, columns=select_cols).select(part.where)
        writer = TableWriter(table=table, schema=out_schema, directory=directory, stem=f"{stem}-{table.name}",
                             formats=formats)  # fmt: skip
        ranges = _split_ranges(table, part) if transform is None else []
        try:
            if ranges:
                _write_parallel(writer, table, part, schema=read_schema, ranges=ranges, progress=progress)
            else:
                for batch in batches(sql, part.params, read_schema):
                    out = batch if transform is None else _with_nik(batch, transform, out_schema)
                    writer.write(out)
                    if progress:
                        progress(table.name, out.num_rows)
        except BaseException:
            writer.abort()
            raise
        files += writer.close()
        tables[table.name] = table_schema_doc(table, out_schema, descriptions)
    return files, tables


def _split_ranges(table: ds.Table, part: _Part) -> list[tuple[int, int]]:
    """Ranges of the table's split column for parallel COPY streams: PostgreSQL only, and only outside a
    transaction (each stream has its own connection, which would not see the caller's uncommitted rows)."""
    if EXPORT_STREAMS < 2 or not table.split_column or connection.vendor != "postgresql":
        return []
    if connection.in_atomic_block:
        return []
    column = table.split_column
    with connection.cursor() as cur:
        cur.execute(f"SELECT min({column}), max({column}) FROM {table.source} WHERE {part.where}",  # noqa: S608
                    part.params)  # fmt: skip
        lo, hi = cur.fetchone()
    if lo is None or hi - lo < EXPORT_STREAMS * PARALLEL_MIN_SPAN:
        return []
    step = (hi - lo + EXPORT_STREAMS) // EXPORT_STREAMS
    return [(lo + i * step, min(hi + 1, lo + (i + 1) * step)) for i in range(EXPORT_STREAMS)]


def _write_parallel(
    writer: TableWriter, table: ds.Table, part: _Part, *, schema: pa.Schema, ranges: list[tuple[int, int]],
    progress: Progress | None,
) -> None:  # fmt: skip
    """One COPY stream per range, each in a thread with its own connection, all writing to the same files under
    a lock (row groups follow the streams' arrival order; every row is written exactly once)."""
    lock = threading.Lock()
    errors: list[BaseException] = []
    sql = table.select(f"{part.where} AND {table.split_column} >= %s AND {table.split_column} < %s")

    def work(lo: int, hi: int) -> None:
        try:
            for batch in batches(sql, [*part.params, lo, hi], schema):
                with lock:
                    if errors:
                        return
                    writer.write(batch)
                    if progress:
                        progress(table.name, batch.num_rows)
        except BaseException as exc:  # re-raised in the calling thread
            with lock:
                errors.append(exc)
        finally:
            connections["default"].close()

    threads = [threading.Thread(target=work, args=r, name=f"export-{table.name}-{i}") for i, r in enumerate(ranges)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _username(actor: Actor) -> str:
    return actor.get_username() if getattr(actor, "is_authenticated", False) else ""


def _publish(tmp: Path, out: Path) -> None:
    if out.exists():
        if any(out.iterdir()):
            raise ExportExists("Folder tujuan sudah berisi berkas.", "The destination folder is not empty.",
                               folder=str(out))  # fmt: skip
        out.rmdir()
    os.replace(tmp, out)


def _export(
    *,
    actor: Actor,
    dataset: str,
    key: str,
    out_dir: str | Path,
    stem: str,
    parts: Sequence[_Part],
    formats: tuple[str, ...],
    scope: Scope,
    about: dict[str, Any],
    params: dict[str, Any],
    nik: NikOption,
    schedule: ExportSchedule | None,
    progress: Progress | None,
) -> ExportRecord:
    out = Path(out_dir).resolve()
    if out.exists() and any(out.iterdir()):
        raise ExportExists("Folder tujuan sudah berisi berkas.", "The destination folder is not empty.",
                           folder=str(out))  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"
    tmp.mkdir()
    started = time.perf_counter()
    created_at = timezone.now()
    try:
        files, tables = _write(directory=tmp, stem=stem, parts=parts, formats=formats, progress=progress)
        manifest = {
            "manifest_version": MANIFEST_VERSION,
            "dataset": dataset,
            **about,
            "created_at": created_at.isoformat(),
            "created_by": _username(actor),
            "region_scope": _scope_doc(scope),
            "personal_data": {
                "nik": nik.mode,
                **({"link_key_id": nik.key_id} if nik.mode == "keyed" else {}),
                **({"partner_agreement": nik.agreement} if nik.agreement else {}),
                "legal_basis": "UU 27/2022 (Pelindungan Data Pribadi); docs/exchange.md",
            },
            "files": files,
            "tables": tables,
        }
        manifest_sha = manifest_write(tmp, manifest)
        _publish(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    rows = sum(f["rows"] for f in files if f["format"] == formats[0])
    try:
        with transaction.atomic():
            record = ExportRecord.objects.create(
                dataset=dataset, key=key, params=params, schedule=schedule, directory=str(out), files=files,
                rows=rows, manifest_sha256=manifest_sha, region_scope=_scope_doc(scope), nik_mode=nik.mode,
                seconds=round(time.perf_counter() - started, 3), created_by=author_of(actor),
            )  # fmt: skip
            audit_record(
                actor=actor, action="exchange.export", object_type="exportrecord", object_id=record.pk,
                after={"dataset": dataset, "key": key, "directory": str(out), "rows": rows,
                       "region_scope": _scope_doc(scope), "nik": nik.mode, "agreement": nik.agreement,
                       "manifest_sha256": manifest_sha,
                       "files": [{k: f[k] for k in ("name", "rows", "sha256")} for f in files]},
                reason=params.get("reason", ""), channel="system" if schedule else "admin",
            )  # fmt: skip
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return record


def _finished_ranking_run(run_id: int) -> RankingRun:
    try:
        run = RankingRun.objects.get(pk=run_id)
    except (RankingRun.DoesNotExist, ValueError, TypeError):
        raise NotFound("Peringkat tidak ditemukan.", "Ranking run not found.") from None
    if run.status != RunStatus.FINISHED:
        raise Conflict("Peringkat belum selesai.", "The ranking run is not finished.", code="run_not_finished")
    return run


def export_ranking(
    *,
    actor: Actor,
    run_id: int,
    out_dir: str | Path,
    formats: Sequence[str] = ("parquet",),
    region: str | None = None,
    include_not_rankable: bool = True,
    schedule: ExportSchedule | None = None,
    key: str | None = None,
    progress: Progress | None = None,
) -> ExportRecord:
    """Export a finished ranking run's per-family results (and its not-rankable list) for the actor's regions."""
    fmts = _formats(formats)
    scope = _scope(actor, REGISTRY_VIEW, region)
    run = _finished_ranking_run(run_id)
    parts = []
    for table in ds.DATASETS["ranking"]:
        if table is ds.RANKING_NOT_RANKABLE and not include_not_rankable:
            continue
        clause, params = _scope_where(scope, table.village_column)
        parts.append(_Part(table, f"{table.run_column} = %s AND {clause}", [run.pk, *params]))
    about = {
        "title": f"Peringkat kesejahteraan (desil) {run.period} / Welfare ranking {run.period}",
        "ranking_run": {"id": run.pk, "period": run.period, "cutoff": run.cutoff.isoformat(),
                        "frozen_at": run.frozen_at.isoformat(), "model_id": run.model_id,
                        "model_sha256": run.model_sha256, "input_sha256": run.input_sha256,
                        "score_scale": run.score_scale,
                        "finished_at": run.finished_at.isoformat() if run.finished_at else None},
    }  # fmt: skip
    return _export(
        actor=actor, dataset=Dataset.RANKING, key=key or f"ranking:run={run.pk}", out_dir=out_dir,
        stem=f"ranking-{run.pk}", parts=parts, formats=fmts, scope=scope, about=about,
        params={"run": run.pk, "formats": list(fmts), "region": region or ""}, nik=NikOption(),
        schedule=schedule, progress=progress,
    )  # fmt: skip


def program_run_resolve(ref: str | int) -> EligibilityRun:
    """An eligibility run by id, or the latest finished (not simulated) run of a period such as 2026-T1."""
    text = str(ref).strip()
    qs = EligibilityRun.objects.filter(status=ProgramRunStatus.FINISHED, simulation=False)
    if text.isdigit():
        run = qs.filter(pk=int(text)).first()
    elif re.fullmatch(r"[0-9]{4}-T[0-9]", text):
        run = qs.filter(period=text).order_by("-finished_at", "-pk").first()
    else:
        run = None
    if run is None:
        raise NotFound("Penetapan kelayakan tidak ditemukan.", "Eligibility run not found.", run=text)
    return run


def export_program(
    *,
    actor: Actor,
    program: str,
    run_ref: str | int,
    out_dir: str | Path,
    formats: Sequence[str] = ("parquet",),
    outcomes: Sequence[str] = (Outcome.SELECTED,),
    region: str | None = None,
    nik: NikOption | None = None,
    schedule: ExportSchedule | None = None,
    key: str | None = None,
    progress: Progress | None = None,
) -> ExportRecord:
    """Export one program's list of an eligibility run (by default the selected KPM) for the actor's regions."""
    fmts = _formats(formats)
    scope = _scope(actor, PROGRAM_VIEW, region)
    nik = nik or NikOption()
    bad = [o for o in outcomes if o not in Outcome.values]
    if bad or not outcomes:
        raise _invalid("outcomes", "Hasil tidak dikenal.", "Unknown outcome.")
    run = program_run_resolve(run_ref)
    if not EligibilityResult.objects.filter(run=run, program=program).exists():
        raise NotFound("Program tidak ada dalam penetapan ini.", "The program is not in this run.", program=program)
    table = ds.PROGRAM_LIST
    clause, params = _scope_where(scope, table.village_column)
    marks = ", ".join(["%s"] * len(outcomes))
    where = f"{table.run_column} = %s AND e.program = %s AND e.outcome IN ({marks}) AND {clause}"
    part = _Part(table, where, [run.pk, program, *outcomes, *params], nik if nik.mode != "none" else None)
    about = {
        "title": f"Daftar program {program} {run.period} / Program list {program} {run.period}",
        "eligibility_run": {"id": run.pk, "period": run.period, "as_of": run.as_of.isoformat(),
                            "ranking_run": run.ranking_run_id, "edition": run.edition,
                            "rules_sha256": run.rules_sha256},
        "program": program,
        "outcomes": list(outcomes),
    }  # fmt: skip
    return _export(
        actor=actor, dataset=Dataset.PROGRAM, key=key or f"program:{program}:run={run.pk}", out_dir=out_dir,
        stem=f"program-{program}-{run.pk}", parts=[part], formats=fmts, scope=scope, about=about,
        params={"program": program, "run": run.pk, "formats": list(fmts), "outcomes": list(outcomes),
                "region": region or "", "nik": nik.mode, "agreement": nik.agreement},
        nik=nik, schedule=schedule, progress=progress,
    )  # fmt: skip


# --- schedules -------------------------------------------------------------------------------------------

SCHEDULE_PARAMS = {"program", "formats", "outcomes", "region"}


@transaction.atomic
def schedule_create(
    *, actor: Actor, name: str, dataset: str, cadence: str, destination: str, params: dict[str, Any] | None = None
) -> ExportSchedule:
    """A standing export order; it runs as `actor` (their scope limits the rows). Needs registry.bulk."""
    require_scope(actor, REGISTRY_BULK)
    params = dict(params or {})
    if dataset not in Dataset.values:
        raise _invalid("dataset", "Jenis data tidak dikenal.", "Unknown dataset.")
    if cadence not in Cadence.values:
        raise _invalid("cadence", "Jadwal tidak dikenal.", "Unknown cadence.")
    if set(params) - SCHEDULE_PARAMS:
        raise _invalid("params", "Parameter jadwal tidak dikenal.", "Unknown schedule parameter.")
    if dataset == Dataset.PROGRAM and not params.get("program"):
        raise _invalid("program", "Program wajib diisi.", "A program is required.")
    _formats(params.get("formats", ["parquet"]))
    if not name.strip() or not destination.strip():
        raise _invalid("name", "Nama dan folder tujuan wajib diisi.", "Name and destination are required.")
    if ExportSchedule.objects.filter(name=name.strip()).exists():
        raise Conflict("Nama jadwal sudah dipakai.", "The schedule name is taken.", code="schedule_exists")
    schedule = ExportSchedule.objects.create(
        name=name.strip(), dataset=dataset, cadence=cadence, destination=str(Path(destination).resolve()),
        params=params, owner=author_of(actor),
    )  # fmt: skip
    audit_record(actor=actor, action="exchange.schedule_create", object_type="exportschedule",
                 object_id=schedule.pk, after={"name": schedule.name, "dataset": dataset, "cadence": cadence,
                                               "destination": schedule.destination, "params": params})  # fmt: skip
    return schedule


@dataclass(frozen=True)
class ScheduleOutcome:
    schedule: ExportSchedule
    status: str
    message: str
    record: ExportRecord | None = None


def _schedule_target(schedule: ExportSchedule, today: dt.date) -> tuple[int | None, str]:
    if schedule.dataset == Dataset.RANKING:
        latest = RankingRun.objects.filter(status=RunStatus.FINISHED).order_by("-finished_at", "-pk").first()
        key = f"ranking:run={latest.pk}" if latest else ""
    else:
        program = schedule.params["program"]
        latest_e = (EligibilityRun.objects.filter(status=ProgramRunStatus.FINISHED, simulation=False)
                    .order_by("-finished_at", "-pk").first())  # fmt: skip
        latest = latest_e  # type: ignore[assignment]
        key = f"program:{program}:run={latest_e.pk}" if latest_e else ""
    if latest is None:
        return None, ""
    if schedule.cadence == Cadence.MONTHLY:
        key += f":month={today:%Y-%m}"
    return latest.pk, key


def _folder_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", key).strip("_")


def schedule_run_one(
    *, schedule: ExportSchedule, force: bool = False, now: dt.datetime | None = None, progress: Progress | None = None
) -> ScheduleOutcome:
    now = now or timezone.now()
    target, key = _schedule_target(schedule, timezone.localdate(now))
    record = None
    if target is None:
        status, message = ExportStatus.SKIPPED, "no finished run"
    elif not force and ExportRecord.objects.filter(schedule=schedule, key=key).exists():
        status, message = ExportStatus.SKIPPED, f"already exported: {key}"
    else:
        folder = Path(schedule.destination) / f"{_folder_name(key)}-{now:%Y%m%dT%H%M%S}"
        n = 1
        while folder.exists():
            n += 1
            folder = folder.with_name(f"{_folder_name(key)}-{now:%Y%m%dT%H%M%S}-{n}")
        params = schedule.params
        try:
            if schedule.dataset == Dataset.RANKING:
                record = export_ranking(actor=schedule.owner, run_id=target, out_dir=folder,
                                        formats=params.get("formats", ["parquet"]), region=params.get("region"),
                                        schedule=schedule, key=key, progress=progress)  # fmt: skip
            else:
                record = export_program(actor=schedule.owner, program=params["program"], run_ref=target,
                                        out_dir=folder, formats=params.get("formats", ["parquet"]),
                                        outcomes=params.get("outcomes", [Outcome.SELECTED]),
                                        region=params.get("region"), schedule=schedule, key=key,
                                        progress=progress)  # fmt: skip
            status, message = ExportStatus.OK, f"{key}: {record.rows} rows -> {folder}"
        except Exception as exc:
            status, message = ExportStatus.FAILED, f"{type(exc).__name__}: {getattr(exc, 'message_en', exc)}"
    with transaction.atomic():
        schedule.last_run_at = now
        schedule.last_status = status
        schedule.last_message = message[:500]
        schedule.save(update_fields=["last_run_at", "last_status", "last_message"])
        audit_record(actor=None, action="exchange.schedule_run", object_type="exportschedule",
                     object_id=schedule.pk, after={"status": status, "message": message[:500],
                                                   "export": record.pk if record else None})  # fmt: skip
    return ScheduleOutcome(schedule=schedule, status=status, message=message, record=record)


def schedules_run(*, force: bool = False, progress: Progress | None = None) -> list[ScheduleOutcome]:
    """Run every active schedule once (meant for a daily cron job or systemd timer): each exports what it has
    not exported yet (the latest finished run; for monthly schedules once per calendar month)."""
    return [schedule_run_one(schedule=s, force=force, progress=progress)
            for s in ExportSchedule.objects.filter(active=True).select_related("owner").order_by("pk")]  # fmt: skip
