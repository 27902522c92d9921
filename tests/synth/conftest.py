"""Fixtures of the synthetic-population tests: small generated populations, shared per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dtsen.synth.faults import FaultRates
from dtsen.synth.services import SynthResult, population_generate

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "alatas-2012-indonesia"
ALATAS_TRAIN = SHARED / "alatas_train.csv"

FAULT_RATES = FaultRates(duplicates=0.03, deceased=0.01, excluded=0.01, stale_kk=0.04)


def read(result: SynthResult, name: str) -> pd.DataFrame:
    ext = (
        "csv"
        if result.manifest["format"] == "csv" and name in ("families", "persons", "conditions", "exclusions")
        else "parquet"
    )
    path = result.out_dir / f"{name}.{ext}"
    return pd.read_parquet(path) if ext == "parquet" else pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="session")
def clean(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    """4,000 families of Kulon Progo (34.01), seed 11, no faults."""
    return population_generate(
        out_dir=tmp_path_factory.mktemp("clean"), region_code="34.01", n_families=4000, seed=11
    )


@pytest.fixture(scope="session")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    """4,000 families of Kulon Progo, seed 12, with every fault type."""
    return population_generate(
        out_dir=tmp_path_factory.mktemp("faulty"),
        region_code="34.01",
        n_families=4000,
        seed=12,
        rates=FAULT_RATES,
    )


@pytest.fixture(scope="session")
def clean_tables(clean: SynthResult) -> dict[str, Any]:
    return {
        name: read(clean, name)
        for name in ("families", "persons", "conditions", "exclusions", "ground_truth", "faults")
    }


@pytest.fixture(scope="session")
def faulty_tables(faulty: SynthResult) -> dict[str, Any]:
    return {
        name: read(faulty, name)
        for name in ("families", "persons", "conditions", "exclusions", "ground_truth", "faults")
    }


@pytest.fixture(scope="session")
def alatas() -> pd.DataFrame:
    if not ALATAS_TRAIN.exists():
        pytest.skip("../shared/data/alatas-2012-indonesia/alatas_train.csv is not available")
    return pd.read_csv(ALATAS_TRAIN)
