"""`bulk_export`: the current state of the register in exactly the import format (CSV or Parquet).

An export is a privileged bulk read: the actor needs REGISTRY_BULK, and the rows are limited to the
actor's scope (and to `region`, a region code subtree, when given; a region outside the scope is refused).
Active families and active persons are exported (the format has no status column), all condition
snapshots of those families, and the active exclusion flags of those persons. NIKs are decrypted batch by
batch on the way to the file; the staging database holds only their ciphertext.

Rows are sorted by their key (families by family_code, persons by person_code, conditions by family,
observation date and recording order, exclusions by their four key columns), and every value is written in
one canonical form, so export → import into an empty register → export gives identical files.
"""
# ruff: noqa: S608
# (SQL text is built from the models' table and column names; the region codes are bound parameters.)

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.db import transaction
from tqdm import tqdm

from dtsen.accounts.permissions import REGISTRY_BULK
from dtsen.accounts.selectors import Actor, Scope, require_scope
from dtsen.core.errors import PermissionDenied, ValidationFailed
from dtsen.regions.codes import code_normalise
from dtsen.registry import choices as c
from dtsen.registry.bulk.engine import Engine
from dtsen.registry.bulk.load import PERSON_VALUE_COLUMNS, _decimal, _table
from dtsen.registry.bulk.read import Staging
from dtsen.registry.crypto import nik_decrypt
from dtsen.registry.models import Condition, Dwelling, ExclusionFlag, Family, FamilyKkNumber, Person
from dtsen.registry.schema import CONDITIONS, TABLES, Table

EXPORT_FORMATS = ("csv", "parquet")
_SUFFIX = {"csv": ".csv", "parquet": ".parquet"}


@dataclass
class ExportResult:
    out_dir: Path
    format: str
    files: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def message(self) -> str:
        counts = ", ".join(f"{name} {n}" for name, n in self.rows.items())
        return f"Ekspor selesai / Export done — {counts} → {self.out_dir}"


def _region_filter(scope: Scope, region: str) -> tuple[str, list[Any]]:
    """SQL (on the family alias f) for the actor's scope and the requested region, with its parameters."""
    parts: list[str] = []
    params: list[Any] = []

    def subtree(codes: tuple[str, ...]) -> str:
        terms = []
        for code in codes:
            terms.append("(f.village_code = %s OR f.village_code LIKE %s)")
            params.extend([code, code + ".%"])
        return "(" + " OR ".join(terms) + ")"

    if not scope.national:
        parts.append(subtree(scope.prefixes))
    if region:
        parts.append(subtree((region,)))
    return (" AND ".join(parts) or "1 = 1"), params


def _region_check(scope: Scope, region: str) -> str:
    """The dotted region code; PermissionDenied when it lies wholly outside the actor's scope."""
    if not region:
        return ""
    dotted = code_normalise(region)
    if dotted is None:
        raise ValidationFailed(f"Kode wilayah '{region}' tidak sah.", f"Invalid region code '{region}'.",
                               field="region")
    inside = scope.covers(dotted) or any(p.startswith(dotted + ".") for p in scope.prefixes)
    if not inside:
        raise PermissionDenied("Wilayah ini di luar kewenangan Anda.", "This region is outside your scope.")
    return dotted


def _queries(where: str) -> list[tuple[str, list[str], str]]:
    fam, per, dwe = _table(Family), _table(Person), _table(Dwelling)
    kk, cond, excl = _table(FamilyKkNumber), _table(Condition), _table(ExclusionFlag)
    active = f"'{c.RecordStatus.ACTIVE}'"
    person_cols = PERSON_VALUE_COLUMNS
    cond_cols = [n for n in CONDITIONS.names if n != "family_code"]
    person_text = ", ".join(f"CAST(p.{n} AS TEXT)" for n in person_cols)
    cond_text = ", ".join(f"CAST(k.{n} AS TEXT)" for n in cond_cols)
    scoped = f"f.status = {active} AND {where}"
    return [
        ("e_family", ["id", "family_code", "kk_number", "village_code", "rw", "rt", "address",
                      "dwelling_code", "building_no", "family_no", "latitude", "longitude",
                      "head_person_code", "pengurus_person_code"],
         f"""SELECT CAST(f.id AS TEXT), f.family_code, f.kk_number, f.village_code, f.rw, f.rt, f.address,
                d.dwelling_code, CAST(d.building_no AS TEXT), CAST(f.family_no AS TEXT),
                CAST(d.latitude AS TEXT), CAST(d.longitude AS TEXT), h.person_code, g.person_code
             FROM {fam} f LEFT JOIN {dwe} d ON d.id = f.dwelling_id LEFT JOIN {per} h ON h.id = f.head_id
             LEFT JOIN {per} g ON g.id = f.pengurus_id WHERE {scoped}"""),
        ("e_kk", ["id", "family_id", "kk_number", "valid_from", "valid_to"],
         f"""SELECT CAST(k.id AS TEXT), CAST(k.family_id AS TEXT), k.kk_number, CAST(k.valid_from AS TEXT),
                CAST(k.valid_to AS TEXT) FROM {kk} k JOIN {fam} f ON f.id = k.family_id WHERE {scoped}"""),
        ("e_person", ["person_code", "family_code", "nik", *person_cols],
         f"""SELECT p.person_code, f.family_code, p.nik_enc, {person_text}
             FROM {per} p JOIN {fam} f ON f.id = p.family_id WHERE p.status = {active} AND {scoped}"""),
        ("e_condition", ["id", "family_code", *cond_cols],
         f"""SELECT CAST(k.id AS TEXT), f.family_code, {cond_text}
             FROM {cond} k JOIN {fam} f ON f.id = k.family_id WHERE {scoped}"""),
        ("e_exclusion", ["id", "person_code", "category", "source", "source_ref", "observed_on"],
         f"""SELECT CAST(e.id AS TEXT), p.person_code, e.category, e.source, e.source_ref,
                CAST(e.observed_on AS TEXT)
             FROM {excl} e JOIN {per} p ON p.id = e.person_id JOIN {fam} f ON f.id = p.family_id
             WHERE e.active = %s AND p.status = {active} AND {scoped}"""),
    ]


