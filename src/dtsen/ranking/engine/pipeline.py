"""The ranking pipeline, written once:

1. features (DuckDB, `features.py`): covariates -> integer-scaled features + reasons a family is not rankable;
2. score -> rank -> cut-points (any engine, `sql.py`): the same SQL text on DuckDB and Spark;
3. results (DuckDB): predicted per-capita expenditure, percentile, previous desil, diff per kab/kota.

With the DuckDB engine, step 2 reads the features as a view of the same connection (nothing is written
in between); with Spark they are written once as Parquet (`features_write`) and read by the executors.
"""
# ruff: noqa: S608
# (SQL text built from code constants and the model's feature names, which are identifiers: no citizen
# value ever enters it.)

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from dtsen.ranking.engine import sql as q
from dtsen.ranking.engine.base import BatchEngine, parquet_glob
from dtsen.ranking.engine.duck import DuckDBEngine, sql_string
from dtsen.ranking.engine.features import features_sql, not_rankable_long_sql, not_rankable_wide_sql
from dtsen.ranking.pmt import PmtModel

METHODS = ("window", "two_level")
CHUNK_ROWS = 12_000_000
"""Families per bucket group of the two-level ranking on DuckDB (a sort of ~1 GB)."""


@dataclass(frozen=True)
class RankOutput:
    """Where the ranked rows are (``ranked_dir``, or the DuckDB view ``ranked`` when None) and, once
    counted, the cut-points, families and persons ranked."""

    ranked_dir: Path | None
    cut_points: list[dict[str, Any]]
    families: int
    persons: int
    method: str
    engine_version: str
    score_scale: int
    group_names: str = "'pooled'"
    """SQL turning ``group_key`` back into the region group's name (`ModelTables.group_names_sql`)."""


def raw_families_sql(families: Path, conditions: Path) -> str:
    """The view ``raw_families`` of a registry snapshot: the covariates (registered as ``covariates``) of
    every active family, with its id, village and whether it has a condition snapshot."""
    return f"""CREATE OR REPLACE TEMPORARY VIEW raw_families AS
SELECT f.family_id, f.village_code, c.family_code IS NOT NULL AS has_condition, cov.*
FROM covariates cov JOIN read_parquet({sql_string(families)}) f USING (family_code)
LEFT JOIN (SELECT family_code FROM read_parquet({sql_string(conditions)})) c USING (family_code)"""


