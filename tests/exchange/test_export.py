"""Exports of a ranking run and of a program list (SQLite and PostgreSQL): Parquet and CSV read back equal the
database rows; the manifest's row counts and checksums are right and `verify` catches a tampered file; the
actor's scope limits the rows; NIK modes; audit; schedules are idempotent; the CLI."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from dtsen.audit.models import AuditRecord
from dtsen.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from dtsen.exchange import datasets as ds
from dtsen.exchange import services as svc
from dtsen.exchange.files import manifest_verify
from dtsen.exchange.models import ExportRecord
from dtsen.programs.models import EligibilityResult, Outcome
from dtsen.ranking.models import NotRankable, RankingResult, RankingRun, RunStatus
from dtsen.registry.crypto import nik_decrypt, nik_mask
from dtsen.registry.models import Family, Person
from tests.exchange import fixtures as fx

pytestmark = pytest.mark.django_db

synth_dir = fx.synth_dir
work_dir = fx.work_dir
ranked = fx.ranked
run = fx.run
pusdatin = fx.pusdatin
dinsos = fx.dinsos
dinsos_other = fx.dinsos_other

RESULT_FIELDS = ("family_code", "village_code", "region_group", "persons", "score", "predicted_pce", "percentile",
                 "desil", "previous_desil")  # fmt: skip


def _db_results(run: RankingRun, prefix: str = "") -> list[dict[str, Any]]:
    qs = RankingResult.objects.filter(run=run, village_code__startswith=prefix).order_by("family_code")
    return [dict(zip(RESULT_FIELDS, row, strict=True)) for row in qs.values_list(*RESULT_FIELDS)]


def _file_results(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows in family-code order (exports keep the table's storage order)."""
    return sorted(({k: r[k] for k in RESULT_FIELDS} for r in rows), key=lambda r: r["family_code"])


def _files(record: ExportRecord) -> dict[tuple[str, str], Path]:
    return {(f["table"], f["format"]): Path(record.directory) / f["name"] for f in record.files}


def test_ranking_export_reads_back_equal_to_the_database(ranked: RankingRun, pusdatin: Any, tmp_path: Path) -> None:
    # given a finished run of 250 families; when a national user exports it as Parquet and CSV
    record = svc.export_ranking(actor=pusdatin, run_id=ranked.pk, out_dir=tmp_path / "out",
                                formats=["parquet", "csv"])  # fmt: skip
    files = _files(record)
    expected = _db_results(ranked)
    assert len(expected) > 100
    # then both files hold exactly the database rows, decimals exact, NULL previous desil kept as NULL
    parquet = fx.read_parquet(files[("results", "parquet")])
    assert parquet.schema.equals(ds.RANKING_RESULTS.schema)
    assert _file_results(parquet.to_pylist()) == expected
    csv = fx.read_csv(files[("results", "csv")], ds.RANKING_RESULTS.schema)
    assert _file_results(csv.to_pylist()) == expected
    assert all(isinstance(r["percentile"], Decimal) for r in expected[:3])
    row = parquet.to_pylist()[0]
    assert row["regency_code"] == row["village_code"][:5]
    assert row["province_code"] == "34"
    assert row["run_id"] == ranked.pk
    nr = fx.read_parquet(files[("not_rankable", "parquet")])
    assert nr.num_rows == NotRankable.objects.filter(run=ranked).count()


def test_manifest_counts_checksums_and_schema(ranked: RankingRun, pusdatin: Any, tmp_path: Path) -> None:
    record = svc.export_ranking(actor=pusdatin, run_id=ranked.pk, out_dir=tmp_path / "out",
                                formats=["parquet", "csv"])  # fmt: skip
    manifest = json.loads((Path(record.directory) / "manifest.json").read_text())
    assert manifest["dataset"] == "ranking"
    assert manifest["ranking_run"]["id"] == ranked.pk
    assert manifest["ranking_run"]["input_sha256"] == ranked.input_sha256
    assert manifest["created_by"] == "pusdatin.nasional"
    assert manifest["region_scope"] == ["national"]
    assert manifest["personal_data"]["nik"] == "none"
    count = RankingResult.objects.filter(run=ranked).count()
    for entry in manifest["files"]:
        path = Path(record.directory) / entry["name"]
        assert entry["bytes"] == path.stat().st_size
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        if entry["table"] == "results":
            assert entry["rows"] == count
    columns = manifest["tables"]["results"]["columns"]
    assert [c["name"] for c in columns] == [c.name for c in ds.RANKING_RESULTS.columns]
    assert {c["name"]: c["type"] for c in columns}["percentile"] == "decimal(7,4)"
    assert {c["name"]: c["nullable"] for c in columns}["previous_desil"] is True
    assert all(c["description"] for c in columns)
    assert manifest_verify(record.directory) == []
    # and the export is recorded and audited with its rows and checksums
    audit = AuditRecord.objects.get(action="exchange.export", object_id=str(record.pk))
    assert audit.after["rows"] == count
    assert {f["sha256"] for f in audit.after["files"]} == {f["sha256"] for f in manifest["files"]}