def _typed(table: Table, column: str, fmt: str) -> str:
    col = next(x for x in table.columns if x.name == column)
    raw = f'"{column}"'
    if col.type == "str":
        return f"coalesce({raw}, '') AS {raw}"
    if col.type == "int":
        return f"p_int({raw}) AS {raw}"
    if col.type == "bool":
        return f"p_bool({raw}) AS {raw}"
    if col.type == "date":
        return f"CAST({raw} AS DATE) AS {raw}"
    model = Condition if table.name == "conditions" else Dwelling
    decimal = _decimal(model, column)
    if fmt == "parquet":
        return f"CAST(CAST({raw} AS {decimal}) AS DOUBLE) AS {raw}"
    return f"CAST({raw} AS {decimal}) AS {raw}"


_ORDER = {
    "families": "family_code",
    "persons": "person_code",
    "conditions": "family_code, observed_on, _id",
    "exclusions": "person_code, category, source, observed_on",
}


def _build(staging: Staging, fmt: str) -> None:
    con = staging.con
    con.execute("""CREATE OR REPLACE TABLE e_families AS SELECT f.*, coalesce(k.prev, '') AS kk_previous
        FROM e_family f LEFT JOIN (
            SELECT family_id,
                   string_agg(kk_number, '|' ORDER BY CAST(valid_from AS DATE), CAST(id AS BIGINT)) AS prev
            FROM e_kk WHERE valid_to IS NOT NULL GROUP BY family_id) k ON k.family_id = f.id""")
    sources = {"families": "e_families", "persons": "e_person", "conditions": "e_condition",
               "exclusions": "e_exclusion"}
    for name, table in TABLES.items():
        typed = ", ".join(_typed(table, n, fmt) for n in table.names)
        names = ", ".join(f'"{n}"' for n in table.names)
        extra = ", CAST(id AS BIGINT) AS _id" if name == "conditions" else ""
        con.execute(f"""CREATE OR REPLACE TABLE x_{name} AS SELECT {names} FROM (
            SELECT {typed}{extra} FROM {sources[name]}) ORDER BY {_ORDER[name]}""")


def _with_clear_nik(batch: pa.RecordBatch, index: int) -> pa.RecordBatch:
    tokens = batch.column(index).to_pylist()
    clear = pa.array([nik_decrypt(t) if t else "" for t in tokens], pa.string())
    columns = [clear if i == index else col for i, col in enumerate(batch.columns)]
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def _write(staging: Staging, table: Table, path: Path, fmt: str, progress: bool) -> int:
    reader = staging.con.sql(f"SELECT * FROM x_{table.name}").to_arrow_reader(65_536)
    schema = reader.schema
    tmp = path.with_name(f".{path.name}.tmp")
    writer: Any = pacsv.CSVWriter(str(tmp), schema) if fmt == "csv" else pq.ParquetWriter(str(tmp), schema)
    count = 0
    nik_index = schema.get_field_index("nik") if table.name == "persons" else -1
    with tqdm(desc=path.name, unit=" baris/rows", disable=not progress, leave=False) as bar:
        try:
            for batch in reader:
                writer.write_batch(_with_clear_nik(batch, nik_index) if nik_index >= 0 else batch)
                count += batch.num_rows
                bar.update(batch.num_rows)
        finally:
            writer.close()
    tmp.replace(path)
    return count


def bulk_export(
    *, actor: Actor, out_dir: str | Path, region: str = "", fmt: str = "csv", progress: bool = False
) -> ExportResult:
    """Write families, persons, conditions and exclusions files of the actor's scope (and `region`)."""
    started = time.monotonic()
    scope = require_scope(actor, REGISTRY_BULK)
    if fmt not in EXPORT_FORMATS:
        raise ValidationFailed(f"Format '{fmt}' tidak dikenal.", f"Unknown format '{fmt}'.", field="format")
    region = _region_check(scope, region)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = ExportResult(out_dir=out, format=fmt)
    where, params = _region_filter(scope, region)
    engine = Engine.current()
    outermost = not engine.connection.in_atomic_block
    # PostgreSQL: one repeatable-read snapshot for every query. SQLite: no transaction, so the export does
    # not take the database's single write lock (Django's SQLite transactions begin IMMEDIATE).
    snapshot = transaction.atomic() if engine.vendor == "postgresql" else contextlib.nullcontext()
    with Staging() as staging:
        with snapshot:
            if engine.vendor == "postgresql":
                if outermost:
                    engine.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                engine.execute("SET LOCAL datestyle = 'ISO, YMD'")
            queries = tqdm(_queries(where), desc="basis data/database", disable=not progress, leave=False)
            for target, columns, sql in queries:
                extra = [True] if target == "e_exclusion" else []
                engine.fetch_into(staging, target, sql, [*extra, *params], columns)
        _build(staging, fmt)
        for name, table in TABLES.items():
            path = out / f"{name}{_SUFFIX[fmt]}"
            result.rows[name] = _write(staging, table, path, fmt, progress)
            result.files[name] = str(path)
    result.seconds = round(time.monotonic() - started, 3)
    return result
