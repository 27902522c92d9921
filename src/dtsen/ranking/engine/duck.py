"""DuckDB: the default, embedded engine (one machine; spills to disk past its memory limit)."""
# ruff: noqa: S608
# (SQL text built from code constants and the model's feature names, which are identifiers: no citizen
# value ever enters it.)

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa

from dtsen.ranking.engine.base import BatchEngine

DEFAULT_MEMORY_LIMIT = "4GB"


def duckdb_connect(
    *, memory_limit: str | None = None, threads: int | None = None, temp_directory: str | Path | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB capped at `memory_limit` (env DTSEN_DUCKDB_MEMORY, default 4GB), never downloading
    extensions, spilling to `temp_directory`."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute(
        f"SET memory_limit = '{memory_limit or os.environ.get('DTSEN_DUCKDB_MEMORY', DEFAULT_MEMORY_LIMIT)}'"
    )
    wanted = threads or int(os.environ.get("DTSEN_DUCKDB_THREADS", "0") or 0)
    if wanted:
        con.execute(f"SET threads = {int(wanted)}")
    if temp_directory is not None:
        con.execute("SET temp_directory = ?", [str(temp_directory)])
    con.execute("SET preserve_insertion_order = false")  # ORDER BY is still honoured where written
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    return con


def sql_string(value: str | Path) -> str:
    """A SQL string literal (for the few statements that take no bound parameters, like COPY ... TO)."""
    return "'" + str(value).replace("'", "''") + "'"


class DuckDBEngine(BatchEngine):
    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None, **connect: object) -> None:
        self._own = con is None
        self.con = con if con is not None else duckdb_connect(**connect)  # type: ignore[arg-type]

    @property
    def version(self) -> str:
        return f"duckdb {duckdb.__version__}"

    def register_parquet(self, name: str, path: str | Path) -> None:
        target = Path(path)
        source = f"{target}/*.parquet" if target.is_dir() else str(target)
        self.con.execute(
            f"CREATE OR REPLACE TEMPORARY VIEW {name} AS SELECT * FROM read_parquet({sql_string(source)})"
        )

    def register_arrow(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def execute(self, statement: str) -> None:
        self.con.execute(statement)

    def write_parquet(self, query: str, path: str | Path) -> None:
        target = Path(path)
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        self.con.execute(
            f"COPY ({query}) TO {sql_string(target / 'part-00000.parquet')} "
            "(FORMAT parquet, COMPRESSION zstd)"
        )

    def fetch(self, query: str) -> pa.Table:
        return self.con.sql(query).to_arrow_table()

    def close(self) -> None:
        if self._own:
            self.con.close()
