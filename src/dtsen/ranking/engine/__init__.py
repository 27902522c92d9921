"""Batch engines of the ranking run: DuckDB (default, embedded) and Spark, running the same SQL.

    engine = engine_open("duckdb")          # or "spark"
    out = pipeline.score_and_rank(engine, model_tables(model), out_dir=..., method="window")

See `sql.py` for the SQL and why it gives identical integers on both engines, `features.py` for the one
floating-point step, `pipeline.py` for the order of the steps, docs/ranking-run.md for the method.
"""

from __future__ import annotations

from typing import Any

from dtsen.ranking.engine.base import BatchEngine
from dtsen.ranking.engine.duck import DuckDBEngine
from dtsen.ranking.engine.errors import EngineError, EngineUnavailable, ModelUnsupported
from dtsen.ranking.engine.sql import ModelTables, desil_from_cut_points, model_tables

ENGINES = ("duckdb", "spark")


def engine_open(name: str, **options: Any) -> BatchEngine:
    """A new engine by name; DuckDB options: memory_limit, threads, temp_directory, con."""
    if name == "duckdb":
        return DuckDBEngine(**options)
    if name == "spark":
        from dtsen.ranking.engine.spark import SparkEngine

        return SparkEngine(**options)
    raise EngineUnavailable(f"Mesin '{name}' tidak dikenal.", f"Unknown engine '{name}'.")


__all__ = [
    "ENGINES",
    "BatchEngine",
    "EngineError",
    "EngineUnavailable",
    "ModelTables",
    "ModelUnsupported",
    "desil_from_cut_points",
    "engine_open",
    "model_tables",
]
