"""`dtsen synth` command: files, manifest and bilingual errors."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command


def test_writes_the_registry_tables_truth_faults_and_manifest(tmp_path, capsys):
    call_command(
        "synth",
        "--region",
        "34.01.01",
        "--families",
        "300",
        "--seed",
        "7",
        "--out",
        str(tmp_path),
        "--fault-duplicates",
        "0.02",
        "--fault-deceased",
        "0.01",
        "--fault-excluded",
        "0.01",
        "--fault-stale-kk",
        "0.02",
        "--quiet",
    )
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {
        "families.parquet",
        "persons.parquet",
        "conditions.parquet",
        "exclusions.parquet",
        "ground_truth.parquet",
        "faults.parquet",
        "manifest.json",
    }
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["seed"] == 7
    assert manifest["region"]["code"] == "34.01.01"
    assert manifest["region"]["name"] == "Temon"
    assert manifest["fault_rates"]["duplicates"] == 0.02
    assert manifest["counts"]["ground_truth"] == 300
    assert set(manifest["fault_counts"]) == {"duplicate", "deceased", "excluded", "stale_kk"}
    out = capsys.readouterr().out
    assert "keluarga" in out
    assert "families" in out


def test_csv_format(tmp_path):
    call_command("synth", "--families", "50", "--out", str(tmp_path), "--format", "csv", "--quiet")
    assert (tmp_path / "persons.csv").read_text().startswith('"person_code","family_code","nik"')
    assert json.loads((tmp_path / "manifest.json").read_text())["region"]["code"] == "34.01"


@pytest.mark.parametrize(
    ("args", "fragment_id", "fragment_en"),
    [
        (["--region", "99.99"], "tidak dikenal", "Unknown region"),
        (["--families", "0"], "Jumlah keluarga", "number of families"),
        (["--fault-deceased", "2"], "antara 0 dan 0,5", "between 0 and 0.5"),
        (["--seed", "-1"], "Seed harus", "seed must"),
    ],
)
def test_bilingual_errors(tmp_path, args, fragment_id, fragment_en):
    base = {"--families": "10", "--out": str(tmp_path)}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = [item for pair in base.items() for item in pair]
    with pytest.raises(CommandError) as exc:
        call_command("synth", *argv, "--quiet")
    assert fragment_id in str(exc.value)
    assert fragment_en in str(exc.value)


def test_not_a_number_is_refused_in_both_languages(tmp_path):
    with pytest.raises(CommandError) as exc:
        call_command("synth", "--families", "banyak", "--out", str(tmp_path))
    assert "bukan bilangan bulat" in str(exc.value)
    assert "not an integer" in str(exc.value)


def test_region_code_without_dots_is_accepted(tmp_path):
    call_command("synth", "--region", "340101", "--families", "20", "--out", str(tmp_path), "--quiet")
    assert json.loads((tmp_path / "manifest.json").read_text())["region"]["code"] == "34.01.01"
