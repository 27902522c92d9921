"""Errors of the PMT core: every refusal carries a stable code and an Indonesian and English message."""

from __future__ import annotations

from dtsen.core.errors import ValidationFailed


class PmtError(ValidationFailed):
    """Base of every PMT input or artefact error (bad spec, unreadable survey, missing column...)."""

    code = "pmt_error"


class SpecInvalid(PmtError):
    code = "pmt_spec_invalid"


class SurveyUnreadable(PmtError):
    code = "pmt_survey_unreadable"


class ColumnMissing(PmtError):
    code = "pmt_column_missing"


class ValueInvalid(PmtError):
    code = "pmt_value_invalid"


class ArtefactInvalid(PmtError):
    code = "pmt_artefact_invalid"
