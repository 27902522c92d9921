"""Reference imports (deaths, civil servants) on SQLite and PostgreSQL: applied through the registry's services
with their source and batch, unknown/mismatched rows reported, dry run writes nothing, the same file again is a
no-op, undo per row (Dinsos of the region) and per batch restores, everything audited."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from dtsen.audit.models import AuditRecord
from dtsen.core.errors import NotFound, PermissionDenied, ValidationFailed
from dtsen.exchange import reference as ref
from dtsen.exchange.models import ImportStatus, ReferenceImport, ReferenceRow, RowOutcome
from dtsen.registry import choices as c
from dtsen.registry.models import Event, ExclusionFlag, Person
from dtsen.registry.nik import nik_build
from tests.exchange import fixtures as fx
from tests.ranking import conftest_run as rx

pytestmark = pytest.mark.django_db

synth_dir = fx.synth_dir
pusdatin = fx.pusdatin
dinsos = fx.dinsos
dinsos_other = fx.dinsos_other
SOURCE = "Dukcapil 2026-11"


@pytest.fixture
def people(synth_dir: Path) -> list[dict[str, Any]]:
    """40 synthetic families in the register; their living, active, non-head members with the plain NIK."""
    rx.registry_load(synth_dir, limit=40)
    in_db = {p.person_code: p for p in Person.objects.all()}
    out = []
    for row in fx.synth_persons(synth_dir):
        person = in_db.get(row["person_code"])
        if person is None or person.life_status != c.LifeStatus.ALIVE or row["relationship"] == "kepala":
            continue
        out.append({**row, "person": person})
    assert len(out) >= 8
    return out


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _unknown_nik() -> str:
    return nik_build(kecamatan_code="34.01.01", birth_date=dt.date(1970, 1, 1), sex="L", serial=9999)


def _deaths_file(tmp_path: Path, people: list[dict[str, Any]]) -> Path:
    a, b, d = people[0], people[1], people[2]
    return _write(tmp_path / "deaths.csv", ["nik", "name", "birth_date", "death_date"], [
        [a["nik"], a["name"].lower(), a["birth_date"].isoformat(), "2026-10-03"],  # applied (name case differs)
        [b["nik"], b["name"], "", "05-10-2026"],  # applied (no birth date, d-m-Y)
        [_unknown_nik(), "SITI AMINAH", "1970-01-01", "2026-10-04"],  # unknown NIK
        [d["nik"], "BUDI HARTONO SANTOSO", d["birth_date"].isoformat(), "2026-10-04"],  # name mismatch
        ["3401ABC", "X", "", "2026-10-04"],  # invalid NIK
        [people[3]["nik"], people[3]["name"], "", ""],  # no death date
    ])  # fmt: skip


def test_deaths_applied_with_source_and_problems_reported(people: list[dict[str, Any]], pusdatin: Any,
                                                          tmp_path: Path) -> None:  # fmt: skip
    report = ref.reference_import(actor=pusdatin, path=_deaths_file(tmp_path, people), kind="deaths", source=SOURCE)
    batch = report.batch
    assert batch is not None
    assert batch.status == ImportStatus.APPLIED
    assert len(batch.file_sha256) == 64
    outcomes = {r.row_no: r.outcome for r in report.rows}
    assert outcomes == {1: RowOutcome.APPLIED, 2: RowOutcome.APPLIED, 3: RowOutcome.UNKNOWN_NIK,
                        4: RowOutcome.NAME_MISMATCH, 5: RowOutcome.INVALID, 6: RowOutcome.INVALID}
    assert batch.counts["applied"] == 2
    assert batch.counts["rows"] == 6
    # the deaths are recorded by the registry's service, with the agency and the batch on the event
    a = Person.objects.get(pk=people[0]["person"].pk)
    assert a.life_status == c.LifeStatus.DECEASED
    assert a.death_date == dt.date(2026, 10, 3)
    assert a.death_source == c.DeathSource.DUKCAPIL
    event = Event.objects.get(person=a, kind=c.EventKind.DEATH)
    assert event.source == SOURCE
    assert event.data["reference_import"] == batch.pk
    assert event.data["row"] == 1
    assert event.channel == c.Channel.ADMIN_MATCH
    assert f"#{batch.pk}" in event.reason
    version = a.history.order_by("-history_id").first()
    assert f"#{batch.pk}" in version.history_change_reason
    assert version.history_channel == c.Channel.ADMIN_MATCH
    assert Person.objects.get(pk=people[2]["person"].pk).life_status == c.LifeStatus.ALIVE  # mismatch not applied
    # each applied row is linked to its event; problems are kept with a masked NIK only
    rows = {r.row_no: r for r in ReferenceRow.objects.filter(batch=batch)}
    assert rows[1].event_id == event.pk
    assert rows[1].person_id == a.pk
    assert rows[3].person_id is None
    assert "*" in rows[3].nik_masked
    assert not any(r.nik_masked == people[2]["nik"] for r in rows.values())
    # audited: each death (reason names the batch) and the batch
    deaths = AuditRecord.objects.filter(action="person_record_death")
    assert deaths.count() == 2
    assert all(f"#{batch.pk}" in r.reason for r in deaths)
    assert AuditRecord.objects.get(action="exchange.reference_import").after["counts"]["applied"] == 2


def test_dry_run_writes_nothing_and_reimport_is_a_no_op(people: list[dict[str, Any]], pusdatin: Any,
                                                        tmp_path: Path) -> None:  # fmt: skip
    path = _deaths_file(tmp_path, people)
    audits = AuditRecord.objects.count()
    versions = Person.history.count()
    report = ref.reference_import(actor=pusdatin, path=path, kind="deaths", source=SOURCE, dry_run=True)
    assert report.batch is None
    assert report.counts["applied"] == 2
    assert report.counts["unknown_nik"] == 1
    assert not ReferenceImport.objects.exists()
    assert not ReferenceRow.objects.exists()
    assert AuditRecord.objects.count() == audits
    assert Person.history.count() == versions
    assert Person.objects.get(pk=people[0]["person"].pk).life_status == c.LifeStatus.ALIVE
    first = ref.reference_import(actor=pusdatin, path=path, kind="deaths", source=SOURCE)
    audits = AuditRecord.objects.count()
    again = ref.reference_import(actor=pusdatin, path=path, kind="deaths", source="Dukcapil lagi")
    assert again.already_imported
    assert again.batch == first.batch
    assert ReferenceImport.objects.count() == 1
    assert AuditRecord.objects.count() == audits
    # the same rows in another file: already recorded, nothing applied twice
    other = tmp_path / "deaths2.csv"
    other.write_text(path.read_text() + "\n")
    second = ref.reference_import(actor=pusdatin, path=other, kind="deaths", source=SOURCE)
    assert second.counts["applied"] == 0
    assert second.counts["already"] == 2
    assert Event.objects.filter(kind=c.EventKind.DEATH).count() == 2


def _servants_file(tmp_path: Path, people: list[dict[str, Any]], *, parquet: bool = False) -> Path:
    rows = [
        {"nik": people[4]["nik"], "name": people[4]["name"], "category": "tni", "observed_on": "2026-09-30"},
        {"nik": people[5]["nik"], "name": people[5]["name"], "category": "", "observed_on": ""},
        {"nik": people[6]["nik"], "name": people[6]["name"], "category": "guru_sertifikasi", "observed_on": ""},
    ]
    if parquet:
        path = tmp_path / "bkn.parquet"
        pq.write_table(pa.Table.from_pylist(rows), path)
        return path
    return _write(tmp_path / "bkn.csv", list(rows[0]), [list(r.values()) for r in rows])


@pytest.mark.parametrize("parquet", [False, True])
def test_civil_servants_flagged_with_source(people: list[dict[str, Any]], pusdatin: Any, tmp_path: Path,
                                            parquet: bool) -> None:  # fmt: skip
    report = ref.reference_import(actor=pusdatin, path=_servants_file(tmp_path, people, parquet=parquet),
                                  kind="civil-servants", source="BKN 2026-10")  # fmt: skip
    batch = report.batch
    assert [r.outcome for r in report.rows] == [RowOutcome.APPLIED, RowOutcome.APPLIED, RowOutcome.INVALID]
    tni = ExclusionFlag.objects.get(person=people[4]["person"])
    assert (tni.category, tni.source, tni.observed_on) == ("tni", c.ExclusionSource.BKN, dt.date(2026, 9, 30))
    assert tni.source_ref == f"impor#{batch.pk}:1"
    assert tni.active
    assert ExclusionFlag.objects.get(person=people[5]["person"]).category == "asn"  # the default category
    assert ReferenceRow.objects.get(batch=batch, row_no=1).flag_id == tni.pk
    assert f"#{batch.pk}" in tni.history.first().history_change_reason
    assert AuditRecord.objects.filter(action="exclusion_flag_add", reason__contains=f"#{batch.pk}").count() == 2


def test_undo_row_by_dinsos_of_the_region(people: list[dict[str, Any]], pusdatin: Any, dinsos: Any,
                                          dinsos_other: Any, tmp_path: Path) -> None:  # fmt: skip
    batch = ref.reference_import(actor=pusdatin, path=_servants_file(tmp_path, people), kind="civil-servants",
                                 source="BKN 2026-10").batch  # fmt: skip
    row = ReferenceRow.objects.get(batch=batch, row_no=1)
    with pytest.raises(NotFound):  # another regency's Dinsos does not see the row
        ref.reference_row_undo(actor=dinsos_other, row_id=row.pk, reason="Sanggah warga: bukan anggota TNI")
    with pytest.raises(ValidationFailed):
        ref.reference_row_undo(actor=dinsos, row_id=row.pk, reason="")
    ref.reference_row_undo(actor=dinsos, row_id=row.pk, reason="Sanggah warga: bukan anggota TNI")
    flag = ExclusionFlag.objects.get(pk=row.flag_id)
    assert not flag.active
    assert "bukan anggota TNI" in flag.end_reason
    assert flag.ended_on is not None
    row.refresh_from_db()
    assert row.undone_at is not None
    assert row.undone_by == dinsos
    assert AuditRecord.objects.filter(action="exchange.reference_row_undo", object_id=str(row.pk)).exists()
    assert AuditRecord.objects.filter(action="exclusion_flag_end").count() == 1
    # the other row stays; the same file again is still a no-op, and the appealed flag is not set again
    assert ExclusionFlag.objects.get(person=people[5]["person"]).active
    again = tmp_path / "again.csv"
    again.write_text(_servants_file(tmp_path, people).read_text() + "\n")
    report = ref.reference_import(actor=pusdatin, path=again, kind="civil-servants", source="BKN 2026-11")
    assert {r.row_no: r.outcome for r in report.rows}[1] == RowOutcome.ALREADY
    assert ExclusionFlag.objects.filter(person=people[4]["person"]).count() == 1


def test_undo_batch_restores_deaths(people: list[dict[str, Any]], pusdatin: Any, dinsos: Any,
                                    tmp_path: Path) -> None:  # fmt: skip
    batch = ref.reference_import(actor=pusdatin, path=_deaths_file(tmp_path, people), kind="deaths",
                                 source=SOURCE).batch  # fmt: skip
    with pytest.raises(PermissionDenied):  # a batch undo needs registry.bulk
        ref.reference_import_undo(actor=dinsos, batch_id=batch.pk, reason="File Dukcapil salah kirim")
    ref.reference_import_undo(actor=pusdatin, batch_id=batch.pk, reason="File Dukcapil salah kirim")
    batch.refresh_from_db()
    assert batch.status == ImportStatus.UNDONE
    assert batch.undone_by == pusdatin
    for p in people[:2]:
        person = Person.objects.get(pk=p["person"].pk)
        assert person.life_status == c.LifeStatus.ALIVE
        assert person.death_date is None
        assert person.death_source == ""
        restored = Event.objects.get(person=person, kind=c.EventKind.RESTORED)
        assert restored.data["undo"] == c.EventKind.DEATH
        assert restored.data["reference_import"] == batch.pk
        assert person.history.count() >= 3  # created, death, restored: nothing overwritten
    assert AuditRecord.objects.filter(action="person_death_revoke").count() == 2
    assert ReferenceRow.objects.filter(batch=batch, outcome=RowOutcome.APPLIED, undone_at__isnull=True).count() == 0


def test_requires_bulk_and_a_source(people: list[dict[str, Any]], dinsos: Any, pusdatin: Any,
                                    tmp_path: Path) -> None:  # fmt: skip
    path = _deaths_file(tmp_path, people)
    with pytest.raises(PermissionDenied):
        ref.reference_import(actor=dinsos, path=path, kind="deaths", source=SOURCE)
    with pytest.raises(ValidationFailed):
        ref.reference_import(actor=pusdatin, path=path, kind="deaths", source=" ")
    with pytest.raises(ValidationFailed):
        ref.reference_import(actor=pusdatin, path=path, kind="deaths", source=SOURCE, agency="bkn")


def test_cli_import_dry_run_and_report(people: list[dict[str, Any]], pusdatin: Any, tmp_path: Path) -> None:
    report = tmp_path / "report.csv"
    call_command("exchange", "import-reference", str(_deaths_file(tmp_path, people)), "--kind", "deaths",
                 "--source", SOURCE, "--dry-run", "--report", str(report), "--actor", "pusdatin.nasional",
                 verbosity=0)  # fmt: skip
    assert not ReferenceImport.objects.exists()
    lines = report.read_text().splitlines()
    assert lines[0] == "row,nik_masked,outcome,detail"
    assert len(lines) == 7
    assert all(p["nik"] not in report.read_text() for p in people[:4])
