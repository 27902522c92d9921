"""The small interface a batch engine offers the ranking pipeline (after Splink's `DatabaseAPI`).

An engine registers inputs under a name (Parquet files or small Arrow tables), executes SQL statements,
writes the result of a query to Parquet and fetches small results as Arrow. Everything else - the SQL text
itself - is shared (`sql.py`), so DuckDB and Spark run the same statements.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import pyarrow as pa


class BatchEngine(ABC):
    name: str = ""

    @property
    @abstractmethod
    def version(self) -> str:
        """Engine name and version, recorded on the run (e.g. 'duckdb 2.0.1')."""

    @abstractmethod
    def register_parquet(self, name: str, path: str | Path) -> None:
        """Make a Parquet file or directory of Parquet files queryable as `name`."""

    @abstractmethod
    def register_arrow(self, name: str, table: pa.Table) -> None:
        """Make a small Arrow table queryable as `name` (shipped from the driver on Spark)."""

    @abstractmethod
    def execute(self, statement: str) -> None:
        """Run a statement that returns nothing (CREATE OR REPLACE TEMPORARY VIEW ...)."""

    @abstractmethod
    def write_parquet(self, query: str, path: str | Path) -> None:
        """Write the rows of `query` as Parquet under the directory `path` (created, replaced)."""

    @abstractmethod
    def fetch(self, query: str) -> pa.Table:
        """The (small) result of `query` as an Arrow table."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the engine's resources."""

    def __enter__(self) -> BatchEngine:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def parquet_glob(path: str | Path) -> str:
    """All Parquet files under a result directory (both engines write directories of part files)."""
    return f"{str(path).rstrip('/')}/*.parquet"
