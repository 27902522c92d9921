"""Finding the input files and staging them, row-numbered, in a private DuckDB database.

A staged table `src_<table>` has `_row` (the row number as in the file: for CSV the header is row 1 and the
first record row 2; for Parquet the first record is row 1) and every schema column as trimmed text ('' for
a missing value), whatever the file's own types were, so one set of checks serves both formats.

The persons file's NIK is checked, hashed (keyed blind index) and encrypted batch by batch while it is
read; the staging database receives only `nik_hash`, `nik_enc`, the parsed NIK parts and a masked NIK
(`340101******0012`) for error reports. The clear NIK never leaves process memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from tqdm import tqdm

from dtsen.core.errors import ApplicationError
from dtsen.regions.selectors import region_code_is_known
from dtsen.registry.bulk.validate import nik_check
from dtsen.registry.crypto import nik_encrypt, nik_hash, nik_mask
from dtsen.registry.schema import TABLES, Table

FORMATS = ("csv", "parquet")
_SUFFIXES = ((".csv.gz", "csv"), (".csv", "csv"), (".parquet", "parquet"), (".pq", "parquet"))
BATCH_ROWS = 131_072
_CSV_BLOCK = 64 << 20

# Columns the persons table gets in place of the clear NIK (`nik` itself holds the masked NIK).
NIK_COLUMNS = {
    "nik_err": "VARCHAR",
    "nik_sex": "VARCHAR",
    "nik_day": "INTEGER",
    "nik_month": "INTEGER",
    "nik_yy": "INTEGER",
    "nik_hash": "VARCHAR",
    "nik_enc": "VARCHAR",
}


@dataclass(frozen=True)
class Problem:
    """One problem found in the input: a row's (or the whole file's) field and a code of `codes.CODES`."""

    file: str
    row: int | None
    field: str
    code: str
    key: str = ""
    value: str = ""


class UnusableInput(ApplicationError):
    """The input cannot be imported at all (missing or unreadable file, missing columns): exit code 2."""

    code = "unusable_input"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(
            "Berkas masukan tidak dapat dipakai.", "The input files cannot be used.", problems=len(problems)
        )
        self.problems = problems


@dataclass(frozen=True)
class Source:
    table: Table
    path: Path
    format: str

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class Ingested:
    source: Source
    rows: int = 0
    extra_columns: list[str] = field(default_factory=list)
    malformed: list[Problem] = field(default_factory=list)


def _table_and_format(path: Path) -> tuple[str, str] | None:
    name = path.name.lower()
    for suffix, fmt in _SUFFIXES:
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            for table in TABLES:
                if stem == table or stem.startswith((f"{table}_", f"{table}-", f"{table}.")):
                    return table, fmt
    return None


def sources_find(paths: Sequence[str | Path], *, fmt: str = "auto") -> dict[str, Source]:
    """The input files by table. A directory contributes its `families.*`, `persons.*`, `conditions.*` and
    `exclusions.*`; a file is taken by its name. Raises UnusableInput when nothing usable is given."""
    problems: list[Problem] = []
    found: dict[str, Source] = {}
    candidates: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and _table_and_format(p) is not None)
            if not inside:
                problems.append(Problem(str(path), None, "", "file_missing"))
            candidates.extend(inside)
        elif path.is_file():
            candidates.append(path)
        else:
            problems.append(Problem(str(path), None, "", "file_missing"))
    for path in candidates:
        detected = _table_and_format(path)
        if detected is None:
            problems.append(Problem(path.name, None, "", "file_unknown"))
            continue
        table, detected_fmt = detected
        file_fmt = detected_fmt if fmt == "auto" else fmt
        if table in found:
            problems.append(Problem(path.name, None, "", "file_duplicate"))
            continue
        found[table] = Source(TABLES[table], path, file_fmt)
    if not found and not problems:
        problems.append(Problem(", ".join(str(p) for p in paths), None, "", "file_missing"))
    if problems:
        raise UnusableInput(problems)
    return found


class Staging:
    """A private DuckDB database in a temporary directory, removed on close."""

    def __init__(self, *, memory_limit: str = "2GB", threads: int = 2, workdir: Path | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="dtsen-bulk-", dir=workdir))
        self.dir.chmod(0o700)
        self.con = duckdb.connect(":memory:")  # spills to `temp_directory` beyond `memory_limit`
        self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self.con.execute(f"SET threads = {int(threads)}")
        self.con.execute(f"SET temp_directory = '{self.dir / 'spill'}'")
        self.con.execute("SET preserve_insertion_order = true")
        for sql in _MACROS:
            self.con.execute(sql)
        self._known_nik_regions: dict[str, bool] = {}

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def count(self, table: str, where: str = "true") -> int:
        return int(self.scalar(f"SELECT count(*) FROM {table} WHERE {where}"))  # noqa: S608

    def query(self, sql: str, params: list[Any] | None = None, **views: Any) -> duckdb.DuckDBPyConnection:
        """Run `sql` with Arrow tables (or batches) registered under the given names for its duration."""
        for name, obj in views.items():
            self.con.register(name, obj)
        try:
            return self.con.execute(sql, params or [])
        finally:
            for name in views:
                self.con.unregister(name)

    def nik_region_known(self, code6: str) -> bool:
        """Whether a 6-digit NIK prefix is a kecamatan code of any edition (`region_code_is_known`)."""
        known = self._known_nik_regions.get(code6)
        if known is None:
            known = self._known_nik_regions[code6] = region_code_is_known(code6)
        return known


# Parsing rules shared by every check and by the loader (the value is already trimmed; '' = missing).
_MACROS = [
    r"""CREATE MACRO p_int(v) AS CASE WHEN regexp_full_match(v, '[+-]?[0-9]{1,15}(\.0*)?')
        THEN CAST(CAST(v AS DOUBLE) AS BIGINT) END""",
    """CREATE MACRO p_float(v) AS CASE WHEN v <> '' AND isfinite(TRY_CAST(v AS DOUBLE))
        AND NOT regexp_matches(v, '[^0-9eE.+-]') THEN TRY_CAST(v AS DOUBLE) END""",
    """CREATE MACRO p_bool(v) AS CASE lower(v) WHEN 'true' THEN true WHEN '1' THEN true
        WHEN 'false' THEN false WHEN '0' THEN false END""",
    r"""CREATE MACRO p_date(v) AS CASE
        WHEN regexp_full_match(v, '[0-9]{4}-[0-9]{2}-[0-9]{2}([ T]00:00:00(\.0+)?)?')
        THEN TRY_CAST(left(v, 10) AS DATE) END""",
]


def src_table_create(staging: Staging, table: Table) -> list[str]:
    """The empty staging table of `table`; returns its columns in order."""
    types = {"_row": "BIGINT", **dict.fromkeys(table.names, "VARCHAR")}
    if table.name == "persons":
        types.update(NIK_COLUMNS)
    cols = ", ".join(f'"{name}" {typ}' for name, typ in types.items())
    staging.con.execute(f"CREATE OR REPLACE TABLE src_{table.name} ({cols})")
    return list(types)


# --------------------------------------------------------------------------------------------- reading


def _open_binary(path: Path) -> Any:
    compression = "gzip" if path.name.lower().endswith(".gz") else None
    return pa.input_stream(str(path), compression=compression)


def _csv_header(path: Path) -> list[str]:
    with _open_binary(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        return next(csv.reader(text), [])


def _csv_malformed_rows(path: Path, ncols: int) -> list[tuple[int, int]]:
    """(row number, field count) of every record whose field count differs from the header's; a slow pass
    run only when the fast reader met such records, to number them and the rows after them exactly."""
    bad = []
    with _open_binary(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        reader = csv.reader(text)
        next(reader, None)
        for number, record in enumerate(reader, start=2):
            if record and len(record) != ncols:
                bad.append((number, len(record)))
    return bad


def _header_problems(source: Source, header: list[str]) -> list[Problem]:
    row = 1 if source.format == "csv" else 0
    problems = []
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Problem(source.name, row, name, "column_duplicate"))
        seen.add(name)
    for name in source.table.names:
        if name not in seen:
            problems.append(Problem(source.name, row, name, "column_missing"))
    return problems


def _csv_batches(source: Source, header: list[str], malformed: list[str]) -> Iterator[pa.RecordBatch]:
    def on_invalid(row: Any) -> str:
        malformed.append(row.text)
        return "skip"

    reader = pacsv.open_csv(
        _open_binary(source.path),
        read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK, use_threads=True),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=on_invalid
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()),
            include_columns=[n for n in source.table.names if n in header],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    yield from reader


def _parquet_batches(source: Source, present: list[str]) -> Iterator[pa.RecordBatch]:
    yield from pq.ParquetFile(str(source.path)).iter_batches(batch_size=BATCH_ROWS, columns=present)


def _normalised(data: pa.Table, names: list[str]) -> list[pa.ChunkedArray]:
    """Each column as trimmed text, '' for a missing value, whatever the file's own type was."""
    out = []
    for name in names:
        col = data.column(name)
        if not pa.types.is_string(col.type):
            col = pc.cast(col, pa.string())
        out.append(pc.fill_null(pc.utf8_trim_whitespace(col), ""))
    return out


