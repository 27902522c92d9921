"""Fixtures of the PMT tests: the Alatas et al. (2012) training extract (tests may read ../shared)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dtsen.ranking import pmt

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "alatas-2012-indonesia"
ALATAS_TRAIN = SHARED / "alatas_train.csv"
VARIABLES = SHARED / "variables.csv"
SPECS = Path(pmt.default_spec_path()).parent


@pytest.fixture(scope="session")
def alatas_path() -> Path:
    if not ALATAS_TRAIN.exists():
        pytest.skip("../shared/data/alatas-2012-indonesia/alatas_train.csv is not available")
    return ALATAS_TRAIN


@pytest.fixture(scope="session")
def alatas_frame(alatas_path: Path) -> pd.DataFrame:
    return pd.read_csv(alatas_path)


@pytest.fixture(scope="session")
def default_model() -> pmt.PmtModel:
    return pmt.load_default_model()


@pytest.fixture(scope="session")
def default_spec() -> pmt.FeatureSpec:
    return pmt.load_spec(pmt.default_spec_path())
