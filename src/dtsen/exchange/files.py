"""Writing export files (Parquet with zstd and row groups, CSV in UTF-8) batch by batch, and the manifest.

`TableWriter` receives Arrow batches and writes every requested format as they come: Parquet row groups of
`ROW_GROUP_ROWS` rows (batches are buffered up to that size, so memory stays bounded), CSV with one header line.
`manifest_verify` re-reads a folder and checks every file against manifest.json: size, sha256, row count and
(Parquet) the schema.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from dtsen.exchange.datasets import Table, type_name

FORMATS = ("parquet", "csv")
ROW_GROUP_ROWS = 1 << 20
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class TableWriter:
    table: Table
    schema: pa.Schema
    directory: Path
    stem: str
    formats: tuple[str, ...]
    descriptions: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    _pending: list[pa.RecordBatch] = field(default_factory=list)
    _pending_rows: int = 0
    _parquet: pq.ParquetWriter | None = None
    _csv: pacsv.CSVWriter | None = None

    def __post_init__(self) -> None:
        if "parquet" in self.formats:
            self._parquet = pq.ParquetWriter(
                self.path("parquet"), self.schema, compression="zstd", compression_level=1,
                write_statistics=True, use_dictionary=True,
            )  # fmt: skip
        if "csv" in self.formats:
            self._csv = pacsv.CSVWriter(str(self.path("csv")), self.schema)

    def path(self, fmt: str) -> Path:
        return self.directory / f"{self.stem}.{fmt}"

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self.rows += batch.num_rows
        if self._csv is not None:
            self._csv.write_batch(batch)
        if self._parquet is not None:
            self._pending.append(batch)
            self._pending_rows += batch.num_rows
            if self._pending_rows >= ROW_GROUP_ROWS:
                self._flush()

    def _flush(self, *, final: bool = False) -> None:
        """Write full row groups of ROW_GROUP_ROWS rows; the remainder waits for more rows (or the end)."""
        if self._parquet is None or not self._pending:
            return
        table = pa.Table.from_batches(self._pending, self.schema)
        full = table.num_rows if final else table.num_rows - table.num_rows % ROW_GROUP_ROWS
        if full:
            self._parquet.write_table(table.slice(0, full), row_group_size=ROW_GROUP_ROWS)
        rest = table.slice(full)
        self._pending = rest.combine_chunks().to_batches() if rest.num_rows else []
        self._pending_rows = rest.num_rows

    def close(self) -> list[dict[str, Any]]:
        self._flush(final=True)
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None:
            self._csv.close()
        out = []
        for fmt in self.formats:
            path = self.path(fmt)
            out.append({"name": path.name, "table": self.table.name, "format": fmt, "rows": self.rows,
                        "bytes": path.stat().st_size, "sha256": file_sha256(path)})  # fmt: skip
        return out

    def abort(self) -> None:
        for closer in (self._parquet, self._csv):
            try:
                if closer is not None:
                    closer.close()
            except Exception:  # noqa: S110 - the files are removed anyway
                pass


def table_schema_doc(table: Table, schema: pa.Schema, descriptions: dict[str, str]) -> dict[str, Any]:
    by_name = {c.name: c for c in table.columns}
    columns = []
    for f in schema:
        col = by_name.get(f.name)
        columns.append({"name": f.name, "type": type_name(f.type),
                        "description": descriptions.get(f.name) or (col.description if col else ""),
                        "nullable": f.nullable})  # fmt: skip
    return {"description": table.description, "columns": columns}


def manifest_write(directory: Path, manifest: dict[str, Any]) -> str:
    text = json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    path = directory / MANIFEST
    path.write_text(text, encoding="utf-8")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Problem:
    file: str
    code: str
    detail: str


def _csv_rows(path: Path) -> int:
    reader = pacsv.open_csv(str(path), parse_options=pacsv.ParseOptions(newlines_in_values=True),
                            convert_options=pacsv.ConvertOptions(column_types={}, include_columns=[]))  # fmt: skip
    return sum(b.num_rows for b in reader)


def manifest_verify(directory: str | Path) -> list[Problem]:
    """Check every file named in the manifest: present, same size, same sha256, same row count and (Parquet)
    the declared schema. An empty list means the folder is intact."""
    root = Path(directory)
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [Problem(MANIFEST, "manifest_unreadable", str(exc))]
    problems: list[Problem] = []
    tables = manifest.get("tables", {})
    for entry in manifest.get("files", []):
        name = str(entry.get("name", ""))
        path = root / name
        if not name or "/" in name or name.startswith(".") or not path.is_file():
            problems.append(Problem(name, "missing", "file not found"))
            continue
        if path.stat().st_size != entry.get("bytes"):
            problems.append(Problem(name, "size", f"{path.stat().st_size} bytes, manifest says {entry.get('bytes')}"))
        if file_sha256(path) != entry.get("sha256"):
            problems.append(Problem(name, "sha256", "checksum differs from the manifest"))
            continue
        try:
            if entry.get("format") == "parquet":
                meta = pq.read_metadata(path)
                rows = meta.num_rows
                declared = [(c["name"], c["type"]) for c in tables.get(entry.get("table"), {}).get("columns", [])]
                actual = [(f.name, type_name(f.type)) for f in meta.schema.to_arrow_schema()]
                if declared and declared != actual:
                    problems.append(Problem(name, "schema", f"schema {actual} differs from the manifest"))
            else:
                rows = _csv_rows(path)
        except (OSError, pa.ArrowException) as exc:
            problems.append(Problem(name, "unreadable", str(exc)))
            continue
        if rows != entry.get("rows"):
            problems.append(Problem(name, "rows", f"{rows} rows, manifest says {entry.get('rows')}"))
    return problems
