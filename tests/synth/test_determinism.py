"""Same seed, same files; another seed, another population; CSV and Parquet hold the same rows."""

from __future__ import annotations

import pandas as pd
import pytest

from dtsen.registry.covariates import family_covariates
from dtsen.synth import services
from dtsen.synth.services import population_generate
from tests.synth.conftest import FAULT_RATES

FILES = (
    "families.parquet",
    "persons.parquet",
    "conditions.parquet",
    "exclusions.parquet",
    "ground_truth.parquet",
    "faults.parquet",
    "manifest.json",
)


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(services, "CHUNK_FAMILIES", 600)


def test_same_seed_gives_identical_files(tmp_path, small_chunks):
    # Given / When: the same arguments twice (three chunks, every fault type)
    for name in ("a", "b"):
        population_generate(
            out_dir=tmp_path / name, region_code="34.01.01", n_families=1500, seed=5, rates=FAULT_RATES
        )
    # Then
    for file in FILES:
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file


def test_another_seed_gives_another_population_with_the_same_codes(tmp_path):
    population_generate(out_dir=tmp_path / "a", region_code="34.01.01", n_families=800, seed=5)
    population_generate(out_dir=tmp_path / "b", region_code="34.01.01", n_families=800, seed=6)
    a = pd.read_parquet(tmp_path / "a" / "persons.parquet")
    b = pd.read_parquet(tmp_path / "b" / "persons.parquet")
    assert not a["name"].equals(b["name"])
    assert not a["nik"].equals(b["nik"])
    fa = pd.read_parquet(tmp_path / "a" / "families.parquet")
    fb = pd.read_parquet(tmp_path / "b" / "families.parquet")
    assert fa["family_code"].equals(fb["family_code"])  # families are laid out by region, not by seed


def test_csv_holds_the_same_rows_as_parquet(tmp_path):
    population_generate(out_dir=tmp_path / "p", region_code="34.01.02", n_families=500, seed=9)
    population_generate(out_dir=tmp_path / "c", region_code="34.01.02", n_families=500, seed=9, fmt="csv")
    for name in ("families", "persons", "conditions"):
        pq_rows = pd.read_parquet(tmp_path / "p" / f"{name}.parquet")
        csv_rows = pd.read_csv(
            tmp_path / "c" / f"{name}.csv",
            dtype={"nik": str, "kk_number": str, "rw": str, "rt": str, "kk_previous": str},
        )
        assert len(pq_rows) == len(csv_rows)
        assert list(csv_rows.columns) == list(pq_rows.columns)
    as_of = services.DEFAULT_AS_OF
    from_pq = family_covariates(
        **{n: tmp_path / "p" / f"{n}.parquet" for n in ("families", "persons", "conditions")}, as_of=as_of
    )
    from_csv = family_covariates(
        **{n: tmp_path / "c" / f"{n}.csv" for n in ("families", "persons", "conditions")}, as_of=as_of
    )
    pd.testing.assert_frame_equal(from_pq, from_csv, check_dtype=False)