def _persons_columns(staging: Staging, nik: pa.ChunkedArray, today: dt.date) -> dict[str, pa.Array]:
    """NIK checks (vectorised `nik.py` rules), blind index and ciphertext; the clear NIK is replaced by its
    mask. Only well-formed NIKs are indexed and encrypted."""
    niks = nik.combine_chunks()
    checked = nik_check(niks, today=today, region_known=staging.nik_region_known)
    clear = niks.to_pylist()
    good = checked.error.is_null().to_numpy(zero_copy_only=False) & (pc.utf8_length(niks).to_numpy() > 0)
    hashes = [nik_hash(n) if ok else None for n, ok in zip(clear, good, strict=True)]
    encs = [nik_encrypt(n) if ok else None for n, ok in zip(clear, good, strict=True)]
    masked = [nik_mask(n) if n else "" for n in clear]
    del clear
    return {
        "nik": pa.array(masked, pa.string()),
        "nik_err": checked.error,
        "nik_sex": checked.sex,
        "nik_day": checked.day,
        "nik_month": checked.month,
        "nik_yy": checked.yy,
        "nik_hash": pa.array(hashes, pa.string()),
        "nik_enc": pa.array(encs, pa.string()),
    }


def source_ingest(staging: Staging, source: Source, *, today: dt.date, progress: bool = False) -> Ingested:
    """Stage one file into `src_<table>`. Raises UnusableInput for an unreadable file or missing columns."""
    table = source.table
    result = Ingested(source)
    try:
        if source.format == "csv":
            header = _csv_header(source.path)
        else:
            header = list(pq.ParquetFile(str(source.path)).schema_arrow.names)
    except (OSError, UnicodeDecodeError, pa.ArrowException, csv.Error):
        raise UnusableInput([Problem(source.name, None, "", "file_unreadable")]) from None
    problems = _header_problems(source, header)
    if problems:
        raise UnusableInput(problems)
    result.extra_columns = [n for n in header if n not in table.names]
    columns = src_table_create(staging, table)

    malformed_text: list[str] = []
    batches = (
        _csv_batches(source, header, malformed_text)
        if source.format == "csv"
        else _parquet_batches(source, table.names)
    )
    first_row = 2 if source.format == "csv" else 1
    bar = tqdm(desc=f"{source.name}", unit=" baris/rows", disable=not progress, leave=False)
    insert = f"INSERT INTO src_{table.name} SELECT * FROM staged"  # noqa: S608
    try:
        count = 0
        for raw in batches:
            data = pa.Table.from_batches([raw])
            values = dict(zip(table.names, _normalised(data, table.names), strict=True))
            start = first_row + count
            values["_row"] = pa.chunked_array([np.arange(start, start + data.num_rows)])
            if table.name == "persons":
                values.update(_persons_columns(staging, values["nik"], today))
            staged = pa.table({name: values[name] for name in columns})
            del data, values
            staging.query(insert, staged=staged)
            del staged
            count += raw.num_rows
            bar.update(raw.num_rows)
    except (OSError, UnicodeDecodeError, pa.ArrowException, csv.Error, duckdb.Error):
        raise UnusableInput([Problem(source.name, None, "", "file_unreadable")]) from None
    finally:
        bar.close()
    result.rows = count
    if malformed_text:
        result.malformed = _renumber_after_malformed(staging, source, len(header), count)
        result.rows = count + len(result.malformed)
    return result


def _renumber_after_malformed(staging: Staging, source: Source, ncols: int, good: int) -> list[Problem]:
    bad = _csv_malformed_rows(source.path, ncols)
    bad_numbers = np.array([n for n, _ in bad], dtype=np.int64)
    numbers = np.setdiff1d(np.arange(2, 2 + good + len(bad), dtype=np.int64), bad_numbers)[:good]
    renumber = pa.table({"old": np.arange(2, 2 + len(numbers), dtype=np.int64), "new": numbers})
    name = source.table.name
    staging.query(
        f"UPDATE src_{name} SET _row = renumber.new FROM renumber WHERE src_{name}._row = renumber.old",  # noqa: S608
        renumber=renumber,
    )
    return [Problem(source.name, number, "", "row_malformed", value=f"{n}/{ncols}") for number, n in bad]
