"""The eligibility engine's inputs, from the register as of a date and a ranking run's desil (see engine.py).

As of `frozen_at` (end of the `as_of` day, Asia/Jakarta), from the version tables, so a run can be repeated:
the latest version of each family and person, the exclusion flags then active, and from the ranking run
each family's desil and percentile. Derived here, in DuckDB: ages on the `as_of` day; `dup_family` (the KK
number of another active family), `dup_nik` (the NIK blind index of a living person in another active
family), `nik_ok` (the NIK agrees with the birth date and sex), `matched` (not marked "tidak padan" with
Dukcapil), `is_pengurus`. The files hold ids, codes and flags only: no NIK, name or address.
"""
# ruff: noqa: S608
# (table names come from the models' _meta; values are bound parameters.)

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb

from dtsen.programs.engine import INPUTS
from dtsen.programs.models import Quota
from dtsen.ranking.engine.duck import sql_string
from dtsen.ranking.engine.transfer import Column, fetch_into
from dtsen.ranking.models import RankingResult, RankingRun
from dtsen.registry.models import ExclusionFlag, Family, Person

_H: list[Column] = [("history_id", "BIGINT"), ("history_date", "TIMESTAMPTZ"), ("history_type", "VARCHAR")]
FAMILY_COLUMNS: list[Column] = [("id", "BIGINT"), ("kk_number", "VARCHAR"), ("village_code", "VARCHAR"),
                                ("pengurus_id", "BIGINT"), ("status", "VARCHAR"), *_H]
PERSON_COLUMNS: list[Column] = [
    ("id", "BIGINT"), ("family_id", "BIGINT"), ("nik_hash", "VARCHAR"), ("nik_consistent", "BOOLEAN"),
    ("padan_status", "VARCHAR"), ("sex", "VARCHAR"), ("birth_date", "DATE"), ("school_level", "VARCHAR"),
    ("disability_severity", "VARCHAR"), ("pregnant", "BOOLEAN"), ("life_status", "VARCHAR"),
    ("status", "VARCHAR"), *_H,
]
FLAG_COLUMNS: list[Column] = [("id", "BIGINT"), ("person_id", "BIGINT"), ("category", "VARCHAR"),
                              ("active", "BOOLEAN"), ("observed_on", "DATE"), ("ended_on", "DATE"), *_H]
RESULT_COLUMNS: list[Column] = [("family_id", "BIGINT"), ("desil", "INTEGER"), ("percentile", "DOUBLE")]
QUOTA_COLUMNS: list[Column] = [("program", "VARCHAR"), ("regency_code", "VARCHAR"), ("quota", "BIGINT")]
_LATEST = ("SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY id ORDER BY history_date DESC, "
           "history_id DESC) AS rn FROM {src}) WHERE rn = 1 AND history_type <> '-'")


def _select(table: str, columns: list[Column]) -> str:
    return f"SELECT {', '.join(n for n, _ in columns)} FROM {table}"