def test_verify_detects_tampering(ranked: RankingRun, pusdatin: Any, tmp_path: Path) -> None:
    record = svc.export_ranking(actor=pusdatin, run_id=ranked.pk, out_dir=tmp_path / "out",
                                formats=["parquet", "csv"])  # fmt: skip
    files = _files(record)
    csv_path = files[("results", "csv")]
    text = csv_path.read_text().splitlines()
    csv_path.write_text("\n".join(text[:-1]) + "\n")  # one family removed
    problems = manifest_verify(record.directory)
    assert {(p.file, p.code) for p in problems} >= {(csv_path.name, "sha256")}
    files[("not_rankable", "parquet")].unlink()
    codes = {p.code for p in manifest_verify(record.directory)}
    assert "missing" in codes
    with pytest.raises(CommandError):
        call_command("exchange", "verify", record.directory, verbosity=0)


def test_scope_limits_rows(ranked: RankingRun, dinsos: Any, dinsos_other: Any, tmp_path: Path) -> None:
    from tests.exchange.fixtures import user_with

    village = RankingResult.objects.filter(run=ranked).values_list("village_code", flat=True).first()
    operator = user_with("operator.satu", "operator_desa", village)
    # a village operator gets their village only
    record = svc.export_ranking(actor=operator, run_id=ranked.pk, out_dir=tmp_path / "village")
    rows = fx.read_parquet(_files(record)[("results", "parquet")]).to_pylist()
    assert _file_results(rows) == _db_results(ranked, village)
    assert 0 < len(rows) < RankingResult.objects.filter(run=ranked).count()
    assert json.loads((Path(record.directory) / "manifest.json").read_text())["region_scope"] == [village]
    # a Dinsos of Kulon Progo gets the regency; of Bantul nothing
    record = svc.export_ranking(actor=dinsos, run_id=ranked.pk, out_dir=tmp_path / "kp")
    assert record.rows == RankingResult.objects.filter(run=ranked, village_code__startswith="34.01.").count()
    record = svc.export_ranking(actor=dinsos_other, run_id=ranked.pk, out_dir=tmp_path / "bantul")
    assert record.rows == 0
    assert fx.read_parquet(_files(record)[("results", "parquet")]).num_rows == 0
    # a region outside the scope is refused; so is an actor without any scope
    with pytest.raises(PermissionDenied):
        svc.export_ranking(actor=dinsos_other, run_id=ranked.pk, out_dir=tmp_path / "x", region="34.01")
    nobody = user_with("tanpa.peran", "system_client", "")
    with pytest.raises(PermissionDenied):
        svc.export_ranking(actor=nobody, run_id=ranked.pk, out_dir=tmp_path / "y")


def test_refuses_unfinished_run_bad_format_and_non_empty_folder(ranked: RankingRun, pusdatin: Any,
                                                                tmp_path: Path) -> None:  # fmt: skip
    running = RankingRun.objects.create(period="2026-Q2", cutoff=ranked.cutoff, frozen_at=ranked.frozen_at,
                                        engine="duckdb", model_id="m", model_sha256="0" * 64, model_artefact={},
                                        status=RunStatus.RUNNING)  # fmt: skip
    with pytest.raises(Conflict):
        svc.export_ranking(actor=pusdatin, run_id=running.pk, out_dir=tmp_path / "a")
    with pytest.raises(NotFound):
        svc.export_ranking(actor=pusdatin, run_id=999_999, out_dir=tmp_path / "a")
    with pytest.raises(ValidationFailed):
        svc.export_ranking(actor=pusdatin, run_id=ranked.pk, out_dir=tmp_path / "a", formats=["xlsx"])
    full = tmp_path / "full"
    full.mkdir()
    (full / "other.txt").write_text("x")
    with pytest.raises(svc.ExportExists):
        svc.export_ranking(actor=pusdatin, run_id=ranked.pk, out_dir=full)
    assert not ExportRecord.objects.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no partial folder left


