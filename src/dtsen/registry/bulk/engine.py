"""The small interface the bulk loader and exporter need from the register's database, per vendor.

PostgreSQL: `COPY ... FROM STDIN (FORMAT csv)` fed by Arrow's C++ CSV writer, and `COPY (query) TO STDOUT`
read back by DuckDB. SQLite: `executemany` in large batches on the raw connection (inside the one
transaction Django opened; WAL and synchronous=NORMAL come from settings). Everything else is plain SQL
that both run unchanged, with citizen values always bound as parameters.
"""
# ruff: noqa: S608
# (SQL text is built from table and column names of the models and from constants of this module; citizen
# values are always bound parameters or travel in COPY data.)

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.db import connection as default_connection

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from dtsen.registry.bulk.read import Staging

FETCH_ROWS = 100_000


class Engine:
    vendor = ""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self._temps: list[str] = []
        self._suspended: list[tuple[str, str, str]] = []  # (table, name, DDL to restore)

    @staticmethod
    def current(connection: BaseDatabaseWrapper | None = None) -> Engine:
        conn = connection or default_connection
        if conn.vendor == "postgresql":
            return PostgresEngine(conn)
        if conn.vendor == "sqlite":
            return SqliteEngine(conn)
        raise NotImplementedError(f"bulk import does not support {conn.vendor}")

    # -- plain SQL through Django's cursor (%s placeholders on both vendors)
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self.connection.cursor() as cur:
            cur.execute(sql, list(params))
            return int(cur.rowcount or 0)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self.connection.cursor() as cur:
            cur.execute(sql, list(params))
            row = cur.fetchone()
            return row[0] if row else None

    def when(self, value: dt.datetime) -> Any:
        """A datetime as this database's driver wants it in a bound parameter."""
        return self.connection.ops.adapt_datetimefield_value(value)

    def begin(self, tables: Sequence[str]) -> None:
        """Called first inside the import transaction: keep other writers out of `tables` until commit."""

    def temp_like(self, name: str, table: str, columns: Sequence[str]) -> None:
        """An empty temporary table with `columns` of `table` (same types)."""
        self.temp_drop(name)
        cols = ", ".join(columns)
        self.execute(f"CREATE TEMP TABLE {name} AS SELECT {cols} FROM {table} WHERE 1 = 0")
        self._temps.append(name)

    def temp_codes(self, name: str, codes: pa.Array) -> None:
        """A temporary table `name(code)` holding `codes` (distinct strings of at most 64 characters)."""
        self._temp_values(name, "code", "VARCHAR(64)", codes)

    def temp_ids(self, name: str, ids: pa.Array) -> None:
        """A temporary table `name(id)` holding `ids` (distinct integers)."""
        self._temp_values(name, "id", "BIGINT", ids)

    def _temp_values(self, name: str, column: str, sql_type: str, values: pa.Array) -> None:
        self.temp_drop(name)
        self.execute(f"CREATE TEMP TABLE {name} ({column} {sql_type} PRIMARY KEY)")
        self._temps.append(name)
        self.copy_in(name, [column], pa.table({column: values}).to_batches(max_chunksize=FETCH_ROWS))
        self.analyse(name)

    def analyse(self, name: str) -> None:
        """Refresh the planner's statistics of a table just filled."""

    def temp_ready(self, name: str, key: str = "id") -> None:
        """Index (and analyse) a filled temporary table before it is joined."""
        self.execute(f"CREATE INDEX {name}_{key}_idx ON {name} ({key})")
        self.analyse(name)

    def temp_drop(self, name: str) -> None:
        self.execute(f"DROP TABLE IF EXISTS {name}")
        if name in self._temps:
            self._temps.remove(name)

    def temps_drop(self) -> None:
        for name in list(self._temps):
            self.temp_drop(name)

    def has_rows(self, table: str) -> bool:
        return self.scalar(f"SELECT 1 FROM {table} LIMIT 1") is not None

    # -- initial loads: build indexes once after loading instead of row by row
    def indexes_suspend(self, tables: Sequence[str], *, forward_referencing: Sequence[str] = ()) -> list[str]:
        """Drop the secondary indexes (PostgreSQL: and the foreign keys) of `tables`, remembering their
        definitions; `indexes_restore` recreates them in the same transaction, so a failure undoes both.
        `forward_referencing`: tables whose rows point at rows inserted after them."""
        return []

    def indexes_restore(self) -> None:
        for _table_name, _name, ddl in self._suspended:
            self.execute(ddl)
        self._suspended.clear()

    # -- vendor specific
    def copy_in(self, table: str, columns: Sequence[str], batches: Iterable[pa.RecordBatch],
                constants: Mapping[str, Any] | None = None) -> int:
        """Insert the rows of `batches` (their columns are `columns`), each with the same `constants`
        (column -> value: defaults, the batch time); returns the number of rows."""
        raise NotImplementedError

    def fetch_into(
        self, staging: Staging, target: str, sql: str, params: Sequence[Any], columns: Sequence[str]
    ) -> int:
        """Run `sql` (every column cast to text) and store its rows as VARCHAR columns in DuckDB `target`."""
        raise NotImplementedError

    def ids_reserve(self, table: str, count: int) -> int:
        """The id before the first of `count` consecutive ids this import may give new rows of `table`."""
        raise NotImplementedError

    def ids_commit(self, table: str, last: int) -> None:
        """After explicit ids up to `last` were inserted: the table's own id generator continues after it."""


