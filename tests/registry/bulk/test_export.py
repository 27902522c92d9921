"""Bulk export: the import format (round trip), limited to the actor's scope, refused without rights."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from dtsen.core.errors import PermissionDenied
from dtsen.registry.bulk.export import bulk_export
from dtsen.registry.bulk.services import bulk_import
from dtsen.registry.schema import TABLES

from .conftest import OTHER_REGION_VILLAGE, population, registry_tables, table_counts

pytestmark = pytest.mark.django_db


def wipe_register() -> None:
    """Empty every registry table (inside the test's transaction), as a fresh database would be."""
    with connection.cursor() as cur:
        cur.execute("UPDATE registry_family SET head_id = NULL, pengurus_id = NULL")
        order = [
            "registry_event",
            "registry_exclusionflag",
            "registry_condition",
            "registry_familykknumber",
            "registry_person",
            "registry_family",
            "registry_dwelling",
        ]
        for table in order + [t for t in registry_tables() if t not in order]:
            cur.execute(f"DELETE FROM {table}")
    assert set(table_counts().values()) == {0}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_import_export_gives_identical_files(make_files, tmp_path, bulk_actor, fmt):
    # Given a register loaded from files (with shared dwellings, earlier KK numbers, exclusions, deaths)
    tables = population(40, seed=21)
    assert (
        bulk_import(actor=bulk_actor, paths=[make_files(tables, fmt)], report_dir=tmp_path / "r0").exit_code
        == 0
    )

    # When it is exported, imported into an empty register and exported again
    first = bulk_export(actor=bulk_actor, out_dir=tmp_path / "a", fmt=fmt)
    wipe_register()
    again = bulk_import(actor=bulk_actor, paths=[tmp_path / "a"], report_dir=tmp_path / "r1")
    assert again.exit_code == 0, (tmp_path / "r1" / "rejected.csv").read_text()
    second = bulk_export(actor=bulk_actor, out_dir=tmp_path / "b", fmt=fmt)

    # Then both exports are byte for byte the same, and hold every row
    assert first.rows == second.rows == {name: len(rows) for name, rows in tables.items()}
    for name in TABLES:
        a, b = Path(first.files[name]), Path(second.files[name])
        assert a.read_bytes() == b.read_bytes(), name


def test_export_is_the_import_format(make_files, tmp_path, bulk_actor):
    tables = population(8, seed=22)
    bulk_import(actor=bulk_actor, paths=[make_files(tables, "csv")], report_dir=tmp_path / "r")
    result = bulk_export(actor=bulk_actor, out_dir=tmp_path / "out", fmt="csv")
    for name, table in TABLES.items():
        rows = read_csv(Path(result.files[name]))
        assert list(rows[0]) == table.names if rows else True
    persons = {p["person_code"]: p for p in read_csv(tmp_path / "out" / "persons.csv")}
    for source in tables["persons"]:
        got = persons[source["person_code"]]
        assert got["nik"] == source["nik"]  # decrypted for the export
        assert got["name"] == source["name"].upper()
        assert got["birth_date"] == source["birth_date"]
    families = {f["family_code"]: f for f in read_csv(tmp_path / "out" / "families.csv")}
    for source in tables["families"]:
        got = families[source["family_code"]]
        for column in (
            "kk_number",
            "village_code",
            "rw",
            "rt",
            "dwelling_code",
            "building_no",
            "latitude",
            "longitude",
            "head_person_code",
            "pengurus_person_code",
            "kk_previous",
        ):
            assert got[column] == source[column], column


def test_export_is_limited_to_the_scope_and_region(make_files, tmp_path, bulk_actor, operator_kulon_progo):
    tables = population(6, seed=23)
    outside = population(3, seed=24, prefix="B", villages=[OTHER_REGION_VILLAGE])
    for name in tables:
        tables[name] += outside[name]
    bulk_import(actor=bulk_actor, paths=[make_files(tables, "csv")], report_dir=tmp_path / "r")

    mine = bulk_export(actor=operator_kulon_progo, out_dir=tmp_path / "kp")
    assert mine.rows["families"] == 6
    assert {f["village_code"][:5] for f in read_csv(tmp_path / "kp" / "families.csv")} == {"34.01"}
    assert {p["family_code"] for p in read_csv(tmp_path / "kp" / "persons.csv")} <= {
        f["family_code"] for f in tables["families"][:6]
    }

    temon = bulk_export(actor=operator_kulon_progo, out_dir=tmp_path / "temon", region="34.01.01")
    assert 0 < temon.rows["families"] < 6
    everything = bulk_export(actor=bulk_actor, out_dir=tmp_path / "all", region="34")
    assert everything.rows["families"] == 9

    with pytest.raises(PermissionDenied):
        bulk_export(actor=operator_kulon_progo, out_dir=tmp_path / "bantul", region="34.02")


def test_actor_without_bulk_permission_is_refused(make_files, tmp_path, village_operator):
    tables = population(2, seed=25)
    with pytest.raises(PermissionDenied):
        bulk_import(actor=village_operator, paths=[make_files(tables, "csv")], report_dir=tmp_path / "r")
    with pytest.raises(PermissionDenied):
        bulk_export(actor=village_operator, out_dir=tmp_path / "out")
    for command, args in (
        ("registry_import", [str(tmp_path / "in")]),
        ("registry_export", [str(tmp_path / "o")]),
    ):
        with pytest.raises(CommandError) as exc:
            call_command(command, *args, "--actor", "operator.desa", "--no-progress", verbosity=0)
        assert exc.value.returncode == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_export_command_writes_parquet(make_files, tmp_path, bulk_actor):
    tables = population(3, seed=26)
    bulk_import(actor=bulk_actor, paths=[make_files(tables, "csv")], report_dir=tmp_path / "r")
    call_command(
        "registry_export", str(tmp_path / "out"), "--format", "parquet", "--no-progress", verbosity=0
    )
    persons = pq.read_table(tmp_path / "out" / "persons.parquet")
    assert persons.column_names == TABLES["persons"].names
    assert str(persons.schema.field("birth_date").type) == "date32[day]"
    assert persons.num_rows == len(tables["persons"])
