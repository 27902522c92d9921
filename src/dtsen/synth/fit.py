"""Fit the synthetic population's welfare model on the Alatas et al. (2012) household survey.

Run by a developer, not at run time:

    python -m dtsen.synth.fit /path/to/alatas_train.csv --out src/dtsen/synth/params/alatas_calibrated.json

The output holds fitted parameters and aggregate shares only (coefficients, thresholds, quantiles), never
survey rows. Steps:

1. y = log per-capita consumption (thousand Rp per month, 2008): quantiles on a 0.5% grid with Gaussian tails.
2. Each conditional of the chain in `model.py` by maximum likelihood (logistic regressions with a light L2
   penalty on standardised features; ordered logit for family size; OLS with empirical residual quantiles for
   head age and log floor area).
3. Family size thresholds are then moved so that the size distribution matches `assumptions.SIZE_TARGET`
   (a registry family is smaller than the survey household: mean 3.8 instead of 4.5), keeping the welfare
   gradient (poorer families larger).
4. Calibration: the full generator is run on a simulated population, the covariates are derived from its
   registry tables with `dtsen.registry.covariates.family_covariates`, and the intercepts of every binary and
   multinomial conditional are shifted until each covariate share matches the survey's (a few rounds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import statsmodels.api as sm
from scipy.optimize import brentq
from scipy.special import ndtri
from sklearn.linear_model import LogisticRegression
from statsmodels.miscmodels.ordinal_model import OrderedModel

from dtsen.registry.covariates import BINARY_COVARIATES, COVARIATES, family_covariates
from dtsen.synth import assumptions as a
from dtsen.synth import model as m
from dtsen.synth import population as pop
from dtsen.synth.geography import Region, layout_build

FEATURES: dict[str, list[str]] = {
    "size": ["y", "y2"],
    "male": ["y", "lk", "k1"],
    "age": ["y", "y2", "lk", "k1", "male"],
    "married": ["y", "lk", "k1", "male", "age", "age2"],
    "he": ["y", "y2", "age", "age2", "male", "married", "lk"],
    "hi": ["y", "y2", "he1", "he2", "he3", "lk", "age", "married", "nsch", "age04"],
    "job": ["y", "y2", "age", "age2", "male", "married", "he1", "he2", "he3", "lk"],
    "credit": [f for f in m.BASE_FEATURES if f not in ("credit", "lpcf")],
    "floor_area": [f for f in m.BASE_FEATURES if f not in ("lpcf", "k1", "age04", "nsch", "dep", "informal")],
}
PENALTY_C = 1.0


def survey_state(frame: pd.DataFrame, y_mean: float, y_sd: float) -> dict[str, np.ndarray[Any, Any]]:
    """Model state (see model.py) from the survey's columns."""
    d = frame
    hs = d["hhsector1"] + 2 * d["hhsector2"] + 3 * d["hhsector3"]
    job = np.where((d["formal"] == 1) & (hs > 0), hs, np.where((d["informal"] == 1) & (hs > 0), hs + 3, 0))
    state: dict[str, np.ndarray[Any, Any]] = {
        "y": ((np.log(d["consumption"]) - y_mean) / y_sd).to_numpy(),
        "k": d["hhsize"].to_numpy(),
        "male": d["hhmale"].to_numpy(),
        "age": d["hhage"].to_numpy().astype(float),
        "married": d["hhmarried"].to_numpy(),
        "age04": d["age04"].to_numpy(),
        "nsch": (d["eschild"] + d["jschild"] + d["sschild"]).to_numpy(),
        "dep": d["depratio"].to_numpy(),
        "he": (d["hheduc2"] + 2 * d["hheduc3"] + 3 * d["hheduc4"]).to_numpy(),
        "hi": (d["higheduc2"] + 2 * d["higheduc3"] + 3 * d["higheduc4"]).to_numpy(),
        "job": job,
        "credit": d["credit"].to_numpy(),
        "pcfloor": d["pcfloor"].to_numpy(),
    }
    for name in m.BINARY_CHAIN:
        state[name] = d[name].to_numpy()
    return state


