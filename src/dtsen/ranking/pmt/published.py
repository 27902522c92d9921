"""Published targeting-accuracy figures our PMT is compared with (from docs/ranking.md's sources).

Each paper defines its errors and its design differently; the notes say what a figure is, so a
report never puts a number beside ours without its caveat.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublishedFigure:
    source: str
    measure: str
    coverage: float | None
    value: float
    note: str


ALATAS = "Alatas et al. (2012)"
BROWN = "Brown et al. (2018)"
KIDD = "Kidd & Wylde (2011)"
BAH = "Bah et al. (2019)"

ALATAS_DESIGN = (
    "PMT arm, Table 3: poor = below a regional line (~Rp 320k, about a third of households), "
    "~30 % quota per village; district PMT formulas fitted on other survey data"
)

FIGURES: tuple[PublishedFigure, ...] = (
    PublishedFigure(ALATAS, "error_rate", 0.3, 0.30, ALATAS_DESIGN),
    PublishedFigure(ALATAS, "inclusion_error", 0.3, 0.18, ALATAS_DESIGN),
    PublishedFigure(ALATAS, "exclusion_error", 0.3, 0.52, ALATAS_DESIGN),
    PublishedFigure(ALATAS, "r2", None, 0.48, "average in-sample R² of the district PMT regressions"),
    PublishedFigure(
        BROWN, "ier", 0.2, 0.495, "basic PMT, mean of 9 countries, TER with poverty rate H = 0.2 (IER = EER)"
    ),
    PublishedFigure(
        BROWN, "eer", 0.2, 0.495, "basic PMT, mean of 9 countries, TER with poverty rate H = 0.2 (IER = EER)"
    ),
    PublishedFigure(
        BROWN, "ier", 0.4, 0.320, "basic PMT, mean of 9 countries, TER with poverty rate H = 0.4 (IER = EER)"
    ),
    PublishedFigure(
        BROWN, "eer", 0.4, 0.320, "basic PMT, mean of 9 countries, TER with poverty rate H = 0.4 (IER = EER)"
    ),
    PublishedFigure(
        KIDD, "exclusion_error", 0.1, 0.71, "Indonesia, in-built exclusion error at fixed coverage"
    ),
    PublishedFigure(
        KIDD, "exclusion_error", 0.2, 0.55, "Indonesia, in-built exclusion error at fixed coverage"
    ),
    PublishedFigure(
        KIDD, "exclusion_error", 0.3, 0.43, "Indonesia, in-built exclusion error at fixed coverage"
    ),
    PublishedFigure(BAH, "r2", None, 0.5, "Indonesia UDB PMT models, average R²"),
    PublishedFigure(
        BAH, "spearman", None, 0.67, "Indonesia UDB PMT, rank correlation of actual and predicted"
    ),
)


def published(measure: str, coverage: float | None = None) -> list[PublishedFigure]:
    """Published figures of one measure (at one coverage, when given)."""
    return [
        f
        for f in FIGURES
        if f.measure == measure
        and (coverage is None or (f.coverage is not None and abs(f.coverage - coverage) < 1e-9))
    ]