_PG_FOREIGN_KEYS = """SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
    WHERE c.contype = 'f' AND c.conrelid = %s::regclass ORDER BY c.conname"""
_PG_SECONDARY_INDEXES = """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
    WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
    ORDER BY 1"""


class PostgresEngine(Engine):
    vendor = "postgresql"

    def begin(self, tables: Sequence[str]) -> None:
        self.execute("SET LOCAL datestyle = 'ISO, YMD'")
        self.execute("SET LOCAL work_mem = '256MB'")
        # SHARE ROW EXCLUSIVE: readers go on, other writers wait until this import commits or rolls back.
        self.execute(f"LOCK TABLE {', '.join(tables)} IN SHARE ROW EXCLUSIVE MODE")

    def analyse(self, name: str) -> None:
        self.execute(f"ANALYZE {name}")

    def indexes_suspend(self, tables: Sequence[str], *, forward_referencing: Sequence[str] = ()) -> list[str]:
        dropped: list[str] = []
        with self.connection.cursor() as cur:
            for table in tables:
                cur.execute(_PG_FOREIGN_KEYS, [table])
                fks = cur.fetchall()
                cur.execute(_PG_SECONDARY_INDEXES, [table])
                indexes = cur.fetchall()
                for name, definition in fks:
                    cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                    restore = f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
                    self._suspended.append((table, name, restore))
                for name, definition in indexes:
                    cur.execute(f"DROP INDEX {name}")
                    self._suspended.insert(0, (table, name, definition))  # indexes before foreign keys
                dropped.append(table)
        return dropped

    def indexes_restore(self) -> None:
        tables = sorted({table for table, _, _ in self._suspended})
        self.execute("SET LOCAL maintenance_work_mem = '512MB'")
        super().indexes_restore()
        for table in tables:
            self.analyse(table)

    def copy_in(self, table: str, columns: Sequence[str], batches: Iterable[pa.RecordBatch],
                constants: Mapping[str, Any] | None = None) -> int:
        count = 0
        options = pacsv.WriteOptions(include_header=False)
        fixed = dict(constants or {})
        names = [*columns, *fixed]
        with self.connection.cursor() as cur:
            raw = cur.cursor
            with raw.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN WITH (FORMAT csv)") as copy:
                for batch in batches:
                    if batch.num_rows == 0:
                        continue
                    rows = batch.num_rows
                    arrays = [*batch.columns, *(pa.repeat(v, rows) for v in fixed.values())]
                    buf = io.BytesIO()
                    pacsv.write_csv(pa.RecordBatch.from_arrays(arrays, names=names), buf, options)
                    copy.write(buf.getbuffer())
                    count += rows
        return count

    def fetch_into(
        self, staging: Staging, target: str, sql: str, params: Sequence[Any], columns: Sequence[str]
    ) -> int:
        path = staging.dir / f"{target}.csv"
        copy_sql = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)"
        with (
            self.connection.cursor() as cur,
            path.open("wb") as out,
            cur.cursor.copy(copy_sql, list(params)) as copy,
        ):
            for block in copy:
                out.write(block)
        # PostgreSQL's CSV: NULL is an empty field, an empty string is "" (allow_quoted_nulls = false)
        types = ", ".join(f"'{c}': 'VARCHAR'" for c in columns)
        staging.con.execute(
            f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM read_csv(?, header = true, "
            f"columns = {{{types}}}, nullstr = '', allow_quoted_nulls = false, quote = '\"', escape = '\"', "
            "delim = ',', strict_mode = true, parallel = false)",
            [str(path)],
        )
        path.unlink()
        return staging.count(target)

    def _sequence(self, table: str) -> str:
        return str(self.scalar("SELECT pg_get_serial_sequence(%s, 'id')", [table]))

    def ids_reserve(self, table: str, count: int) -> int:
        seq = self._sequence(table)
        with self.connection.cursor() as cur:
            cur.execute(f"SELECT last_value, is_called FROM {seq}")
            last, called = cur.fetchone()
        top = int(self.scalar(f"SELECT COALESCE(MAX(id), 0) FROM {table}"))
        return max(top, int(last) if called else int(last) - 1)

    def ids_commit(self, table: str, last: int) -> None:
        if last > 0:
            self.execute("SELECT setval(%s, %s, true)", [self._sequence(table), last])


def _sqlite_literal(value: Any) -> str:
    """A constant of our own (a default, the batch time, the channel) as an SQLite literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _sqlite_value_columns(batch: pa.RecordBatch) -> list[list[Any]]:
    """Python values the sqlite3 module binds as Django stores them: dates as ISO text, decimals as REAL."""
    out = []
    for column in batch.columns:
        if pa.types.is_date(column.type):
            out.append(pc.cast(column, pa.string()).to_pylist())
        elif pa.types.is_decimal(column.type):
            out.append(pc.cast(column, pa.float64()).to_pylist())
        else:
            out.append(column.to_pylist())
    return out


class SqliteEngine(Engine):
    vendor = "sqlite"

    def indexes_suspend(self, tables: Sequence[str], *, forward_referencing: Sequence[str] = ()) -> list[str]:
        # SQLite checks a deferred foreign key again when the missing parent row arrives, by looking the
        # child rows up through their index: a table pointing forward keeps its indexes.
        dropped: list[str] = []
        with self.connection.cursor() as cur:
            for table in tables:
                if table in forward_referencing:
                    continue
                cur.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                    "AND sql IS NOT NULL ORDER BY name", [table])
                for name, definition in cur.fetchall():
                    cur.execute(f'DROP INDEX "{name}"')
                    self._suspended.append((table, name, definition))
                dropped.append(table)
        return dropped

    def copy_in(self, table: str, columns: Sequence[str], batches: Iterable[pa.RecordBatch],
                constants: Mapping[str, Any] | None = None) -> int:
        self.connection.ensure_connection()
        raw = self.connection.connection
        fixed = dict(constants or {})
        names = ", ".join([*columns, *fixed])
        values = ", ".join(["?"] * len(columns) + [_sqlite_literal(v) for v in fixed.values()])
        sql = f"INSERT INTO {table} ({names}) VALUES ({values})"
        count = 0
        for batch in batches:
            if batch.num_rows == 0:
                continue
            raw.executemany(sql, zip(*_sqlite_value_columns(batch), strict=True))
            count += batch.num_rows
        return count

    def fetch_into(
        self, staging: Staging, target: str, sql: str, params: Sequence[Any], columns: Sequence[str]
    ) -> int:
        self.connection.ensure_connection()
        cur = self.connection.connection.cursor()
        schema = pa.schema([(c, pa.string()) for c in columns])
        cols = ", ".join(f'"{c}" VARCHAR' for c in columns)
        staging.con.execute(f"CREATE OR REPLACE TABLE {target} ({cols})")
        count = 0
        try:
            cur.execute(sql.replace("%s", "?"), list(params))
            while True:
                rows = cur.fetchmany(FETCH_ROWS)
                if not rows:
                    break
                data = pa.Table.from_arrays(
                    [pa.array(list(col), pa.string()) for col in zip(*rows, strict=True)], schema=schema
                )
                staging.query(f"INSERT INTO {target} SELECT * FROM fetched", fetched=data)
                count += len(rows)
        finally:
            cur.close()
        return count

    def ids_reserve(self, table: str, count: int) -> int:
        top = int(self.scalar(f"SELECT COALESCE(MAX(id), 0) FROM {table}"))
        seq = self.scalar("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        return max(top, int(seq or 0))