def _standardise(
    x: np.ndarray[Any, Any],
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    return (x - mean) / scale, mean, scale


def fit_logit(state: Any, target: np.ndarray[Any, Any], features: list[str]) -> dict[str, Any]:
    x, mean, scale = _standardise(m.design(state, features))
    clf = LogisticRegression(C=PENALTY_C, max_iter=5000)
    clf.fit(x, target)
    coef = clf.coef_[0] / scale
    intercept = float(clf.intercept_[0] - (clf.coef_[0] * mean / scale).sum())
    return {"kind": "logit", "features": features, "intercept": intercept, "coef": coef.tolist()}


def fit_multinomial(
    state: Any, target: np.ndarray[Any, Any], features: list[str], classes: int
) -> dict[str, Any]:
    x, mean, scale = _standardise(m.design(state, features))
    clf = LogisticRegression(C=PENALTY_C, max_iter=5000)
    clf.fit(x, target)
    full_coef = np.zeros((classes, len(features)))
    full_int = np.full(classes, -30.0)  # a class absent from the survey stays (practically) impossible
    for row, cls in enumerate(clf.classes_):
        full_coef[int(cls)] = clf.coef_[row] / scale
        full_int[int(cls)] = clf.intercept_[row] - (clf.coef_[row] * mean / scale).sum()
    return {
        "kind": "multinomial",
        "features": features,
        "intercept": full_int.tolist(),
        "coef": full_coef.tolist(),
    }


_RESID_PROBS = np.concatenate([[0.0], np.linspace(0.01, 0.99, 99), [1.0]])


def fit_linear(state: Any, target: np.ndarray[Any, Any], features: list[str]) -> dict[str, Any]:
    x = sm.add_constant(m.design(state, features), has_constant="add")
    res = sm.OLS(target, x).fit()
    resid = np.asarray(res.resid)
    quants = np.quantile(resid, _RESID_PROBS[1:-1])
    tail = 3.0 * resid.std()
    quants = np.concatenate([[quants[0] - tail * 0.5], quants, [quants[-1] + tail * 0.5]])
    return {
        "kind": "linear",
        "features": features,
        "intercept": float(res.params[0]),
        "coef": np.asarray(res.params[1:]).tolist(),
        "resid_probs": _RESID_PROBS.tolist(),
        "resid_quantiles": quants.tolist(),
        "r2": float(res.rsquared),
    }


def fit_y(logy: np.ndarray[Any, Any]) -> dict[str, Any]:
    """Quantiles of log consumption on a 0.5% grid, indexed by normal scores, with linear (Gaussian) tails
    out to z = +-6 using the slope of the outer 2.5% of each side."""
    grid = np.round(np.arange(0.005, 0.9951, 0.005), 4)
    z = ndtri(grid)
    q = np.quantile(logy, grid)
    lo_slope = (q[4] - q[0]) / (z[4] - z[0])
    hi_slope = (q[-1] - q[-5]) / (z[-1] - z[-5])
    zs = np.concatenate([[-6.0], z, [6.0]])
    quants = np.concatenate([[q[0] + lo_slope * (-6.0 - z[0])], q, [q[-1] + hi_slope * (6.0 - z[-1])]])
    return {
        "unit": "log of monthly per-capita consumption, thousand Rp (2008 prices)",
        "mean": float(logy.mean()),
        "sd": float(logy.std()),
        "z": zs.tolist(),
        "quantiles": quants.tolist(),
    }


def fit_size(state: Any, y_model: dict[str, Any]) -> dict[str, Any]:
    cats = np.minimum(state["k"], 8) - 1
    exog = m.design(state, FEATURES["size"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = OrderedModel(cats, exog, distr="logit")
        res = mod.fit(method="bfgs", disp=False, maxiter=2000)
    coef = np.asarray(res.params[: exog.shape[1]])
    # thresholds for the target size distribution, keeping the welfare gradient
    u = (np.arange(200_000) + 0.5) / 200_000
    y = (m.y_from_latent(y_model, ndtri(u)) - y_model["mean"]) / y_model["sd"]
    eta = m.design({"y": y}, FEATURES["size"]) @ coef
    target = np.cumsum(a.SIZE_TARGET)[:-1] / sum(a.SIZE_TARGET)
    cut = [brentq(lambda c, t=t: float(m.sigmoid(c - eta).mean() - t), -30, 30) for t in target]
    return {"kind": "ordered", "features": FEATURES["size"], "coef": coef.tolist(), "cutpoints": cut}


def fit_all(frame: pd.DataFrame) -> dict[str, Any]:
    logy = np.log(frame["consumption"].to_numpy())
    y_model = fit_y(logy)
    state = survey_state(frame, y_model["mean"], y_model["sd"])
    models: dict[str, Any] = {"size": fit_size(state, y_model)}
    models["male"] = fit_logit(state, state["male"], FEATURES["male"])
    models["age"] = fit_linear(state, state["age"], FEATURES["age"])
    models["married"] = fit_logit(state, state["married"], FEATURES["married"])
    models["he"] = fit_multinomial(state, state["he"], FEATURES["he"], 4)
    models["hi"] = fit_multinomial(state, state["hi"], FEATURES["hi"], 4)
    models["job"] = fit_multinomial(state, state["job"], FEATURES["job"], 7)
    models["credit"] = fit_logit(state, state["credit"], FEATURES["credit"])
    area = np.log(np.maximum(state["pcfloor"] * state["k"], 1.0))
    models["floor_area"] = fit_linear(state, area, FEATURES["floor_area"])
    previous: list[str] = []
    for name in m.BINARY_CHAIN:
        models[name] = fit_logit(state, state[name], [*m.BASE_FEATURES, *previous])
        previous.append(name)
    return {"y": y_model, "models": models}


def survey_targets(frame: pd.DataFrame) -> dict[str, Any]:
    """Aggregate shares the calibration aims at (and the calibration report compares with)."""
    shares = {name: float(frame[name].mean()) for name in COVARIATES}
    state = survey_state(frame, 0.0, 1.0)
    return {
        "means": shares,
        "he": np.bincount(state["he"], minlength=4).tolist(),
        "hi": np.bincount(state["hi"], minlength=4).tolist(),
        "job": np.bincount(state["job"], minlength=7).tolist(),
        "n": len(frame),
    }


def _r2(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> float:
    """R² of OLS with a constant (minimum-norm solution: synthetic designs can be rank-deficient)."""
    design = np.column_stack([np.ones(len(x)), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(1 - (y - design @ coef).var() / y.var())


def survey_r2(frame: pd.DataFrame) -> float:
    return _r2(frame[list(COVARIATES)].astype(float).to_numpy(), np.log(frame["consumption"].to_numpy()))


# --- calibration by simulation -----------------------------------------------------------------------------


def simulate(params: dict[str, Any], n_families: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate `n_families` in one made-up village; return (covariates, ground truth)."""
    villages = pd.DataFrame(
        {
            "code": ["34.01.01.2001"],
            "name": ["Kalibrasi"],
            "tipe": ["desa"],
            "kec": ["34.01.01"],
            "kab": ["34.01"],
            "kab_name": ["Kalibrasi"],
            "weight": [1.0],
            "lat": [-7.8],
            "lon": [110.2],
        }
    )
    region = Region(code="34.01.01.2001", name="Kalibrasi", level=4, villages=villages)
    rng = np.random.default_rng([seed, 0])
    layout = layout_build(region, n_families, rng)
    ctx = pop.Context(params=params, region=region, layout=layout, as_of=dt.date(2025, 6, 30), seed=seed)
    tables: dict[str, list[pa.Table]] = {"families": [], "persons": [], "conditions": [], "ground_truth": []}
    step = 50_000
    for i, start in enumerate(range(0, n_families, step)):
        stop = min(n_families, start + step)
        batch = pop.batch_generate(ctx, start, stop, np.random.default_rng([seed, 1, i]))
        pop.identifiers_issue(ctx, batch)
        for name, table in pop.to_tables(ctx, batch).items():
            tables[name].append(table)
    merged = {name: pa.concat_tables(parts) for name, parts in tables.items()}
    cov = family_covariates(
        families=merged["families"],
        persons=merged["persons"],
        conditions=merged["conditions"],
        as_of=ctx.as_of,
    )
    return cov, merged["ground_truth"].to_pandas()


def _shift_logit(model: dict[str, Any], target: float, current: float) -> None:
    t = np.clip(target, 1e-4, 1 - 1e-4)
    c = np.clip(current, 1e-4, 1 - 1e-4)
    model["intercept"] = float(model["intercept"] + np.log(t / (1 - t)) - np.log(c / (1 - c)))


def _shift_multinomial(
    model: dict[str, Any], target: np.ndarray[Any, Any], current: np.ndarray[Any, Any]
) -> None:
    t = np.maximum(target / target.sum(), 1e-5)
    c = np.maximum(current / max(current.sum(), 1), 1e-5)
    model["intercept"] = (np.asarray(model["intercept"]) + np.log(t) - np.log(c)).tolist()


def calibrate(
    params: dict[str, Any], targets: dict[str, Any], *, n: int, rounds: int, seed: int
) -> dict[str, Any]:
    models = params["models"]
    means = targets["means"]
    report: dict[str, Any] = {}
    for r in range(rounds):
        cov, _ = simulate(params, n, seed + r)
        diffs = {name: float(cov[name].mean() - means[name]) for name in BINARY_COVARIATES}
        report = {"round": r, "max_abs_diff": max(abs(v) for v in diffs.values())}
        _say(f"round {r}: max |share diff| = {report['max_abs_diff']:.4f}")
        _shift_logit(models["male"], means["hhmale"], float(cov["hhmale"].mean()))
        _shift_logit(models["married"], means["hhmarried"], float(cov["hhmarried"].mean()))
        _shift_logit(models["credit"], means["credit"], float(cov["credit"].mean()))
        for name in m.BINARY_CHAIN:
            _shift_logit(models[name], means[name], float(cov[name].mean()))
        he = np.array(
            [1 - cov[["hheduc2", "hheduc3", "hheduc4"]].sum(axis=1).mean()]
            + [cov[f"hheduc{i}"].mean() for i in (2, 3, 4)]
        )
        hi = np.array(
            [1 - cov[["higheduc2", "higheduc3", "higheduc4"]].sum(axis=1).mean()]
            + [cov[f"higheduc{i}"].mean() for i in (2, 3, 4)]
        )
        _shift_multinomial(models["he"], np.array(targets["he"], float), he)
        _shift_multinomial(models["hi"], np.array(targets["hi"], float), hi)
        sector = cov["hhsector1"] + 2 * cov["hhsector2"] + 3 * cov["hhsector3"]
        job = np.where(cov["formal"] == 1, sector, np.where(cov["informal"] == 1, sector + 3, 0))
        _shift_multinomial(
            models["job"], np.array(targets["job"], float), np.bincount(job, minlength=7).astype(float)
        )
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("survey", help="alatas_train.csv")
    parser.add_argument("--out", default=str(Path(__file__).parent / "params" / m.PARAMS_FILE))
    parser.add_argument("--calibration-families", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20120401)
    args = parser.parse_args(argv)

    frame = pd.read_csv(args.survey)
    params = fit_all(frame)
    targets = survey_targets(frame)
    params = {
        "format": 1,
        "source": {
            "survey": "Alatas, Banerjee, Hanna, Olken & Tobias (2012), AER 102(4); "
            "extract of 3,500 households "
            "(LendieFollett/Hybrid-Targeting, alatas.csv, training split)",
            "rows_used": len(frame),
            "fitted_with": "dtsen.synth.fit",
        },
        "size_target": {
            "distribution": list(a.SIZE_TARGET),
            "tail": {str(k): v for k, v in a.SIZE_TAIL.items()},
        },
        "targets": targets,
        "survey_r2": survey_r2(frame),
        **params,
    }
    report = calibrate(params, targets, n=args.calibration_families, rounds=args.rounds, seed=args.seed)
    cov, truth = simulate(params, args.calibration_families, args.seed + 100)
    diffs = {name: float(cov[name].mean() - targets["means"][name]) for name in BINARY_COVARIATES}
    r2 = _r2(cov[list(COVARIATES)].astype(float).to_numpy(), truth["log_consumption_pc"].to_numpy())
    params["calibration"] = {
        "rounds": args.rounds,
        "families": args.calibration_families,
        "max_abs_share_diff": max(abs(v) for v in diffs.values()),
        "synthetic_r2": r2,
        "last_round": report,
    }
    _say(
        f"final: max |share diff| = {params['calibration']['max_abs_share_diff']:.4f}; "
        f"R2 survey {params['survey_r2']:.3f}, synthetic {r2:.3f}"
    )
    Path(args.out).write_text(json.dumps(params, indent=1) + "\n", encoding="utf-8")
    _say(f"wrote {args.out}")


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