def _raw_types(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return {str(row[0]): str(row[1]) for row in con.execute("DESCRIBE raw_families").fetchall()}


def features_prepare(con: duckdb.DuckDBPyConnection, model: PmtModel) -> None:
    """Define the views ``features_all``, ``not_rankable_wide`` (a family per row) and ``not_rankable`` (a
    reason per row) over the relation ``raw_families`` of `con`."""
    types = _raw_types(con)
    con.execute(f"CREATE OR REPLACE TEMPORARY VIEW features_all AS\n{features_sql(model, types)}")
    wide = not_rankable_wide_sql(model, types)
    con.execute(f"CREATE OR REPLACE TEMPORARY VIEW not_rankable_wide AS\n{wide}")
    con.execute(f"CREATE OR REPLACE TEMPORARY VIEW not_rankable AS\n{not_rankable_long_sql('not_rankable_wide')}")


def features_write(con: duckdb.DuckDBPyConnection, path: Path) -> Path:
    """Materialise ``features_all`` as Parquet (the input of an engine other than this connection)."""
    DuckDBEngine(con).write_parquet("SELECT * FROM features_all ORDER BY family_code", path)
    return path


def not_rankable_write(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, int]:
    """Write the families of ``raw_families`` that cannot be ranked, one row per reason, under `path`; return
    the families per reason and in total (``families``). One streaming pass: the reasons' details are only
    built for the (few) families that have one."""
    wide = path.with_name(path.name + "_wide")
    DuckDBEngine(con).write_parquet("SELECT * FROM not_rankable_wide", wide)
    long = not_rankable_long_sql(f"read_parquet({sql_string(parquet_glob(wide))})")
    DuckDBEngine(con).write_parquet(f"{long}\nORDER BY family_code, reason", path)
    shutil.rmtree(wide)
    source = f"read_parquet({sql_string(parquet_glob(path))})"
    rows = con.sql(f"SELECT reason, count(*) FROM {source} GROUP BY reason").fetchall()
    counts = {str(r): int(n) for r, n in rows}
    counts["families"] = int(con.sql(f"SELECT count(DISTINCT family_id) FROM {source}").fetchall()[0][0])
    return counts


def score_and_rank(
    engine: BatchEngine,
    tables: q.ModelTables,
    *,
    out_dir: Path,
    method: str = "window",
    features_path: Path | str | None = None,
    materialise: bool = True,
) -> RankOutput:
    """Score and rank the rankable families of ``features_all`` (registered from `features_path` when given,
    else already defined on the engine), write ``ranked`` under `out_dir` and count the cut-points on the
    engine. With `materialise` False (DuckDB), ``ranked`` is only defined as a view, to be streamed into
    `results_write` without an intermediate file; `results_summary` then counts the cut-points."""
    if method not in METHODS:
        raise ValueError(f"unknown ranking method {method!r}")
    _scored(engine, tables, features_path)
    if not materialise:
        view = q.rank_sql(method, tables.score_scale)
        engine.execute(f"CREATE OR REPLACE TEMPORARY VIEW ranked AS\n{view}")
        return RankOutput(None, [], 0, 0, method, engine.version, tables.score_scale, tables.group_names_sql())
    ranked = Path(out_dir) / "ranked"
    engine.write_parquet(q.rank_sql(method, tables.score_scale), ranked)
    engine.register_parquet("ranked", ranked)
    rows = engine.fetch(q.cut_points_sql()).to_pylist()
    cut_points = [_cut_point(row, tables.score_scale) for row in rows]
    return RankOutput(
        ranked_dir=ranked,
        cut_points=cut_points,
        families=sum(c["families"] for c in cut_points),
        persons=sum(c["persons"] for c in cut_points),
        method=method,
        engine_version=engine.version,
        score_scale=tables.score_scale,
        group_names=tables.group_names_sql(),
    )


def _scored(engine: BatchEngine, tables: q.ModelTables, features_path: Path | str | None = None) -> None:
    if features_path is not None:
        engine.register_parquet("features_all", features_path)
    engine.register_arrow("coefficients", tables.coefficients)
    engine.register_arrow("region_groups", tables.region_groups)
    engine.execute(q.features_view_sql())
    engine.execute(q.scored_view_sql(tables.feature_names))


def chunks_for(con: duckdb.DuckDBPyConnection, rows_per_chunk: int = CHUNK_ROWS) -> int:
    """How many bucket groups the two-level ranking on DuckDB processes one after the other."""
    rows = int(con.sql("SELECT count(*) FROM raw_families").fetchall()[0][0])
    return max(1, -(-rows // rows_per_chunk))


def rank_chunked(engine: DuckDBEngine, tables: q.ModelTables, *, out_dir: Path, chunks: int) -> RankOutput:
    """The two-level ranking on one machine, level 2 one group of buckets at a time, so that no sort holds
    more than about 1/`chunks` of the country (how the national job fits DuckDB's memory limit).

    1. score every family once and write it, with its bucket, partitioned by ``bucket mod chunks`` (whole
       buckets per group; any grouping works, level 2 only needs the rows of one bucket together);
    2. level 1 (`BUCKET_COUNTS`, `BUCKET_OFFSETS`) over the scored files: a small table;
    3. level 2 (`rank_in_buckets_sql`) per group, each written as one part of ``ranked``.
    The SQL fragments are those of `sql.rank_two_level_sql`, which Spark runs in one statement."""
    con = engine.con
    _scored(engine, tables)
    scored = Path(out_dir) / "scored"
    if scored.exists():
        shutil.rmtree(scored)
    scored.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""COPY (SELECT s.family_id, s.family_code, s.village_key, s.group_key, s.persons, s.score,
       {q.bucket_expr(tables.score_scale)} AS bucket,
       (({q.bucket_expr(tables.score_scale)} % {chunks}) + {chunks}) % {chunks} AS chunk
FROM scored s) TO {sql_string(scored)} (FORMAT parquet, PARTITION_BY (chunk), COMPRESSION zstd)"""
    )
    all_rows = f"read_parquet({sql_string(str(scored) + '/*/*.parquet')}, hive_partitioning = false)"
    counts = q.BUCKET_COUNTS.format(source=all_rows)
    con.execute(
        f"CREATE OR REPLACE TEMPORARY TABLE bucket_offsets AS {q.BUCKET_OFFSETS.format(source=f'({counts})')}"
    )
    ranked = Path(out_dir) / "ranked"
    if ranked.exists():
        shutil.rmtree(ranked)
    ranked.mkdir(parents=True)
    for part in sorted(scored.glob("chunk=*")):
        files = sql_string(str(part) + "/*.parquet")
        rows = f"(SELECT * FROM read_parquet({files}, hive_partitioning = false))"
        target = ranked / f"part-{int(part.name.split('=')[1]):05d}.parquet"
        con.execute(
            f"COPY ({q.rank_in_buckets_sql(rows, 'bucket_offsets')}) TO {sql_string(target)} "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
    shutil.rmtree(scored)
    return RankOutput(ranked, [], 0, 0, "two_level", engine.version, tables.score_scale, tables.group_names_sql())


def results_summary(con: duckdb.DuckDBPyConnection, rank: RankOutput, results: Path) -> RankOutput:
    """The cut-points, families and persons of the results under `results` (the same SQL, on DuckDB)."""
    source = f"(SELECT * FROM read_parquet({sql_string(parquet_glob(results))}))"
    rows = con.sql(q.cut_points_sql(source)).to_arrow_table().to_pylist()
    cut_points = [_cut_point(row, rank.score_scale) for row in rows]
    return replace(
        rank, cut_points=cut_points, families=sum(c["families"] for c in cut_points),
        persons=sum(c["persons"] for c in cut_points),
    )  # fmt: skip


def _cut_point(row: dict[str, Any], scale: int) -> dict[str, Any]:
    return {
        "desil": int(row["desil"]),
        "families": int(row["families"]),
        "persons": int(row["persons"]),
        "lower_score": int(row["lower_score"]),
        "upper_score": int(row["upper_score"]),
        "upper_family_code": str(row["upper_family_code"]),
        "lower_log_pce": str(Decimal(int(row["lower_score"])).scaleb(-scale)),
        "upper_log_pce": str(Decimal(int(row["upper_score"])).scaleb(-scale)),
    }


def previous_empty(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE OR REPLACE TABLE previous (family_id BIGINT, desil SMALLINT, village_code VARCHAR)")


def results_write(con: duckdb.DuckDBPyConnection, rank: RankOutput, path: Path) -> Path:
    """Write the results (one row per ranked family, as stored) under `path`, from ``ranked`` and the table
    or view ``previous`` (family_id, desil, village_code of the previous run)."""
    divisor = f"{10**rank.score_scale}.0"
    sources = ["ranked"]
    if rank.ranked_dir is not None:
        sources = [f"read_parquet({sql_string(p)})" for p in sorted(Path(rank.ranked_dir).glob("*.parquet"))]
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    for number, ranked in enumerate(sources):
        query = _results_query(ranked, divisor, rank.group_names)
        con.execute(
            f"COPY ({query}) TO {sql_string(path / f'part-{number:05d}.parquet')} "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
    return path


VILLAGE_CODE = (
    "printf('%02d.%02d.%02d.%04d', {key} // 100000000, {key} // 1000000 % 100, {key} // 10000 % 100, "
    "{key} % 10000)"
)
"""A village key (the 10 digits of pp.kk.cc.vvvv) back to the Kemendagri village code."""


def _results_query(ranked: str, divisor: str, group_names: str) -> str:
    """Each part of the ranking joined with the previous run on its own, so a hash table never holds
    more than one part."""
    return f"""SELECT r.family_id, r.family_code, {VILLAGE_CODE.format(key="r.village_key")} AS village_code,
       {group_names} AS region_group,
       CAST(r.persons AS BIGINT) AS persons, r.score,
       CAST(LEAST(ROUND(EXP(CAST(r.score AS DOUBLE) / {divisor}), 2), 999999999999.99) AS DECIMAL(14, 2))
         AS predicted_pce,
       CAST(r.percentile_e4 / 10000.0 AS DECIMAL(7, 4)) AS percentile,
       CAST(r.desil AS SMALLINT) AS desil, CAST(p.desil AS SMALLINT) AS previous_desil,
       p.village_code AS previous_village_code
FROM {ranked} r
LEFT JOIN previous p ON p.family_id = r.family_id"""


def diff_rows(con: duckdb.DuckDBPyConnection, results: Path, *, level_digits: int = 5) -> list[tuple[Any, ...]]:
    """Per region (kab/kota: the first 5 characters of the village code) the boundary crossings between
    ``previous`` and the results under `results`: (region_code, ranked, same, entered, left, up[9], down[9]).

    Two streaming aggregates, no join: families in the results by their current region (desil and previous
    desil); families that left = those of ``previous`` per previous region minus those of the results that
    were in the previous run (``previous_desil`` set) per previous region."""

    def n(cond: str) -> str:
        return f"CAST(sum(CASE WHEN {cond} THEN 1 ELSE 0 END) AS BIGINT)"

    source = f"read_parquet({sql_string(parquet_glob(results))})"
    up = ", ".join(n(f"previous_desil <= {k} AND desil > {k}") for k in range(1, q.DESILS))
    down = ", ".join(n(f"previous_desil > {k} AND desil <= {k}") for k in range(1, q.DESILS))
    empty = [0] * (q.DESILS - 1)
    rows: dict[str, list[Any]] = {
        str(r[0]): [str(r[0]), int(r[1]), int(r[2]), int(r[3]), 0, list(r[4]), list(r[5])]
        for r in con.sql(
            f"""SELECT substr(village_code, 1, {level_digits}) AS region_code, count(*) AS ranked,
       {n("desil = previous_desil")} AS same, {n("previous_desil IS NULL")} AS entered,
       [{up}] AS up, [{down}] AS down
FROM {source} GROUP BY region_code"""
        ).fetchall()
    }
    stayed = dict(con.sql(
        f"""SELECT substr(previous_village_code, 1, {level_digits}) AS region_code, count(*) AS n
FROM {source} WHERE previous_desil IS NOT NULL GROUP BY region_code"""
    ).fetchall())  # fmt: skip
    for region, total in con.sql(
        f"SELECT substr(village_code, 1, {level_digits}) AS region_code, count(*) FROM previous GROUP BY region_code"
    ).fetchall():
        left = int(total) - int(stayed.get(region, 0))
        if left:
            row = rows.setdefault(str(region), [str(region), 0, 0, 0, 0, list(empty), list(empty)])
            row[4] += left
    return [tuple(rows[key]) for key in sorted(rows)]
