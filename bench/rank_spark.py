"""The whole ranking run with the Spark engine (local mode), and the two-level ranking compared with one window.

    .venv/bin/python bench/rank_spark.py --families 1000000 [--methods window,two_level] [--master local[2]]
                                         [--driver-memory 2g] [--data-dir DIR] [--json results.jsonl]

Same input as bench/rank_duckdb.py. Per method: DuckDB writes the integer features as Parquet once, Spark runs
the shared score/rank/cut-points SQL and writes the ranked rows, DuckDB writes the results (previous desil,
predicted expenditure) and the diff. Reported: Spark session start, wall time of the run excluding the
session start, the Spark part alone, the summed RSS of Python + JVM, and the number of families whose score,
persons-before, percentile or desil differ from DuckDB's one-window ranking of the same features (must be 0).
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from dtsen.ranking import pmt
from dtsen.ranking.engine import model_tables
from dtsen.ranking.engine import pipeline as pl
from dtsen.ranking.engine.base import parquet_glob
from dtsen.ranking.engine.duck import DuckDBEngine, duckdb_connect, sql_string
from rank_common import DEFAULT_DATA, TreeRss, ensure_input, load_average, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--methods", default="window,two_level")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--shuffle-partitions", default="4")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ["DTSEN_SPARK_MASTER"] = args.master
    os.environ["DTSEN_SPARK_DRIVER_MEMORY"] = args.driver_memory
    os.environ["DTSEN_SPARK_SHUFFLE"] = args.shuffle_partitions

    raw, prev = ensure_input(args.data_dir, args.families, args.seed)
    work = args.data_dir / f"run_spark_{args.families}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    model = pmt.load_default_model()
    tables = model_tables(model)

    with TreeRss() as rss:
        started = time.monotonic()
        from dtsen.ranking.engine.spark import SparkEngine

        spark = SparkEngine()
        session_start = time.monotonic() - started
        # reference: DuckDB, one window, same features
        con = duckdb_connect(memory_limit="4GB", threads=2, temp_directory=work / "duckdb.tmp")
        con.execute(f"CREATE OR REPLACE TEMPORARY VIEW raw_families AS SELECT * FROM read_parquet({sql_string(raw)})")
        pl.features_prepare(con, model)
        reference = pl.score_and_rank(DuckDBEngine(con), tables, out_dir=work / "duckdb")
        for method in args.methods.split(","):
            out = work / method
            mark = time.monotonic()
            features = pl.features_write(con, out / "features")
            features_s = time.monotonic() - mark
            mark = time.monotonic()
            rank = pl.score_and_rank(spark, tables, out_dir=out, method=method, features_path=features)
            spark_s = time.monotonic() - mark
            mark = time.monotonic()
            con.execute(f"CREATE OR REPLACE TEMPORARY VIEW previous AS SELECT * FROM read_parquet({sql_string(prev)})")
            results = pl.results_write(con, rank, out / "results")
            rank = pl.results_summary(con, rank, results)
            not_rankable = pl.not_rankable_write(con, out / "not_rankable")
            pl.diff_rows(con, results)
            after_s = time.monotonic() - mark
            differ = con.sql(
                "SELECT count(*) FROM read_parquet(?) a FULL OUTER JOIN read_parquet(?) b USING (family_id) "
                "WHERE a.score IS DISTINCT FROM b.score OR a.persons_before IS DISTINCT FROM b.persons_before "
                "OR a.percentile_e4 IS DISTINCT FROM b.percentile_e4 OR a.desil IS DISTINCT FROM b.desil",
                params=[parquet_glob(reference.ranked_dir), parquet_glob(rank.ranked_dir)],
            ).fetchall()[0][0]
            report("rank_spark", {
                "families": args.families, "method": method, "master": args.master, "engine": rank.engine_version,
                "session_start_s": round(session_start, 2), "features_parquet_s": round(features_s, 2),
                "spark_score_rank_cutpoints_s": round(spark_s, 2), "results_diff_not_rankable_s": round(after_s, 2),
                "run_s_excluding_session": round(features_s + spark_s + after_s, 2),
                "ranked": rank.families, "not_rankable": not_rankable["families"],
                "differences_vs_duckdb_window": int(differ),
                "cut_points_equal": rank.cut_points == reference.cut_points,
                "load_average": load_average(),
            }, args.json)  # fmt: skip
        con.close()
    print(f"peak RSS Python + JVM: {rss.peak_gb:.2f} GB")
    if args.json:
        report("rank_spark_memory", {"families": args.families, "peak_tree_rss_gb": round(rss.peak_gb, 2)}, args.json)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
