"""A synthetic population with injected duplicates (dtsen.synth faults) and a model trained on it, once per
session: Kulon Progo (34.01), 4,000 families, 5% of persons duplicated with the generator's realistic faults."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dtsen.linkage import engine
from dtsen.linkage.model import ModelParams
from dtsen.linkage.prepare import linkage_input
from dtsen.synth.faults import FaultRates
from dtsen.synth.services import population_generate

FAMILIES = 4000


@pytest.fixture(scope="session")
def dup_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("linkage-synth")
    population_generate(
        out_dir=out, region_code="34.01", n_families=FAMILIES, seed=29,
        rates=FaultRates(duplicates=0.05, deceased=0.01, excluded=0.01, stale_kk=0.02),
    )
    return out


def raw_persons(directory: Path) -> pa.Table:
    sql = (
        "SELECT p.person_code, p.nik, p.name, p.sex, p.birth_date, p.birth_place, f.village_code "
        f"FROM '{directory}/persons.parquet' p JOIN '{directory}/families.parquet' f USING (family_code) "
        "ORDER BY p.person_code"
    )
    return duckdb.sql(sql).to_arrow_table()


@pytest.fixture(scope="session")
def prepared(dup_dir: Path) -> pa.Table:
    return linkage_input(raw_persons(dup_dir))


@pytest.fixture(scope="session")
def faults(dup_dir: Path) -> pa.Table:
    return pq.read_table(dup_dir / "faults.parquet")


@pytest.fixture(scope="session")
def trained(prepared: pa.Table) -> ModelParams:
    return engine.train(prepared)