def test_program_list_export(run: Any, pusdatin: Any, dinsos: Any, tmp_path: Path) -> None:
    expected = EligibilityResult.objects.filter(run=run, program="pkh", outcome=Outcome.SELECTED)
    assert expected.count() > 0
    record = svc.export_program(actor=dinsos, program="pkh", run_ref=run.period, out_dir=tmp_path / "pkh",
                                formats=["parquet", "csv"])  # fmt: skip
    table = fx.read_parquet(_files(record)[("program_list", "parquet")])
    assert "nik" not in table.column_names
    rows = table.to_pylist()
    codes = dict(Family.objects.filter(pk__in=expected.values("family_id")).values_list("pk", "family_code"))
    assert sorted((r["family_code"], r["amount"], r["desil"], r["outcome"]) for r in rows) == sorted(
        (codes[e.family_id], e.amount, e.desil, e.outcome) for e in expected)
    csv = fx.read_csv(_files(record)[("program_list", "csv")], ds.PROGRAM_LIST.schema)
    assert csv.to_pylist() == rows
    assert manifest_verify(record.directory) == []
    with pytest.raises(NotFound):
        svc.export_program(actor=dinsos, program="nope", run_ref=run.pk, out_dir=tmp_path / "nope")


def _pengurus_nik(family_code: str) -> str:
    family = Family.objects.get(family_code=family_code)
    return nik_decrypt(Person.objects.get(pk=family.pengurus_id).nik_enc)


def test_program_list_nik_modes(run: Any, pusdatin: Any, dinsos: Any, tmp_path: Path) -> None:
    masked = svc.nik_option(actor=dinsos, mode="masked", region=None)
    record = svc.export_program(actor=dinsos, program="pkh", run_ref=run.pk, out_dir=tmp_path / "m", nik=masked)
    rows = fx.read_parquet(_files(record)[("program_list", "parquet")]).to_pylist()
    assert all(r["nik"] == nik_mask(_pengurus_nik(r["family_code"])) for r in rows[:10])
    assert all("*" in r["nik"] for r in rows)
    key = bytes(range(32))
    keyed = svc.nik_option(actor=dinsos, mode="keyed", link_key=key, region=None)
    record = svc.export_program(actor=dinsos, program="pkh", run_ref=run.pk, out_dir=tmp_path / "k", nik=keyed)
    rows = fx.read_parquet(_files(record)[("program_list", "parquet")]).to_pylist()
    first = rows[0]
    assert first["nik"] == hmac.new(key, _pengurus_nik(first["family_code"]).encode(), hashlib.sha256).hexdigest()
    manifest = json.loads((Path(record.directory) / "manifest.json").read_text())
    assert manifest["personal_data"]["link_key_id"] == keyed.key_id
    assert key.hex() not in json.dumps(manifest)
    # a clear NIK: only registry.bulk, only with a partner agreement
    with pytest.raises(PermissionDenied):
        svc.nik_option(actor=dinsos, mode="plain", agreement="PKS-1/2026", region=None)
    with pytest.raises(ValidationFailed):
        svc.nik_option(actor=pusdatin, mode="plain", agreement="", region=None)
    plain = svc.nik_option(actor=pusdatin, mode="plain", agreement="PKS-BPJS-12/2026", region=None)
    record = svc.export_program(actor=pusdatin, program="pkh", run_ref=run.pk, out_dir=tmp_path / "p", nik=plain)
    rows = fx.read_parquet(_files(record)[("program_list", "parquet")]).to_pylist()
    assert rows[0]["nik"] == _pengurus_nik(rows[0]["family_code"])
    assert AuditRecord.objects.get(action="exchange.export", object_id=str(record.pk)).after["agreement"] == (
        "PKS-BPJS-12/2026")


