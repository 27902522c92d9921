"""Errors of the batch engines: a stable code and an Indonesian and English message each."""

from __future__ import annotations

from dtsen.core.errors import ValidationFailed


class EngineError(ValidationFailed):
    code = "ranking_engine_error"


class ModelUnsupported(EngineError):
    """The model cannot be scored exactly in SQL (not linear, too many decimals, or could overflow)."""

    code = "ranking_model_unsupported"


class EngineUnavailable(EngineError):
    """The engine asked for is not installed here (pyspark or Java missing)."""

    code = "ranking_engine_unavailable"
