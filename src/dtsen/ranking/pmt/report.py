"""Evaluation report: Markdown with our figures beside the published ones, and PNG plots (Agg)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from dtsen.ranking.pmt.artefact import PmtModel
from dtsen.ranking.pmt.evaluate import Evaluation, coverage_errors
from dtsen.ranking.pmt.published import BROWN, KIDD, published

REPORT_FILE = "pmt_evaluation.md"
SCATTER_FILE = "pmt_predicted_vs_actual.png"
ERRORS_FILE = "pmt_errors_by_coverage.png"
_MEASURES = (
    ("error_rate", "Error rate / tingkat kesalahan (Alatas)"),
    ("inclusion_error", "Inclusion error / kesalahan inklusi (Alatas)"),
    ("exclusion_error", "Exclusion error / kesalahan eksklusi (Alatas)"),
    ("ier", "IER (Brown)"),
    ("eer", "EER (Brown)"),
)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _published_cell(measure: str, coverage: float | None) -> str:
    figures = published(measure, coverage)
    return "; ".join(f"{f.value:.2f} ({f.source})" for f in figures) or "–"


def render_markdown(
    evaluation: Evaluation, model: PmtModel, *, survey_name: str, survey_sha256: str, images: bool = True
) -> str:
    train_sha = str(model.training.get("sha256"))[:16]
    lines = [
        "# Evaluasi model PMT / PMT model evaluation",
        "",
        f"- Model: `{model.model_id}` ({model.kind}), dibuat / created {model.created_at:%Y-%m-%d %H:%M} UTC",
        f"- Data latih / training data: `{model.training.get('file')}` sha256 `{train_sha}…`",
        f"- Survei evaluasi / evaluation survey: `{survey_name}` sha256 `{survey_sha256[:16]}…`, "
        f"n = {evaluation.n}",
        "- Miskin = di bawah kuantil konsumsi per kapita sebesar cakupan di berkas ini; sasaran = "
        "skor prediksi terendah sebanyak cakupan. / Poor = below the coverage's per-capita consumption "
        "quantile in this file; targeted = that many lowest predicted scores.",
        *(
            [
                "",
                "> **Peringatan: survei ini adalah data latih model; angka di bawah dalam-sampel "
                "(optimistis).** / **Warning: this survey is the model's training data; the figures "
                "below are in-sample (optimistic).** The out-of-sample figures are those of the "
                "grouped cross-validation below.",
            ]
            if model.training.get("sha256") == survey_sha256
            else []
        ),
        "",
        "## Ringkasan / Summary",
        "",
        "| Measure | Ours | Published |",
        "|---|---|---|",
        f"| R² (log per-capita consumption) | {evaluation.r2:.3f} | {_published_cell('r2', None)} |",
        f"| Spearman | {evaluation.spearman:.3f} | {_published_cell('spearman', None)} |",
        "",
        "## Kesalahan penargetan / Targeting errors",
        "",
        "| Coverage | " + " | ".join(label for _, label in _MEASURES) + " |",
        "|---|" + "---|" * len(_MEASURES),
    ]
    for coverage, errors in evaluation.coverage.items():
        values = errors.to_dict()
        lines.append(f"| {coverage:.0%} | " + " | ".join(_fmt(values[m]) for m, _ in _MEASURES) + " |")
    lines += ["", "### Angka publikasi / Published figures at the same coverage", ""]
    lines += ["| Coverage | Measure | Value | Source | What it is |", "|---|---|---|---|---|"]
    for coverage in evaluation.coverage:
        for measure, label in _MEASURES:
            for f in published(measure, coverage):
                lines.append(f"| {coverage:.0%} | {label} | {f.value:.3f} | {f.source} | {f.note} |")
    lines += [
        "",
        "Catatan / Notes: Alatas et al. (2012) call poor those below a regional poverty line (about a "
        "third of households) and give ~30 % of each village the transfer, so their exclusion error is "
        "higher and their inclusion error lower than at equal poverty rate and coverage; Brown et al. "
        "(2018) TER is for nine African countries; Kidd & Wylde (2011) give in-built exclusion errors. "
        "See docs/ranking.md.",
    ]
    cv = model.metrics.get("cv")
    if isinstance(cv, Mapping):
        lines += ["", "## Validasi silang model / The model's own grouped cross-validation", ""]
        lines += _cv_lines(cv)
    if images:
        lines += [
            "",
            "## Grafik / Plots",
            "",
            f"![predicted vs actual]({SCATTER_FILE})",
            "",
            f"![errors]({ERRORS_FILE})",
        ]
    return "\n".join(lines) + "\n"


def _cv_lines(cv: Mapping[str, Any]) -> list[str]:
    scheme = cv.get("scheme", {})
    out = [
        f"{scheme.get('method', '?')} ({scheme.get('folds', '?')} folds "
        f"by `{scheme.get('group_column', '?')}`, "
        f"seed {scheme.get('seed', '?')}): R² {_fmt(cv.get('r2'))}, Spearman {_fmt(cv.get('spearman'))}",
        "",
        "| Coverage | Error rate | Inclusion | Exclusion | IER | EER |",
        "|---|---|---|---|---|---|",
    ]
    for entry in cv.get("coverage", {}).values():
        out.append(
            f"| {entry['coverage']:.0%} | {_fmt(entry['error_rate'])} | {_fmt(entry['inclusion_error'])} | "
            f"{_fmt(entry['exclusion_error'])} | {_fmt(entry['ier'])} | {_fmt(entry['eer'])} |"
        )
    return out


def plot_predicted_vs_actual(actual_log: np.ndarray, predicted_log: np.ndarray, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.scatter(actual_log, predicted_log, s=6, alpha=0.35, color="#1f77b4")
    lo = float(min(actual_log.min(), predicted_log.min()))
    hi = float(max(actual_log.max(), predicted_log.max()))
    ax.plot([lo, hi], [lo, hi], color="black", lw=1)
    ax.set_xlabel("log konsumsi per kapita aktual / actual log per-capita consumption")
    ax.set_ylabel("prediksi / predicted")
    ax.set_title("Prediksi vs aktual / Predicted vs actual")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_errors_by_coverage(actual_log: np.ndarray, predicted_log: np.ndarray, path: Path) -> None:
    grid = np.round(np.arange(0.05, 0.61, 0.05), 2)
    errs = [coverage_errors(actual_log, predicted_log, float(c)) for c in grid]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.plot(grid, [e.eer for e in errs], marker="o", label="ours: EER = IER = exclusion error")
    ax.plot(grid, [e.error_rate for e in errs], marker="s", label="ours: error rate (Alatas)")
    ax.plot(grid, [e.inclusion_error for e in errs], marker="^", label="ours: inclusion error (Alatas)")
    for f in published("eer"):
        if f.source == BROWN and f.coverage is not None:
            ax.scatter([f.coverage], [f.value], marker="x", s=60, color="red")
    for f in published("exclusion_error"):
        if f.source == KIDD and f.coverage is not None:
            ax.scatter([f.coverage], [f.value], marker="D", s=30, color="purple")
    ax.scatter([], [], marker="x", color="red", label="Brown et al. 2018 TER (Africa)")
    ax.scatter([], [], marker="D", color="purple", label="Kidd & Wylde 2011 exclusion (Indonesia)")
    ax.set_xlabel("cakupan = tingkat kemiskinan / coverage = poverty rate")
    ax.set_ylabel("kesalahan / error")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    ax.set_title("Kesalahan menurut cakupan / Errors by coverage")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(
    out_dir: str | Path,
    *,
    evaluation: Evaluation,
    model: PmtModel,
    actual_log: np.ndarray,
    predicted_log: np.ndarray,
    survey_name: str,
    survey_sha256: str,
) -> Path:
    """Write the Markdown report and its two PNG plots into `out_dir`; return the Markdown path."""
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    plot_predicted_vs_actual(actual_log, predicted_log, target / SCATTER_FILE)
    plot_errors_by_coverage(actual_log, predicted_log, target / ERRORS_FILE)
    path = target / REPORT_FILE
    path.write_text(
        render_markdown(evaluation, model, survey_name=survey_name, survey_sha256=survey_sha256),
        encoding="utf-8",
    )
    return path