def test_schedule_is_idempotent_per_run(ranked: RankingRun, pusdatin: Any, dinsos: Any, tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        svc.schedule_create(actor=dinsos, name="x", dataset="ranking", cadence="after_run", destination=str(tmp_path))
    schedule = svc.schedule_create(actor=pusdatin, name="bps-desil", dataset="ranking", cadence="after_run",
                                   destination=str(tmp_path / "drop"), params={"formats": ["parquet", "csv"]})
    first = svc.schedules_run()
    assert [o.status for o in first] == ["ok"]
    assert first[0].record is not None
    assert first[0].record.key == f"ranking:run={ranked.pk}"
    assert manifest_verify(first[0].record.directory) == []
    again = svc.schedules_run()
    assert [o.status for o in again] == ["skipped"]
    assert ExportRecord.objects.filter(schedule=schedule).count() == 1
    forced = svc.schedules_run(force=True)
    assert [o.status for o in forced] == ["ok"]
    assert ExportRecord.objects.filter(schedule=schedule).count() == 2
    schedule.refresh_from_db()
    assert schedule.last_status == "ok"
    assert schedule.last_run_at is not None


def test_monthly_schedule_exports_once_per_month(ranked: RankingRun, pusdatin: Any, tmp_path: Path) -> None:
    import datetime as dt

    from django.utils import timezone

    schedule = svc.schedule_create(actor=pusdatin, name="bulanan", dataset="ranking", cadence="monthly",
                                   destination=str(tmp_path / "m"))  # fmt: skip
    now = timezone.now()
    assert svc.schedule_run_one(schedule=schedule, now=now).status == "ok"
    assert svc.schedule_run_one(schedule=schedule, now=now + dt.timedelta(seconds=5)).status == "skipped"
    later = now + dt.timedelta(days=32)
    assert svc.schedule_run_one(schedule=schedule, now=later).status == "ok"


def test_cli_export_and_verify(ranked: RankingRun, pusdatin: Any, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    call_command("exchange", "export", "ranking", str(ranked.pk), "--out", str(out), "--format", "parquet,csv",
                 "--actor", "pusdatin.nasional", verbosity=0)  # fmt: skip
    assert (out / "manifest.json").exists()
    call_command("exchange", "verify", str(out), verbosity=0)
    with pytest.raises(CommandError):
        call_command("exchange", "export", "ranking", str(ranked.pk), "--out", str(out), "--actor",
                     "pusdatin.nasional", verbosity=0)  # fmt: skip


def test_parquet_row_groups_are_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dtsen.exchange import files

    monkeypatch.setattr(files, "ROW_GROUP_ROWS", 100)
    table = ds.RANKING_NOT_RANKABLE
    writer = files.TableWriter(table=table, schema=table.schema, directory=tmp_path, stem="t", formats=("parquet",))
    for i in range(5):
        rows = [{"run_id": 1, "family_code": f"S{i:02d}{j:03d}", "regency_code": "34.01", "village_code":
                 "34.01.01.2001", "reason": "no_condition", "detail": ""} for j in range(70)]  # fmt: skip
        writer.write(pa.RecordBatch.from_pylist(rows, schema=table.schema))
    [entry] = writer.close()
    meta = pq.read_metadata(tmp_path / entry["name"])
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [100, 100, 100, 50]
    assert entry["rows"] == 350


def test_cli_schedules(ranked: RankingRun, pusdatin: Any, tmp_path: Path) -> None:
    from io import StringIO

    call_command("exchange", "schedule-add", "bps-bulanan", "--dataset", "ranking", "--cadence", "monthly",
                 "--destination", str(tmp_path / "drop"), "--format", "csv", "--actor", "pusdatin.nasional",
                 verbosity=0)  # fmt: skip
    out = StringIO()
    call_command("exchange", "run-scheduled", stdout=out, verbosity=0)
    assert "bps-bulanan: ok" in out.getvalue()
    out = StringIO()
    call_command("exchange", "run-scheduled", stdout=out, verbosity=0)
    assert "bps-bulanan: skipped" in out.getvalue()
    [folder] = list((tmp_path / "drop").iterdir())
    assert manifest_verify(folder) == []
    assert {p.suffix for p in folder.iterdir()} == {".csv", ".json"}
    out = StringIO()
    call_command("exchange", "schedules", "--actor", "pusdatin.nasional", stdout=out)
    assert "bps-bulanan" in out.getvalue()
