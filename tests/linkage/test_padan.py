"""Reference matching (padan): outcomes with reasons, deaths from the reference, scope, idempotence, undo, CLI."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from dtsen.accounts.models import Role
from dtsen.audit.models import AuditRecord
from dtsen.core.errors import PermissionDenied, ValidationFailed
from dtsen.exchange.models import ReferenceImport, ReferenceRow, RowOutcome
from dtsen.exchange.reference import reference_import_undo
from dtsen.linkage import padan
from dtsen.registry import choices as c
from dtsen.registry.models import Event, Family, Person
from tests.ranking.conftest_run import registry_load
from tests.updates.conftest import staff

FAMILIES = 40
COLUMNS = ["nik", "name", "birth_date", "sex", "kk_number", "life_status", "death_date"]


@pytest.fixture
def population(db: Any, dup_dir: Path) -> list[dict[str, Any]]:
    families = registry_load(dup_dir, limit=FAMILIES)
    kk = {f.family_code: f.kk_number for f in families}
    villages = {f.family_code: f.village_code for f in families}
    rows = [r for r in pq.read_table(dup_dir / "persons.parquet").to_pylist() if r["family_code"] in kk]
    nik_count = Counter(r["nik"] for r in rows)
    for r in rows:
        r["kk_number"] = kk[r["family_code"]]
        r["village_code"] = villages[r["family_code"]]
        r["unique"] = nik_count[r["nik"]] == 1 and r["life_status"] == c.LifeStatus.ALIVE
    return rows


def _ref(r: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = {"nik": r["nik"], "name": r["name"], "birth_date": r["birth_date"].isoformat(), "sex": r["sex"],
           "kk_number": r["kk_number"], "life_status": "hidup", "death_date": ""}  # fmt: skip
    out.update(changes)
    return out


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _cases(population: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    usable = [r for r in population if r["unique"] and r["birth_date"].year < 2000 and " " in r["name"]]
    names = ["exact", "abbrev", "name", "birth", "sex", "kk", "missing", "death"]
    assert len(usable) >= len(names)
    return dict(zip(names, usable, strict=False))


def _reference(population: list[dict[str, Any]], cases: dict[str, dict[str, Any]], tmp_path: Path) -> Path:
    special = {r["person_code"] for r in cases.values()}
    rows = [_ref(r) for r in population if r["person_code"] not in special]
    first, _, rest = cases["abbrev"]["name"].partition(" ")
    born = cases["birth"]["birth_date"]
    rows += [
        _ref(cases["exact"]),
        _ref(cases["abbrev"], name=f"{first[0]}. {rest}".lower()),
        _ref(cases["name"], name="Wulandari Kusumaningtyas"),
        _ref(cases["birth"], birth_date=(born + dt.timedelta(days=400)).isoformat()),
        _ref(cases["sex"], sex="P" if cases["sex"]["sex"] == "L" else "L"),
        _ref(cases["kk"], kk_number="3401010101990001"),
        _ref(cases["death"], life_status="meninggal", death_date="2026-10-02"),
    ]
    return _write(tmp_path / "dukcapil.csv", rows)


def _person(r: dict[str, Any]) -> Person:
    return Person.objects.get(person_code=r["person_code"])


def _row(batch: ReferenceImport, r: dict[str, Any]) -> ReferenceRow:
    return ReferenceRow.objects.get(batch=batch, person__person_code=r["person_code"])


@pytest.fixture
def pusdatin(db: Any) -> Any:
    return staff("pusdatin.padan", Role.PUSDATIN, "")


def test_padan_outcomes_with_reasons(population: list[dict[str, Any]], pusdatin: Any, tmp_path: Path) -> None:
    cases = _cases(population)
    path = _reference(population, cases, tmp_path)
    report = padan.padan_run(actor=pusdatin, path=path, source="Dukcapil 2026-11")
    batch = report.batch
    assert batch is not None
    assert batch.kind == padan.KIND
    status = {code: _person(r).padan_status for code, r in cases.items()}
    assert status == {"exact": "padan", "abbrev": "padan", "name": "tidak_padan", "birth": "tidak_padan",
                      "sex": "tidak_padan", "kk": "padan", "missing": "tidak_padan", "death": "padan"}
    assert padan.NAME_DIFFERS in _row(batch, cases["name"]).detail
    assert padan.BIRTH_DIFFERS in _row(batch, cases["birth"]).detail
    assert padan.SEX_DIFFERS in _row(batch, cases["sex"]).detail
    assert padan.KK_DIFFERS in _row(batch, cases["kk"]).detail
    assert _row(batch, cases["missing"]).detail == padan.NIK_NOT_IN_REFERENCE
    assert _row(batch, cases["exact"]).detail.startswith("reference row")
    assert report.counts["persons"] == Person.objects.filter(status=c.RecordStatus.ACTIVE).count()
    # every person has a status now; the status change is a version with the batch in its reason
    assert not Person.objects.filter(status=c.RecordStatus.ACTIVE, padan_status="belum_dipadankan").exists()
    exact = _person(cases["exact"])
    assert exact.history.first().history_change_reason.startswith(f"Pemadanan / padan #{batch.pk}")


def test_reference_death_becomes_a_death_event(
    population: list[dict[str, Any]], pusdatin: Any, tmp_path: Path
) -> None:
    cases = _cases(population)
    path = _reference(population, cases, tmp_path)
    report = padan.padan_run(actor=pusdatin, path=path, source="Dukcapil 2026-11")
    dead = _person(cases["death"])
    assert dead.life_status == c.LifeStatus.DECEASED
    assert dead.death_date == dt.date(2026, 10, 2)
    assert dead.death_source == c.DeathSource.DUKCAPIL
    event = Event.objects.get(person=dead, kind=c.EventKind.DEATH)
    assert event.source == "Dukcapil 2026-11"
    assert event.data["reference_import"] == report.batch.pk  # type: ignore[union-attr]
    row = _row(report.batch, cases["death"])  # type: ignore[arg-type]
    assert row.outcome == RowOutcome.APPLIED
    assert row.event_id == event.pk
    assert report.counts[padan.DEATH_RECORDED] == 1
    # the same file again changes nothing
    again = padan.padan_run(actor=pusdatin, path=path, source="Dukcapil 2026-11")
    assert again.already_imported
    assert again.batch == report.batch
    assert Event.objects.filter(person=dead, kind=c.EventKind.DEATH).count() == 1
    # a new edition of the file: the death is already recorded, statuses unchanged, no new version
    versions = _person(cases["exact"]).history.count()
    rows = list(csv.DictReader(path.open()))
    _write(tmp_path / "dukcapil-2.csv", rows[::-1])
    second = padan.padan_run(actor=pusdatin, path=tmp_path / "dukcapil-2.csv", source="Dukcapil 2026-12")
    assert second.counts[padan.DEATH_ALREADY] == 1
    assert second.counts[padan.DEATH_RECORDED] == 0
    assert _person(cases["exact"]).history.count() == versions
    # the exchange's undo reverts the death of the first batch
    reference_import_undo(actor=pusdatin, batch_id=report.batch.pk, reason="Salah berkas / wrong file")  # type: ignore[union-attr]
    assert _person(cases["death"]).life_status == c.LifeStatus.ALIVE


def test_invalid_death_date_is_reported_not_applied(
    population: list[dict[str, Any]], pusdatin: Any, tmp_path: Path
) -> None:
    r = _cases(population)["death"]
    path = _write(tmp_path / "ref.csv", [_ref(r, life_status="meninggal", death_date="1900-01-01")])
    report = padan.padan_run(actor=pusdatin, path=path, source="Dukcapil 2026-11")
    assert _person(r).life_status == c.LifeStatus.ALIVE
    assert report.counts[padan.DEATH_INVALID] == 1
    assert padan.DEATH_INVALID in _row(report.batch, r).detail  # type: ignore[arg-type]


def test_dry_run_writes_nothing(population: list[dict[str, Any]], pusdatin: Any, tmp_path: Path) -> None:
    cases = _cases(population)
    path = _reference(population, cases, tmp_path)
    report = padan.padan_run(actor=pusdatin, path=path, source="Dukcapil 2026-11", dry_run=True)
    assert report.batch is None
    assert report.counts[padan.TIDAK_PADAN] >= 4
    assert not ReferenceImport.objects.exists()
    assert not Person.objects.exclude(padan_status="belum_dipadankan").exists()
    assert _person(cases["death"]).life_status == c.LifeStatus.ALIVE


def test_scope_limits_the_persons_matched(population: list[dict[str, Any]], tmp_path: Path, dup_dir: Path) -> None:
    cases = _cases(population)
    path = _reference(population, cases, tmp_path)
    village = cases["exact"]["village_code"]
    kecamatan = village[:8]
    # move half of the other families to a village of another kecamatan of the population
    other = next(r["village_code"] for r in pq.read_table(dup_dir / "families.parquet").to_pylist()
                 if r["village_code"][:8] != kecamatan)
    moved = {r["family_code"] for r in population} - {r["family_code"] for r in cases.values()}
    moved = set(sorted(moved)[: len(moved) // 2])
    assert moved
    Family.objects.filter(family_code__in=moved).update(village_code=other)
    local = staff("pusdatin.kec", Role.PUSDATIN, kecamatan)
    report = padan.padan_run(actor=local, path=path, source="Dukcapil 2026-11")
    inside = Person.objects.filter(family__village_code__startswith=kecamatan + ".")
    assert report.counts["persons"] == inside.filter(status=c.RecordStatus.ACTIVE).count() > 0
    assert not inside.filter(status=c.RecordStatus.ACTIVE, padan_status="belum_dipadankan").exists()
    outside = Person.objects.exclude(family__village_code__startswith=kecamatan + ".")
    assert outside.exists()
    assert not outside.exclude(padan_status="belum_dipadankan").exists()
    operator = staff("operator.padan", Role.OPERATOR_DESA, village)
    with pytest.raises(PermissionDenied):
        padan.padan_run(actor=operator, path=path, source="Dukcapil 2026-11")


def test_cli(population: list[dict[str, Any]], pusdatin: Any, tmp_path: Path, capsys: Any) -> None:
    cases = _cases(population)
    path = _reference(population, cases, tmp_path)
    report_file = tmp_path / "report.csv"
    call_command("padan", str(path), "--source", "Dukcapil 2026-11", "--actor", "pusdatin.padan", "--dry-run",
                 "--report", str(report_file), verbosity=0)
    assert "dry run" in capsys.readouterr().out
    assert not ReferenceImport.objects.exists()
    statuses = Counter(row["status"] for row in csv.DictReader(report_file.open()))
    assert statuses["tidak_padan"] >= 4
    assert statuses["padan"] > 10
    call_command("padan", str(path), "--source", "Dukcapil 2026-11", "--actor", "pusdatin.padan", verbosity=0)
    assert "padan" in capsys.readouterr().out
    assert ReferenceImport.objects.filter(kind=padan.KIND).count() == 1


def test_names_agree() -> None:
    forms = padan._name_forms(["Muhammad Joko Santoso", "Mochammad Djoko S.", "Budi Santoso", "B. Santoso",
                               "Budi Santosa", "Agus Salim"])
    assert padan.names_agree(forms[0], forms[1])
    assert padan.names_agree(forms[2], forms[3])
    assert padan.names_agree(forms[2], forms[4])
    assert not padan.names_agree(forms[2], forms[5])


def test_person_set_padan_status(population: list[dict[str, Any]], pusdatin: Any) -> None:
    person = _person(population[0])
    padan.person_set_padan_status(actor=pusdatin, person=person, status=padan.TIDAK_PADAN, channel=c.Channel.ADMIN,
                                  reason="Periksa manual / manual check")  # fmt: skip
    person.refresh_from_db()
    assert person.padan_status == padan.TIDAK_PADAN
    assert person.history.first().history_change_reason == "Periksa manual / manual check"
    assert AuditRecord.objects.filter(action="person_set_padan_status", object_id=str(person.pk)).exists()
    with pytest.raises(ValidationFailed):
        padan.person_set_padan_status(actor=pusdatin, person=person, status="maybe", channel=c.Channel.ADMIN,
                                      reason="Periksa manual / manual check")  # fmt: skip
