"""Freeze the register as of a ranking run's cut-off into Parquet (the run's input, hashed).

What is frozen, with `frozen_at` = the end of the cut-off day in Asia/Jakarta (or the run's start, if the
cut-off is today):

families    the latest version of each family in `registry_historicalfamily` with history_date < frozen_at
            (a family whose latest such version is a deletion is absent), with its head's person_code;
persons     the latest version of each person in `registry_historicalperson` with history_date < frozen_at,
            in the family that version names;
conditions  per family, the latest condition snapshot with observed_on <= cut-off and recorded_at <
            frozen_at (latest by observed_on, then recorded_at, then id: a correction recorded later for
            the same day wins).

History is append-only, so what was true before `frozen_at` cannot change afterwards: two snapshots of the
same cut-off are identical, and so are their files (rows sorted by code, written by one DuckDB writer) and
their sha256. Reading: PostgreSQL COPY TO STDOUT, SQLite cursor batches (see `engine/transfer.py`). The
files hold no NIK, name or address: only what the covariates need.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
from django.conf import settings

from dtsen.ranking.engine.duck import sql_string
from dtsen.ranking.engine.transfer import Column, fetch_into
from dtsen.registry.models import Condition, Family, Person

SNAPSHOT_TABLES = ("families", "persons", "conditions")

_HISTORY: list[Column] = [
    ("history_id", "BIGINT"),
    ("history_date", "TIMESTAMPTZ"),
    ("history_type", "VARCHAR"),
]
FAMILY_COLUMNS: list[Column] = [
    ("id", "BIGINT"), ("family_code", "VARCHAR"), ("village_code", "VARCHAR"), ("head_id", "BIGINT"),
    ("status", "VARCHAR"), *_HISTORY,
]  # fmt: skip
PERSON_COLUMNS: list[Column] = [
    ("id", "BIGINT"), ("family_id", "BIGINT"), ("person_code", "VARCHAR"), ("sex", "VARCHAR"),
    ("birth_date", "DATE"), ("relationship", "VARCHAR"), ("marital_status", "VARCHAR"),
    ("education", "VARCHAR"), ("school_level", "VARCHAR"), ("sector", "VARCHAR"),
    ("employment_type", "VARCHAR"), ("life_status", "VARCHAR"), ("death_date", "DATE"),
    ("status", "VARCHAR"), *_HISTORY,
]  # fmt: skip
_CONDITION_HOUSING: list[Column] = [
    ("tenure", "VARCHAR"), ("floor_area_m2", "DECIMAL(7,1)"), ("floor_material", "VARCHAR"),
    ("wall_material", "VARCHAR"), ("roof_material", "VARCHAR"), ("toilet", "VARCHAR"),
    ("drinking_water", "VARCHAR"), ("lighting", "VARCHAR"), ("power_va", "BIGINT"),
    ("cooking_fuel", "VARCHAR"), ("received_credit", "BOOLEAN"),
]  # fmt: skip


def condition_columns() -> list[Column]:
    assets = [(f.column, "BOOLEAN") for f in Condition._meta.concrete_fields if f.column.startswith("asset_")]
    return [
        ("id", "BIGINT"), ("family_id", "BIGINT"), ("observed_on", "DATE"), ("recorded_at", "TIMESTAMPTZ"),
        *_CONDITION_HOUSING, *assets,
    ]  # fmt: skip


@dataclass(frozen=True)
class Snapshot:
    directory: Path
    cutoff: dt.date
    frozen_at: dt.datetime
    counts: dict[str, int] = field(default_factory=dict)
    sha256: str = ""

    def path(self, table: str) -> Path:
        return self.directory / f"{table}.parquet"


def freeze_instant(cutoff: dt.date, now: dt.datetime) -> dt.datetime:
    """The first instant after the cut-off day (local time), or `now` if that is still to come."""
    zone = ZoneInfo(settings.TIME_ZONE)
    end = dt.datetime.combine(cutoff + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return min(end, now)


def _in_list(column: str, ids: Sequence[int]) -> tuple[str, list[Any]]:
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", [int(i) for i in ids]


def _select(table: str, columns: Sequence[Column]) -> str:
    return f"SELECT {', '.join(name for name, _ in columns)} FROM {table}"  # noqa: S608


def registry_snapshot(
    *,
    cutoff: dt.date,
    frozen_at: dt.datetime,
    out_dir: str | Path,
    con: duckdb.DuckDBPyConnection,
    family_ids: Sequence[int] | None = None,
    connection: Any = None,
) -> Snapshot:
    """Write families/persons/conditions.parquet of the register as of the cut-off (see module docstring);
    with `family_ids`, only those families (a provisional desil). Returns counts and the sha256."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fam_table = Family.history.model._meta.db_table
    per_table = Person.history.model._meta.db_table
    cond_table = Condition._meta.db_table

    fam_sql, fam_params = _select(fam_table, FAMILY_COLUMNS) + " WHERE history_date < %s", [frozen_at]
    per_sql, per_params = _select(per_table, PERSON_COLUMNS) + " WHERE history_date < %s", [frozen_at]
    cond_cols = condition_columns()
    cond_sql = _select(cond_table, cond_cols) + " WHERE observed_on <= %s AND recorded_at < %s"
    cond_params: list[Any] = [cutoff, frozen_at]
    if family_ids is not None:
        clause, ids = _in_list("id", family_ids)
        fam_sql, fam_params = f"{fam_sql} AND {clause}", [*fam_params, *ids]
        clause, ids = _in_list("family_id", family_ids)
        per_sql = f"{per_sql} AND id IN (SELECT id FROM {per_table} WHERE {clause})"  # noqa: S608
        per_params = [*per_params, *ids]
        cond_sql, cond_params = f"{cond_sql} AND {clause}", [*cond_params, *ids]

    counts: dict[str, int] = {}
    counts["family_versions"] = fetch_into(con, "h_families", fam_sql, fam_params, FAMILY_COLUMNS,
                                           work_dir=out, connection=connection)  # fmt: skip
    counts["person_versions"] = fetch_into(con, "h_persons", per_sql, per_params, PERSON_COLUMNS,
                                           work_dir=out, connection=connection)  # fmt: skip
    counts["condition_rows"] = fetch_into(con, "h_conditions", cond_sql, cond_params, cond_cols,
                                          work_dir=out, connection=connection)  # fmt: skip
    latest = (
        "SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY id "
        "ORDER BY history_date DESC, history_id DESC) AS rn FROM {src}) WHERE rn = 1 AND history_type <> '-'"
    )
    con.execute(f"CREATE OR REPLACE TEMPORARY TABLE l_families AS {latest.format(src='h_families')}")
    con.execute(f"CREATE OR REPLACE TEMPORARY TABLE l_persons AS {latest.format(src='h_persons')}")
    fields = ", ".join(f"c.{name}" for name, _ in cond_cols[4:])
    person_cols = ", ".join(f"p.{name}" for name, _ in PERSON_COLUMNS[3:14])
    queries = {
        "families": """SELECT f.id AS family_id, f.family_code, f.village_code,
                              h.person_code AS head_person_code,
                              f.status
                       FROM l_families f LEFT JOIN l_persons h ON h.id = f.head_id
                       ORDER BY f.family_code""",
        "persons": f"""SELECT p.id AS person_id, p.person_code, f.family_code, {person_cols}
                       FROM l_persons p JOIN l_families f ON f.id = p.family_id
                       ORDER BY p.person_code""",  # noqa: S608
        "conditions": f"""SELECT c.id AS condition_id, f.family_code, c.observed_on, c.recorded_at, {fields}
                          FROM (SELECT * EXCLUDE (rn) FROM (
                                  SELECT *, row_number() OVER (PARTITION BY family_id
                                         ORDER BY observed_on DESC, recorded_at DESC, id DESC) AS rn
                                  FROM h_conditions) WHERE rn = 1) c
                          JOIN l_families f ON f.id = c.family_id
                          ORDER BY f.family_code""",  # noqa: S608
    }
    digest = hashlib.sha256()
    for table in SNAPSHOT_TABLES:
        path = out / f"{table}.parquet"
        con.execute(f"COPY ({queries[table]}) TO {sql_string(path)} (FORMAT parquet, COMPRESSION zstd)")
        counts[table] = int(con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchall()[0][0])
        digest.update(f"{table}\n".encode())
        digest.update(_file_sha256(path).encode())
    for name in ("h_families", "h_persons", "h_conditions", "l_families", "l_persons"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    return Snapshot(
        directory=out, cutoff=cutoff, frozen_at=frozen_at, counts=counts, sha256=digest.hexdigest()
    )


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
