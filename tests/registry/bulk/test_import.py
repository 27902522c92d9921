"""Bulk import: whole or nothing, every bad row listed, idempotent, versions with actor/channel/reason."""

from __future__ import annotations

import copy
import csv
import datetime as dt
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from dtsen.registry import choices as c
from dtsen.registry.bulk import load
from dtsen.registry.bulk.services import bulk_import
from dtsen.registry.crypto import nik_hash
from dtsen.registry.models import Condition, ExclusionFlag, Family, FamilyKkNumber, Person

from .conftest import OTHER_REGION_VILLAGE, population, registry_tables, table_counts

pytestmark = pytest.mark.django_db

FORMATS = ["csv", "parquet"]


def rejected(report: Path) -> list[dict[str, str]]:
    with (report / "rejected.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def run_command(*args: str) -> int:
    """Run `dtsen registry_import` and return its exit code."""
    try:
        call_command("registry_import", *args, "--no-progress", verbosity=0)
    except CommandError as exc:
        return exc.returncode
    return 0


def spoil(tables: dict) -> tuple[dict, set[tuple[str, str, str]]]:
    """Make about 5% of the rows of each file bad, in several ways. Returns the spoiled copy and the
    expected (file, key, code) of each problem."""
    bad = copy.deepcopy(tables)
    expected: set[tuple[str, str, str]] = set()
    fam, per, con, exc = bad["families"], bad["persons"], bad["conditions"], bad["exclusions"]
    # families (5 of 100): unknown village, bad KK, RW not digits, head who is not a member, bad latitude
    fam[3]["village_code"] = "34.01.01.2999"
    expected.add(("families", fam[3]["family_code"], "village_unknown"))
    fam[11]["kk_number"] = "34010112345"
    expected.add(("families", fam[11]["family_code"], "kk_invalid"))
    fam[23]["rw"] = "RW1"
    expected.add(("families", fam[23]["family_code"], "bad_format"))
    fam[37]["head_person_code"] = fam[38]["head_person_code"]
    expected.add(("families", fam[37]["family_code"], "head_not_member"))
    fam[45]["latitude"] = "lintang"
    expected.add(("families", fam[45]["family_code"], "bad_number"))
    # persons (about 5%): NIK with a letter, unknown family, death before birth, future birth, unknown code,
    # a second head, a duplicated person code, a pregnant man
    step = max(1, len(per) // 14)
    picks = [per[i] for i in range(5, len(per), step)][:14]
    kinds = ["nik", "family", "death", "future", "code", "nik_region", "pregnant"] * 2
    for person, kind in zip(picks, kinds, strict=False):
        key = person["person_code"]
        if kind == "nik":
            person["nik"] = person["nik"][:5] + "X" + person["nik"][6:]
            expected.add(("persons", key, "nik_not_digits"))
        elif kind == "family":
            person["family_code"] = "F-TIDAK-ADA"
            expected.add(("persons", key, "family_unknown"))
        elif kind == "death":
            person.update(life_status=c.LifeStatus.DECEASED, death_date="1940-01-01", death_source="dukcapil")
            expected.add(("persons", key, "death_before_birth"))
        elif kind == "future":
            person["birth_date"] = (dt.date.today() + dt.timedelta(days=400)).isoformat()
            expected.add(("persons", key, "future_date"))
        elif kind == "code":
            person["education"] = "doktor"
            expected.add(("persons", key, "unknown_code"))
        elif kind == "nik_region":
            person["nik"] = "999999" + person["nik"][6:]
            expected.add(("persons", key, "nik_region_unknown"))
        elif kind == "pregnant":
            person.update(sex="L", pregnant="true")
            expected.add(("persons", key, "pregnant_not_female"))
    # conditions (5 of 100): floor area, a bad date, unknown family, an unknown code, a bad boolean
    con[2]["floor_area_m2"] = "0.2"
    expected.add(("conditions", con[2]["family_code"], "out_of_range"))
    con[14]["observed_on"] = "2025-02-30"
    expected.add(("conditions", con[14]["family_code"], "bad_date"))
    con[27]["family_code"] = "F-TIDAK-ADA"
    expected.add(("conditions", "F-TIDAK-ADA", "family_unknown"))
    con[51]["roof_material"] = "emas"
    expected.add(("conditions", con[51]["family_code"], "unknown_code"))
    con[66]["asset_car"] = "ya"
    expected.add(("conditions", con[66]["family_code"], "bad_bool"))
    # exclusions (1 of 17): unknown person
    exc[4]["person_code"] = "P-TIDAK-ADA"
    expected.add(("exclusions", "P-TIDAK-ADA", "person_unknown"))
    return bad, expected


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_rows_change_nothing_then_corrected_files_import_once(make_files, tmp_path, bulk_actor, fmt):
    # Given a register with some families already, and files in which about 5% of the rows are bad
    good = population(100, seed=3)
    before_tables = population(5, seed=9, prefix="X")
    bulk_import(
        actor=bulk_actor, paths=[make_files(before_tables, fmt, "before")], report_dir=tmp_path / "r0"
    )
    bad, expected = spoil(good)
    counts = table_counts()

    # When the bad files are imported
    code = run_command(str(make_files(bad, fmt, "bad")), "--report-dir", str(tmp_path / "r1"))

    # Then nothing changed, the command says so, and every bad row is listed with its reasons
    assert code == 1
    assert table_counts() == counts
    rows = rejected(tmp_path / "r1")
    found = {(r["file"].split(".")[0], r["key"], r["code"]) for r in rows}
    assert expected <= found
    for r in rows:
        assert r["file"].endswith(f".{fmt}")
        assert int(r["row"]) >= 1
        assert r["field"]
        assert r["message_id"]
        assert r["message_en"]
        assert r["message_id"] != r["message_en"]
    # the row number is the row of the file: CSV counts the header as row 1, Parquet starts at 1
    first = 2 if fmt == "csv" else 1
    village = next(r for r in rows if r["code"] == "village_unknown")
    assert int(village["row"]) == 3 + first
    assert village["field"] == "village_code"
    assert village["value"] == "34.01.01.2999"
    rejected_rows = {(r["file"], r["row"]) for r in rows}
    total = sum(len(v) for v in bad.values())
    assert 0.04 * total <= len(rejected_rows) <= 0.08 * total

    # When the corrected files are imported
    code = run_command(str(make_files(good, fmt, "good")), "--report-dir", str(tmp_path / "r2"))

    # Then everything is in, each row with one "+" version
    assert code == 0
    assert rejected(tmp_path / "r2") == []
    assert Family.objects.count() == 105
    assert Person.objects.count() == len(good["persons"]) + len(before_tables["persons"])
    assert Person.history.filter(history_type="+").count() == Person.objects.count()
    assert Condition.objects.count() == 105
    assert ExclusionFlag.objects.count() == len(good["exclusions"]) + len(before_tables["exclusions"])
    head = Family.objects.get(family_code=good["families"][0]["family_code"]).head
    assert head.person_code == good["families"][0]["head_person_code"]
    assert head.nik_hash == nik_hash(good["persons"][0]["nik"])

    # When the same files are imported again
    counts = table_counts()
    code = run_command(str(make_files(good, fmt, "again")), "--report-dir", str(tmp_path / "r3"))

    # Then nothing changes at all, history included
    assert code == 0
    assert table_counts() == counts


def test_changed_rows_make_exactly_one_version_with_actor_channel_reason(
    make_files, tmp_path, bulk_actor, operator_kulon_progo
):
    # Given an imported population
    tables = population(20, seed=4)
    bulk_import(actor=bulk_actor, paths=[make_files(tables, "csv", "v1")], report_dir=tmp_path / "r1")
    counts = table_counts()
    family_code = tables["families"][2]["family_code"]
    person_code = tables["persons"][5]["person_code"]

    # When one family's RT and one person's name change, and the operator imports with a reason
    tables["families"][2]["rt"] = "009"
    tables["persons"][5]["name"] = "Nama Baru"
    code = run_command(
        str(make_files(tables, "csv", "v2")),
        "--actor",
        "pusdatin.kp",
        "--channel",
        "musdes",
        "--reason",
        "Hasil musdes 2025",
        "--report-dir",
        str(tmp_path / "r2"),
    )

    # Then exactly those two rows changed, each with one "~" version carrying actor, channel and reason
    assert code == 0
    after = table_counts()
    changed = {t for t in after if after[t] != counts[t]}
    assert changed == {"registry_historicalfamily", "registry_historicalperson"}
    assert after["registry_historicalfamily"] == counts["registry_historicalfamily"] + 1
    assert after["registry_historicalperson"] == counts["registry_historicalperson"] + 1
    family = Family.objects.get(family_code=family_code)
    version = family.history.latest()
    assert (family.rt, version.history_type, version.rt) == ("009", "~", "009")
    assert version.history_user == operator_kulon_progo
    assert version.history_channel == "musdes"
    assert version.history_change_reason == "Hasil musdes 2025"
    person = Person.objects.get(person_code=person_code)
    assert person.name == "NAMA BARU"
    latest = person.history.latest()
    assert (latest.history_type, latest.name, latest.history_channel) == ("~", "NAMA BARU", "musdes")
    assert person.nik_enc == person.history.earliest().nik_enc  # the NIK did not change: same ciphertext


def test_default_stamp_is_system_import_and_file_name(make_files, tmp_path, bulk_actor):
    tables = population(3, seed=5)
    bulk_import(actor=bulk_actor, paths=[make_files(tables, "csv")], report_dir=tmp_path / "r")
    version = Person.history.first()
    assert version.history_user.username == "system"
    assert version.history_channel == "import"
    assert version.history_change_reason == "Impor massal persons.csv / bulk import persons.csv"


def test_kk_change_closes_the_old_number_and_keeps_it(make_files, tmp_path, bulk_actor):
    # Given a family imported with one earlier KK number
    tables = population(4, seed=6)
    fam = tables["families"][0]
    old_current, earlier = fam["kk_number"], fam["kk_previous"]
    assert earlier
    bulk_import(actor=bulk_actor, paths=[make_files(tables, "csv", "a")], report_dir=tmp_path / "r1")
    family = Family.objects.get(family_code=fam["family_code"])
    rows = list(FamilyKkNumber.objects.filter(family=family).order_by("id"))
    assert [(r.kk_number, r.valid_to is None) for r in rows] == [(earlier, False), (old_current, True)]

    # When the family comes with a new KK number
    fam["kk_number"] = "3401019999999999"
    fam["kk_previous"] = f"{earlier}|{old_current}"
    summary = bulk_import(
        actor=bulk_actor, paths=[make_files(tables, "csv", "b")], report_dir=tmp_path / "r2"
    )

    # Then the old number is closed, the new one open, and the family has one new version
    assert summary.exit_code == 0
    rows = list(FamilyKkNumber.objects.filter(family=family).order_by("id"))
    assert [r.kk_number for r in rows] == [earlier, old_current, "3401019999999999"]
    assert [r.valid_to is None for r in rows] == [False, False, True]
    assert family.history.count() == 2
    again = bulk_import(actor=bulk_actor, paths=[make_files(tables, "csv", "c")], report_dir=tmp_path / "r3")
    assert again.changes["kk_numbers"] == {"created": 0}


def test_nik_is_never_stored_in_clear(make_files, tmp_path, bulk_actor):
    # Given a population with a few bad NIKs, rejected, then the good one imported
    tables = population(15, seed=7)
    bad = copy.deepcopy(tables)
    bad["persons"][3]["nik"] = bad["persons"][3]["nik"][:-1] + "A"
    bulk_import(actor=bulk_actor, paths=[make_files(bad, "csv", "bad")], report_dir=tmp_path / "r1")
    bulk_import(actor=bulk_actor, paths=[make_files(tables, "csv", "good")], report_dir=tmp_path / "r2")
    niks = {p["nik"] for p in tables["persons"]} | {bad["persons"][3]["nik"]}

    # Then no table of the register holds any NIK in clear (nor its first 12 digits)
    with connection.cursor() as cur:
        for table in registry_tables():
            cur.execute(f"SELECT * FROM {table}")
            text = "\n".join(str(row) for row in cur.fetchall())
            assert not any(nik[:12] in text for nik in niks), table
    # and neither do the reports
    for report in (tmp_path / "r1", tmp_path / "r2"):
        for path in report.iterdir():
            content = path.read_text(encoding="utf-8")
            assert not any(nik[:12] in content for nik in niks), path
    assert Person.objects.filter(nik_hash=nik_hash(tables["persons"][0]["nik"])).count() == 1


def test_unusable_input_exits_with_2(make_files, tmp_path, bulk_actor):
    # Missing file
    assert run_command(str(tmp_path / "nothing-here"), "--report-dir", str(tmp_path / "r1")) == 2
    # Missing column
    tables = population(3, seed=8)
    directory = make_files(tables, "csv")
    path = directory / "families.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    drop = header.index("rt")
    path.write_text(
        "\n".join(",".join(x for i, x in enumerate(line.split(",")) if i != drop) for line in lines) + "\n"
    )
    counts = table_counts()
    assert run_command(str(directory), "--report-dir", str(tmp_path / "r2")) == 2
    assert [(r["file"], r["row"], r["field"], r["code"]) for r in rejected(tmp_path / "r2")] == [
        ("families.csv", "1", "rt", "column_missing")
    ]
    # An unreadable file
    (directory / "families.csv").write_bytes(b"\xff\xfe\x00garbage\x00")
    assert run_command(str(directory / "families.csv"), "--report-dir", str(tmp_path / "r3")) == 2
    assert table_counts() == counts


def test_malformed_csv_rows_are_numbered_as_in_the_file(make_files, tmp_path, bulk_actor):
    tables = population(10, seed=10)
    directory = make_files(tables, "csv")
    path = directory / "conditions.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    area = lines[0].split(",").index("floor_area_m2")
    lines[3] = lines[3] + ",extra"  # row 4 of the file: one field too many
    lines[6] = lines[6].replace("REGSOSEK", "REGSOSEK,oops", 1)  # row 7
    fields = lines[7].split(",")
    fields[area] = "9999"  # row 8: a good row shape with a bad value, after the malformed rows
    lines[7] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = bulk_import(actor=bulk_actor, paths=[directory], report_dir=tmp_path / "r")
    assert summary.exit_code == 1
    got = sorted((r["row"], r["code"]) for r in rejected(tmp_path / "r") if r["file"] == "conditions.csv")
    assert got == [("4", "row_malformed"), ("7", "row_malformed"), ("8", "out_of_range")]


def test_dry_run_writes_nothing_but_counts(make_files, tmp_path, bulk_actor):
    tables = population(5, seed=11)
    counts = table_counts()
    summary = bulk_import(
        actor=bulk_actor, paths=[make_files(tables, "csv")], report_dir=tmp_path / "r", dry_run=True
    )
    assert summary.status == "dry_run"
    assert summary.exit_code == 0
    assert summary.changes["families"] == {"created": 5, "updated": 0, "unchanged": 0}
    assert table_counts() == counts


def test_a_head_cannot_leave_a_family_the_file_does_not_update(make_files, tmp_path, bulk_actor):
    tables = population(4, seed=12)
    bulk_import(actor=bulk_actor, paths=[make_files(tables, "csv", "a")], report_dir=tmp_path / "r1")
    head = next(p for p in tables["persons"] if p["person_code"] == tables["families"][0]["head_person_code"])
    head["family_code"] = tables["families"][1]["family_code"]
    path = make_files({"persons": [head]}, "csv", "moves") / "persons.csv"
    summary = bulk_import(actor=bulk_actor, paths=[path], report_dir=tmp_path / "r2")
    codes = {r["code"] for r in rejected(tmp_path / "r2")}
    assert summary.exit_code == 1
    assert {"head_leaves_family", "head_count"} <= codes


def test_a_person_moving_between_families_is_a_new_version(make_files, tmp_path, bulk_actor):
    tables = population(4, seed=12)
    bulk_import(actor=bulk_actor, paths=[make_files(tables, "csv", "a")], report_dir=tmp_path / "r1")
    mover = next(p for p in tables["persons"] if p["relationship"] == c.Relationship.CHILD)
    target = next(f for f in tables["families"] if f["family_code"] != mover["family_code"])
    mover["family_code"] = target["family_code"]
    summary = bulk_import(
        actor=bulk_actor,
        paths=[make_files({"persons": [mover]}, "csv", "b") / "persons.csv"],
        report_dir=tmp_path / "r2",
    )
    assert summary.exit_code == 0, rejected(tmp_path / "r2")
    person = Person.objects.get(person_code=mover["person_code"])
    assert person.family.family_code == target["family_code"]
    assert person.history.count() == 2


def test_initial_load_rebuilds_the_indexes_it_dropped(make_files, tmp_path, bulk_actor, monkeypatch):
    def indexes() -> set[str]:
        with connection.cursor() as cur:
            out = set()
            for table in registry_tables():
                out |= {
                    i["columns"].__repr__() + name
                    for name, i in connection.introspection.get_constraints(cur, table).items()
                }
            return out

    before = indexes()
    monkeypatch.setattr(load, "SUSPEND_INDEXES_MIN_ROWS", 1)
    tables = population(10, seed=13)
    summary = bulk_import(actor=bulk_actor, paths=[make_files(tables, "parquet")], report_dir=tmp_path / "r")
    assert summary.exit_code == 0
    assert "write: rebuild indexes" in summary.timings
    assert indexes() == before
    assert Person.objects.filter(family__family_code=tables["families"][0]["family_code"]).exists()


def test_out_of_scope_rows_are_rejected(make_files, tmp_path, operator_kulon_progo):
    tables = population(6, seed=14)
    tables["families"][1]["village_code"] = OTHER_REGION_VILLAGE
    tables["families"][1]["dwelling_code"] = "D-LAIN"
    summary = bulk_import(
        actor=operator_kulon_progo, paths=[make_files(tables, "csv")], report_dir=tmp_path / "r"
    )
    assert summary.exit_code == 1
    assert {(r["key"], r["code"]) for r in rejected(tmp_path / "r") if r["file"] == "families.csv"} == {
        (tables["families"][1]["family_code"], "out_of_scope")
    }
    assert Family.objects.count() == 0


def test_changes_to_dwellings_conditions_exclusions_and_nik(make_files, tmp_path, bulk_actor):
    # Given an imported population
    tables = population(12, seed=15)
    bulk_import(actor=bulk_actor, paths=[make_files(tables, "csv", "v1")], report_dir=tmp_path / "r1")
    counts = table_counts()
    family = tables["families"][4]
    condition = next(row for row in tables["conditions"] if row["family_code"] == family["family_code"])
    flag = tables["exclusions"][0]
    person = tables["persons"][7]
    old_hash = Person.objects.get(person_code=person["person_code"]).nik_hash

    # When the dwelling moves a little, a condition value changes, a flag's reference and a NIK change
    family["latitude"] = "-7.123456"
    condition["floor_area_m2"] = "77.5"
    flag["source_ref"] = "SK-BARU"
    person["nik"] = person["nik"][:12] + "0999"
    summary = bulk_import(
        actor=bulk_actor, paths=[make_files(tables, "parquet", "v2")], report_dir=tmp_path / "r2"
    )

    # Then each is one new version (the condition a new snapshot beside the old one), nothing else changes
    assert summary.exit_code == 0
    after = table_counts()
    grown = {t: after[t] - counts[t] for t in after if after[t] != counts[t]}
    assert grown == {
        "registry_historicaldwelling": 1,
        "registry_condition": 1,
        "registry_historicalexclusionflag": 1,
        "registry_historicalperson": 1,
    }
    dwelling = Family.objects.get(family_code=family["family_code"]).dwelling
    assert str(dwelling.latitude) == "-7.123456"
    assert dwelling.history.latest().history_type == "~"
    areas = sorted(
        str(c.floor_area_m2) for c in Condition.objects.filter(family__family_code=family["family_code"])
    )
    assert "77.5" in areas
    assert len(areas) == 2
    assert ExclusionFlag.objects.get(person__person_code=flag["person_code"]).source_ref == "SK-BARU"
    changed = Person.objects.get(person_code=person["person_code"])
    assert changed.nik_hash == nik_hash(person["nik"]) != old_hash
    assert changed.history.latest().nik_enc == changed.nik_enc != changed.history.earliest().nik_enc
