"""Calibration acceptance: covariate shares within 3 points of the survey's; PMT R² within 0.1 of its R².

Runs the generator on 30,000 families (about 2 seconds), derives the 45 covariates from the written registry
tables with the same function the ranking uses, and compares with the Alatas et al. (2012) training extract.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dtsen.registry.covariates import BINARY_COVARIATES, COVARIATES, family_covariates
from dtsen.synth.services import DEFAULT_AS_OF, population_generate


def r2(x: pd.DataFrame, y: np.ndarray) -> float:
    design = np.column_stack([np.ones(len(x)), x[list(COVARIATES)].astype(float).to_numpy()])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    return float(1 - resid.var() / y.var())


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("calibration")
    population_generate(out_dir=out, region_code="34", n_families=30_000, seed=2024)
    cov = family_covariates(
        families=out / "families.parquet",
        persons=out / "persons.parquet",
        conditions=out / "conditions.parquet",
        as_of=DEFAULT_AS_OF,
    )
    truth = pd.read_parquet(out / "ground_truth.parquet")
    return cov.merge(truth, on="family_code", validate="one_to_one")


def test_no_missing_covariates(synthetic):
    assert len(synthetic) == 30_000
    assert synthetic[list(COVARIATES)].notna().all().all()


@pytest.mark.parametrize("name", BINARY_COVARIATES)
def test_share_within_3_points_of_the_survey(synthetic, alatas, name):
    survey = alatas[name].mean()
    synth = synthetic[name].astype(float).mean()
    assert abs(synth - survey) <= 0.03, f"{name}: survey {survey:.3f}, synthetic {synth:.3f}"


def test_pmt_r2_within_0_1_of_the_survey(synthetic, alatas):
    real = r2(alatas, np.log(alatas["consumption"].to_numpy()))
    synth = r2(synthetic, synthetic["log_consumption_pc"].to_numpy())
    assert abs(synth - real) <= 0.1, f"R²: survey {real:.3f}, synthetic {synth:.3f}"


def test_welfare_distribution_and_family_size(synthetic, alatas):
    # per-capita consumption: same distribution as the survey (thousand Rp), median within 5%
    real = np.log(alatas["consumption"])
    synth = synthetic["log_consumption_pc"]
    assert abs(np.median(synth) - np.median(real)) < 0.05
    assert abs(synth.std() - real.std()) < 0.05
    # registry families (mean ~3.8) are smaller than the survey's households (4.5); poorer ones are larger
    assert 3.7 <= synthetic["hhsize"].mean() <= 3.9
    corr = np.corrcoef(np.log(synthetic["hhsize"]), synth)[0, 1]
    real_corr = np.corrcoef(np.log(alatas["hhsize"]), real)[0, 1]
    assert corr < -0.1
    assert abs(corr - real_corr) < 0.15
