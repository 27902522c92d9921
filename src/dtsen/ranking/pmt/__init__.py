"""Proxy-means-test (PMT) modelling core: feature specs, fitting with grouped cross-validation,
evaluation against published targeting figures, versioned JSON artefacts and per-family explanations.

Plain Python (no Django models). The API the ranking run uses::

    from dtsen.ranking import pmt

    model = pmt.load_default_model()                 # or pmt.load_model(path)
    coefs = model.decimal_coefficients(region="33")  # LinearCoefficients: Decimal intercept + coefficients
    model.coefficient_rows()                         # long table (region_group, term, coefficient) for SQL
    model.group_for("91")                            # 'pooled': a region without its own model
    explanation = pmt.explain_features(model, feature_values, region="33")
    explanation.lines("id")                          # ['lantai tanah: −0.11', ...]
"""

from dtsen.ranking.pmt.artefact import (
    KIND_BOOSTING,
    KIND_LINEAR,
    PmtModel,
    default_spec_path,
    load_default_model,
    load_model,
)
from dtsen.ranking.pmt.errors import (
    ArtefactInvalid,
    ColumnMissing,
    PmtError,
    SpecInvalid,
    SurveyUnreadable,
    ValueInvalid,
)
from dtsen.ranking.pmt.evaluate import (
    Evaluation,
    TargetingErrors,
    coverage_errors,
    evaluate_predictions,
    model_evaluate,
    quota_errors,
    targeting_errors,
)
from dtsen.ranking.pmt.explain import Contribution, Explanation, explain_family, explain_features
from dtsen.ranking.pmt.fit import FitConfig, cross_validate, grouped_folds, pmt_fit, training_data
from dtsen.ranking.pmt.linear import POOLED, LinearCoefficients, LinearModel
from dtsen.ranking.pmt.spec import FeatureDef, FeatureSpec, load_spec
from dtsen.ranking.pmt.survey import Survey, survey_read

__all__ = [
    "KIND_BOOSTING",
    "KIND_LINEAR",
    "POOLED",
    "ArtefactInvalid",
    "ColumnMissing",
    "Contribution",
    "Evaluation",
    "Explanation",
    "FeatureDef",
    "FeatureSpec",
    "FitConfig",
    "LinearCoefficients",
    "LinearModel",
    "PmtError",
    "PmtModel",
    "SpecInvalid",
    "Survey",
    "SurveyUnreadable",
    "TargetingErrors",
    "ValueInvalid",
    "coverage_errors",
    "cross_validate",
    "default_spec_path",
    "evaluate_predictions",
    "explain_family",
    "explain_features",
    "grouped_folds",
    "load_default_model",
    "load_model",
    "load_spec",
    "model_evaluate",
    "pmt_fit",
    "quota_errors",
    "survey_read",
    "targeting_errors",
    "training_data",
]
