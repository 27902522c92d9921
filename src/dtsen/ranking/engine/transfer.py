"""Bulk transfer between the register's database and DuckDB, per vendor.

Out of the database: PostgreSQL streams ``COPY (query) TO STDOUT (FORMAT csv)`` into a file DuckDB reads;
SQLite is read with plain cursor batches into Arrow (DuckDB's sqlite scanner is used only when the extension
is already installed: extensions are never downloaded). Every value travels as text and is cast to its
declared DuckDB type in one place, so both vendors give identical typed tables.

Into the database: PostgreSQL ``COPY ... FROM STDIN (FORMAT csv)`` fed by Arrow's CSV writer; SQLite
``executemany`` in large batches. Both run inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
from django.db import connection as default_connection

FETCH_ROWS = 100_000
Column = tuple[str, str]  # (name, DuckDB type)


def _conn(connection: Any) -> Any:
    return connection or default_connection


def params_bind(connection: Any, params: Sequence[Any]) -> list[Any]:
    """Query parameters as the raw driver takes them (dates as ISO text, datetimes adapted by the backend)."""
    out: list[Any] = []
    for value in params:
        if isinstance(value, dt.datetime):
            out.append(connection.ops.adapt_datetimefield_value(value))
        elif isinstance(value, dt.date):
            out.append(value.isoformat())
        else:
            out.append(value)
    return out


def _typed(columns: Sequence[Column], source: str) -> str:
    casts = ", ".join(f'CAST("{name}" AS {typ}) AS "{name}"' for name, typ in columns)
    return f"SELECT {casts} FROM {source}"  # noqa: S608 - column names come from code, not input


def fetch_into(
    con: duckdb.DuckDBPyConnection,
    target: str,
    sql: str,
    params: Sequence[Any],
    columns: Sequence[Column],
    *,
    work_dir: Path,
    connection: Any = None,
) -> int:
    """Run `sql` (Django-style %s placeholders, selecting exactly `columns`) on the register's database and
    store its rows as DuckDB table `target` with the declared types. Returns the row count."""
    conn = _conn(connection)
    conn.ensure_connection()
    if conn.vendor == "postgresql":
        path = work_dir / f"{target}.csv"
        with conn.cursor() as cur, path.open("wb") as out:
            copy_sql = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER false)"
            with cur.cursor.copy(copy_sql, params_bind(conn, params)) as copy:
                for block in copy:
                    out.write(block)
        if path.stat().st_size == 0:
            empty = ", ".join(f'CAST(NULL AS {typ}) AS "{name}"' for name, typ in columns)
            con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT {empty} WHERE false")
            path.unlink()
            return 0
        types = ", ".join(f"'{name}': 'VARCHAR'" for name, _ in columns)
        reader = (
            f"read_csv(?, header = false, columns = {{{types}}}, nullstr = '', allow_quoted_nulls = false, "
            "quote = '\"', escape = '\"', delim = ',', strict_mode = true)"
        )
        con.execute(f"CREATE OR REPLACE TABLE {target} AS {_typed(columns, reader)}", [str(path)])
        path.unlink()
    elif conn.vendor == "sqlite" and _sqlite_file_readable(con, conn):
        name = str(conn.settings_dict["NAME"])
        con.execute(f"ATTACH IF NOT EXISTS {_literal(name)} AS register_db (TYPE sqlite, READ_ONLY)")
        query = "(" + sql.replace("%s", "?") + ") AS q"
        con.execute("USE register_db")
        try:
            con.execute(
                f"CREATE OR REPLACE TABLE memory.main.{target} AS {_typed(columns, query)}",
                params_bind(conn, params),
            )
        finally:
            con.execute("USE memory")
    elif conn.vendor == "sqlite":
        names = [name for name, _ in columns]
        schema = pa.schema([(name, pa.string()) for name in names])
        cols = ", ".join(f'"{name}" VARCHAR' for name in names)
        con.execute(f"CREATE OR REPLACE TEMPORARY TABLE {target}__text ({cols})")
        cur = conn.connection.cursor()
        try:
            cur.execute(sql.replace("%s", "?"), params_bind(conn, params))
            while rows := cur.fetchmany(FETCH_ROWS):
                arrays = [
                    pa.array([None if v is None else _text(v) for v in col], pa.string())
                    for col in zip(*rows, strict=True)
                ]
                con.register("_transfer_batch", pa.Table.from_arrays(arrays, schema=schema))
                con.execute(f"INSERT INTO {target}__text SELECT * FROM _transfer_batch")  # noqa: S608
                con.unregister("_transfer_batch")
        finally:
            cur.close()
        con.execute(f"CREATE OR REPLACE TABLE {target} AS {_typed(columns, target + '__text')}")
        con.execute(f"DROP TABLE {target}__text")
    else:
        raise NotImplementedError(f"the ranking run does not support {conn.vendor}")
    rows = con.execute(f"SELECT count(*) FROM {target}").fetchall()  # noqa: S608
    return int(rows[0][0])


def sqlite_scanner_available(con: duckdb.DuckDBPyConnection) -> bool:
    """DuckDB's sqlite extension, if it is already installed (it is never downloaded)."""
    try:
        con.execute("LOAD sqlite_scanner")
    except duckdb.Error:
        return False
    return True


def _sqlite_file_readable(con: duckdb.DuckDBPyConnection, conn: Any) -> bool:
    """Read the SQLite file directly only when it is a file and no transaction of ours holds unseen writes."""
    name = str(conn.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:") or not Path(name).exists():
        return False
    if conn.in_atomic_block:
        return False
    return sqlite_scanner_available(con)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def copy_in(
    table: str, columns: Sequence[str], batches: Iterable[pa.RecordBatch], *, connection: Any = None
) -> int:
    """Append Arrow batches (columns named and ordered as `columns`) to `table`."""
    conn = _conn(connection)
    conn.ensure_connection()
    count = 0
    if conn.vendor == "postgresql":
        options = pacsv.WriteOptions(include_header=False)
        with conn.cursor() as cur:
            statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
            with cur.cursor.copy(statement) as copy:
                for batch in batches:
                    if batch.num_rows == 0:
                        continue
                    buf = io.BytesIO()
                    pacsv.write_csv(batch, buf, options)
                    copy.write(buf.getbuffer())
                    count += batch.num_rows
        return count
    if conn.vendor == "sqlite":
        placeholders = ", ".join("?" * len(columns))
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
        raw = conn.connection
        for batch in batches:
            if batch.num_rows == 0:
                continue
            values = [[_sqlite_value(v) for v in col.to_pylist()] for col in batch.columns]
            raw.executemany(statement, zip(*values, strict=True))
            count += batch.num_rows
        return count
    raise NotImplementedError(f"the ranking run does not support {conn.vendor}")


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