def inputs_build(*, con: duckdb.DuckDBPyConnection, out_dir: Path, as_of: dt.date, frozen_at: dt.datetime,
                 ranking_run: RankingRun, period: str) -> tuple[dict[str, Path], str]:
    """Write the four input files; returns their paths and one sha256 over them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    fam_t = Family.history.model._meta.db_table
    per_t = Person.history.model._meta.db_table
    flag_t = ExclusionFlag.history.model._meta.db_table
    res_t = RankingResult._meta.db_table
    fetch_into(con, "h_fam", _select(fam_t, FAMILY_COLUMNS) + " WHERE history_date < %s", [frozen_at],
               FAMILY_COLUMNS, work_dir=out_dir)
    fetch_into(con, "h_per", _select(per_t, PERSON_COLUMNS) + " WHERE history_date < %s", [frozen_at],
               PERSON_COLUMNS, work_dir=out_dir)
    fetch_into(con, "h_flag", _select(flag_t, FLAG_COLUMNS) + " WHERE history_date < %s", [frozen_at],
               FLAG_COLUMNS, work_dir=out_dir)
    fetch_into(con, "rk", f"SELECT family_id, desil, CAST(percentile AS FLOAT) FROM {res_t} WHERE run_id = %s",
               [ranking_run.pk], RESULT_COLUMNS, work_dir=out_dir)
    fetch_into(con, "quota_rows", f"SELECT program, region_code, quota FROM {Quota._meta.db_table} "
               "WHERE period = %s", [period], QUOTA_COLUMNS, work_dir=out_dir)
    for name, src in (("l_fam", "h_fam"), ("l_per", "h_per"), ("l_flag", "h_flag")):
        con.execute(f"CREATE OR REPLACE TEMPORARY TABLE {name} AS {_LATEST.format(src=src)}")
    day = f"DATE {sql_string(as_of.isoformat())}"
    queries = {
        "families": """
            SELECT f.id AS family_id, f.village_code, substr(f.village_code, 1, 5) AS regency_code,
                   r.desil, r.percentile, f.status = 'aktif' AS active,
                   COALESCE(k.n, 1) > 1 AS dup_family
            FROM l_fam f
            LEFT JOIN rk r ON r.family_id = f.id
            LEFT JOIN (SELECT kk_number, count(*) AS n FROM l_fam WHERE status = 'aktif' GROUP BY kk_number) k
                   ON k.kk_number = f.kk_number AND f.status = 'aktif'
            ORDER BY f.id""",
        "persons": f"""
            SELECT p.id AS person_id, p.family_id,
                   CAST(date_diff('year', p.birth_date, {day})
                        - CASE WHEN strftime(p.birth_date, '%m%d') > strftime({day}, '%m%d') THEN 1 ELSE 0 END
                        AS INTEGER) AS age,
                   p.sex, COALESCE(p.pregnant, FALSE) AS pregnant,
                   p.disability_severity = 'berat' AS severe_disability, p.school_level,
                   p.life_status = 'hidup' AND p.status = 'aktif' AS alive,
                   COALESCE(p.nik_consistent, TRUE) AS nik_ok,
                   COALESCE(p.padan_status, '') <> 'tidak_padan' AS matched,
                   COALESCE(d.n, 1) > 1 AS dup_nik,
                   COALESCE(f.pengurus_id = p.id, FALSE) AS is_pengurus
            FROM l_per p
            JOIN l_fam f ON f.id = p.family_id
            LEFT JOIN (SELECT p2.nik_hash, count(DISTINCT p2.family_id) AS n
                       FROM l_per p2 JOIN l_fam f2 ON f2.id = p2.family_id
                       WHERE p2.status = 'aktif' AND p2.life_status = 'hidup' AND f2.status = 'aktif'
                       GROUP BY p2.nik_hash) d ON d.nik_hash = p.nik_hash
            ORDER BY p.id""",
        "exclusions": f"""
            SELECT x.person_id, p.family_id, x.category
            FROM l_flag x JOIN l_per p ON p.id = x.person_id
            WHERE x.active AND x.observed_on <= {day} AND (x.ended_on IS NULL OR x.ended_on > {day})
            ORDER BY x.person_id, x.category""",
        "quotas": "SELECT program, regency_code, quota FROM quota_rows ORDER BY program, regency_code",
    }
    paths: dict[str, Path] = {}
    digest = hashlib.sha256()
    for name in INPUTS:
        path = out_dir / f"{name}.parquet"
        con.execute(f"COPY ({queries[name]}) TO {sql_string(path)} (FORMAT parquet, COMPRESSION zstd)")
        paths[name] = path
        digest.update(name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).hexdigest().encode())
    for name in ("h_fam", "h_per", "h_flag", "l_fam", "l_per", "l_flag", "rk", "quota_rows"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    return paths, digest.hexdigest()
