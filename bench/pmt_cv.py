"""Reproduce the PMT cross-validation table of docs/ranking.md.

    .venv/bin/python bench/pmt_cv.py [--survey ../shared/data/alatas-2012-indonesia/alatas_train.csv]
                                     [--seeds 3] [--no-boosting] [--json results.json]

For every candidate model: outer grouped 5-fold CV by enumeration area (= village in this extract),
hyper-parameters tuned inside each outer fold (nested), repeated with seeds 0..seeds-1; the figures
are the mean over seeds (min–max in brackets) of metrics on the pooled out-of-fold predictions.

Two designs are scored:

* **coverage design** (the product's `dtsen pmt evaluate`): poor = the bottom c of per-capita
  consumption in the file, targeted = the bottom c of predictions, c = 10, 20, 30, 40 %.
* **paper design** (Alatas et al. 2012, Table 3): poor = consumption below Rp 320k per capita per
  month; in every village the same number of households receive as actually received in the
  experiment, chosen by lowest prediction. Scored in the PMT-arm villages and in all villages, next to
  the experiment's actual targeting (`treated`) of the same households.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from dtsen.ranking import pmt
from dtsen.ranking.pmt.artefact import KIND_BOOSTING
from dtsen.ranking.pmt.evaluate import bottom_within, evaluate_predictions, quota_errors, targeting_errors
from dtsen.ranking.pmt.fit import FitConfig, cross_validate, training_data

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "src" / "dtsen" / "ranking" / "default_model"
DEFAULT_SURVEY = ROOT.parent / "shared" / "data" / "alatas-2012-indonesia" / "alatas_train.csv"
POVERTY_LINE = 320.0  # thousand Rp per capita per month (Alatas et al. 2012, p. 1212)
COVERAGES = (0.1, 0.2, 0.3, 0.4)


@dataclass(frozen=True)
class Candidate:
    key: str
    label: str
    spec: str
    config: FitConfig
    regional: bool = True


CANDIDATES = (
    Candidate("ols45_national", "OLS, 45 covariates, one national model", "alatas45_raw", FitConfig(), False),
    Candidate("ols45_regional", "45 covariates, regional shrunk (tuned)", "alatas45_raw", FitConfig()),
    Candidate("plus_national", "45 + transforms, one national model", "alatas45", FitConfig(), False),
    Candidate(
        "plus_separate", "45 + transforms, separate OLS per province", "alatas45", FitConfig(shrinkage=0.0)
    ),
    Candidate(
        "plus_pooled_fe",
        "45 + transforms, pooled slopes + province intercepts",
        "alatas45",
        FitConfig(shrinkage=np.inf),
    ),
    Candidate("plus_shrunk", "45 + transforms, regional shrunk (tuned) [DEFAULT]", "alatas45", FitConfig()),
    Candidate(
        "boosting",
        "gradient boosting (tuned), 45 + transforms + province",
        "alatas45",
        FitConfig(kind=KIND_BOOSTING),
    ),
)


def _summary(values: list[float]) -> dict[str, float]:
    return {"mean": float(np.mean(values)), "min": float(np.min(values)), "max": float(np.max(values))}


def run(survey_path: Path, seeds: int, boosting: bool) -> dict[str, Any]:
    survey = pmt.survey_read(survey_path)
    frame = survey.frame
    consumption = frame["consumption"].to_numpy(dtype=float)
    villages = frame["ea"].to_numpy()
    quota = frame.groupby("ea")["treated"].transform("sum").to_numpy(dtype=int)
    arms = {"pmt_arm": frame["pmt"].to_numpy() == 1, "all_arms": np.ones(len(frame), dtype=bool)}
    actual = {
        arm: targeting_errors(consumption[m] < POVERTY_LINE, frame["treated"].to_numpy()[m] == 1).to_dict()
        for arm, m in arms.items()
    }
    results: dict[str, Any] = {
        "survey": {"file": survey.name, "sha256": survey.sha256, "rows": len(frame)},
        "seeds": list(range(seeds)),
        "actual_targeting_paper_design": actual,
        "models": {},
    }
    oofs: dict[str, list[np.ndarray]] = {}
    for cand in CANDIDATES:
        if cand.config.kind == KIND_BOOSTING and not boosting:
            continue
        spec = pmt.load_spec(SPECS / f"{cand.spec}.json")
        if not cand.regional:
            spec = replace(spec, region_column=None)
        data = training_data(frame, spec)
        started = time.perf_counter()
        runs = []
        for seed in range(seeds):
            cv = cross_validate(data, spec, replace(cand.config, seed=seed))
            oofs.setdefault(cand.key, []).append(cv.oof)
            runs.append(_score(cv.oof, data.target, consumption, villages=villages, quota=quota, arms=arms))
            runs[-1]["params"] = [f["params"] for f in cv.folds]
        results["models"][cand.key] = _collect(cand, runs, time.perf_counter() - started)
    if "plus_shrunk" in oofs:
        results["paired_vs_actual"] = _paired_bootstrap(
            oofs["plus_shrunk"][0], frame, consumption, villages=villages, quota=quota, arms=arms
        )
    if "boosting" in oofs and "plus_shrunk" in oofs:
        runs = []
        for lin, gbm in zip(oofs["plus_shrunk"], oofs["boosting"], strict=True):
            target = np.log(consumption)
            runs.append(
                _score((lin + gbm) / 2, target, consumption, villages=villages, quota=quota, arms=arms)
            )
        info = Candidate(
            "average_lin_gbm",
            "average of default linear and boosting (not SQL-scorable)",
            "alatas45",
            FitConfig(),
        )
        results["models"][info.key] = _collect(info, runs, 0.0)
    return results


def _score(
    oof: np.ndarray,
    target: np.ndarray,
    consumption: np.ndarray,
    *,
    villages: np.ndarray,
    quota: np.ndarray,
    arms: dict[str, np.ndarray],
) -> dict[str, Any]:
    ev = evaluate_predictions(target, oof, COVERAGES)
    paper = {
        arm: quota_errors(
            consumption[m], oof[m], poverty_line=POVERTY_LINE, groups=villages[m], quota=quota[m]
        ).to_dict()
        for arm, m in arms.items()
    }
    return {"coverage_design": ev.to_dict(), "paper_design": paper}


def _paired_bootstrap(
    oof: np.ndarray,
    frame: Any,
    consumption: np.ndarray,
    *,
    villages: np.ndarray,
    quota: np.ndarray,
    arms: dict[str, np.ndarray],
    draws: int = 2000,
) -> dict[str, Any]:
    """Paper design, default model (seed 0) minus the experiment's actual targeting, same households:
    difference in error rate with a 95 % interval from resampling villages (clusters) with replacement."""
    rng = np.random.default_rng(12345)
    treated = frame["treated"].to_numpy() == 1
    poor = consumption < POVERTY_LINE
    out: dict[str, Any] = {}
    for arm, m in arms.items():
        targeted = bottom_within(oof[m], villages[m], quota[m])
        wrong_ours = (targeted != poor[m]).astype(float)
        wrong_actual = (treated[m] != poor[m]).astype(float)
        diff = wrong_ours - wrong_actual
        keys, index = np.unique(villages[m], return_inverse=True)
        sums = np.bincount(index, weights=diff)
        counts = np.bincount(index)
        boot = []
        for _ in range(draws):
            pick = rng.integers(0, len(keys), len(keys))
            boot.append(sums[pick].sum() / counts[pick].sum())
        out[arm] = {
            "difference": float(diff.mean()),
            "ci95": [float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))],
            "villages": len(keys),
            "households": int(m.sum()),
        }
    return out


def _collect(cand: Candidate, runs: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "label": cand.label,
        "spec": cand.spec,
        "kind": cand.config.kind,
        "seconds": round(seconds, 1),
    }
    out["r2"] = _summary([r["coverage_design"]["r2"] for r in runs])
    out["spearman"] = _summary([r["coverage_design"]["spearman"] for r in runs])
    out["coverage"] = {
        key: {
            m: _summary([r["coverage_design"]["coverage"][key][m] for r in runs])
            for m in ("error_rate", "inclusion_error", "exclusion_error", "ier", "eer")
        }
        for key in runs[0]["coverage_design"]["coverage"]
    }
    out["paper_design"] = {
        arm: {
            m: _summary([r["paper_design"][arm][m] for r in runs])
            for m in ("error_rate", "inclusion_error", "exclusion_error")
        }
        for arm in runs[0]["paper_design"]
    }
    out["params"] = [r.get("params") for r in runs]
    return out


def _cell(s: dict[str, float]) -> str:
    return f"{s['mean']:.3f}"


def _range(s: dict[str, float]) -> str:
    return f"{s['mean']:.3f} ({s['min']:.3f}–{s['max']:.3f})"


def render(results: dict[str, Any]) -> str:
    models = results["models"]
    seeds = len(results["seeds"])
    lines = [
        f"Survey {results['survey']['file']} (sha256 {results['survey']['sha256'][:16]}…), "
        f"{results['survey']['rows']} households; grouped 5-fold CV by EA, {seeds} seed(s); mean (min–max).",
        "",
        "## Coverage design (poor = bottom c of consumption, targeted = bottom c of prediction)",
        "",
        "| Model | R² | Spearman | error 10% | error 20% | error 30% | error 40% | EER=IER 30% |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in models.values():
        cov = m["coverage"]
        lines.append(
            f"| {m['label']} | {_range(m['r2'])} | {_cell(m['spearman'])} | "
            + " | ".join(_cell(cov[k]["error_rate"]) for k in ("0.1", "0.2", "0.3", "0.4"))
            + f" | {_cell(cov['0.3']['eer'])} |"
        )
    default = models.get("plus_shrunk")
    if default:
        lines += ["", "### Default model, all measures", ""]
        lines += [
            "| Coverage | error rate | inclusion | exclusion | IER | EER |",
            "|---|---|---|---|---|---|",
        ]
        for key, cov in default["coverage"].items():
            lines.append(
                f"| {float(key):.0%} | {_range(cov['error_rate'])} | {_cell(cov['inclusion_error'])} | "
                f"{_cell(cov['exclusion_error'])} | {_cell(cov['ier'])} | {_cell(cov['eer'])} |"
            )
    lines += [
        "",
        "## Paper design (poor = below Rp 320k; per-village quota = households actually treated)",
        "",
        "| Targeting | PMT-arm villages: error / incl. / excl. | all villages: error / incl. / excl. |",
        "|---|---|---|",
    ]
    act = results["actual_targeting_paper_design"]
    lines.append(
        "| experiment's actual targeting (`treated`) | "
        + " | ".join(
            f"{act[arm]['error_rate']:.3f} / {act[arm]['inclusion_error']:.3f} / "
            f"{act[arm]['exclusion_error']:.3f}"
            for arm in ("pmt_arm", "all_arms")
        )
        + " |"
    )
    for m in models.values():
        pd_ = m["paper_design"]
        lines.append(
            f"| {m['label']} | "
            + " | ".join(
                f"{_range(pd_[arm]['error_rate'])} / {_cell(pd_[arm]['inclusion_error'])} / "
                f"{_cell(pd_[arm]['exclusion_error'])}"
                for arm in ("pmt_arm", "all_arms")
            )
            + " |"
        )
    paired = results.get("paired_vs_actual")
    if paired:
        lines += [
            "",
            "Default model minus the experiment's actual targeting (paper design, seed 0, same households):",
        ]
        for arm, p in paired.items():
            lines.append(
                f"- {arm}: error-rate difference {p['difference']:+.3f}, 95 % village-bootstrap interval "
                f"[{p['ci95'][0]:+.3f}, {p['ci95'][1]:+.3f}] "
                f"({p['villages']} villages, {p['households']} households)"
            )
    lines += [
        "",
        "Time per model (all seeds): " + ", ".join(f"{k} {m['seconds']} s" for k, m in models.items()),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--survey", type=Path, default=DEFAULT_SURVEY)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--no-boosting", action="store_true", help="skip gradient boosting (about 1 min per seed)"
    )
    parser.add_argument("--json", type=Path, help="also write every figure as JSON here")
    args = parser.parse_args()
    results = run(args.survey, args.seeds, boosting=not args.no_boosting)
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, allow_nan=False, default=str) + "\n")


if __name__ == "__main__":
    main()
