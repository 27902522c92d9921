"""The whole ranking run on DuckDB from Parquet, at 1M / 10M / 95M families (docs/ranking-run.md, Benchmarks).

    .venv/bin/python bench/rank_duckdb.py --families 10000000 [--memory 4GB] [--threads 2]
                                          [--method window|two_level] [--data-dir DIR] [--json results.jsonl]

Input: synthetic `raw_families` Parquet (ids, village code, condition flag and the 45 covariates, generated in
DuckDB SQL by `dtsen.ranking.engine.synthetic`, in a separate process) and a synthetic previous run. The
measured run is exactly the service's pipeline after the registry export: features with per-region models
(integer-scaled), the not-rankable list, person-weighted national ranking, cut-points, results with predicted
expenditure, percentile and previous desil written to Parquet, and the diff per kab/kota. Wall time per
step and peak resident memory (VmHWM) of the process are reported.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from dtsen.ranking import pmt
from dtsen.ranking.engine import model_tables
from dtsen.ranking.engine import pipeline as pl
from dtsen.ranking.engine.duck import DuckDBEngine, duckdb_connect, sql_string
from rank_common import DEFAULT_DATA, cpu_seconds, ensure_input, load_average, peak_rss_gb, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory", default="4GB")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--method", choices=pl.METHODS, default="window")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    raw, prev = ensure_input(args.data_dir, args.families, args.seed)
    work = args.data_dir / f"run_duckdb_{args.families}_{args.method}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    steps: dict[str, float] = {}
    cpu_steps: dict[str, float] = {}
    load_before = load_average()
    started = mark = time.monotonic()
    cpu_started = cpu_mark = cpu_seconds()

    def step(name: str) -> None:
        nonlocal mark, cpu_mark
        now, cpu_now = time.monotonic(), cpu_seconds()
        steps[name] = round(now - mark, 2)
        cpu_steps[name] = round(cpu_now - cpu_mark, 2)
        mark, cpu_mark = now, cpu_now

    con = duckdb_connect(memory_limit=args.memory, threads=args.threads, temp_directory=work / "duckdb.tmp")
    con.execute(f"CREATE OR REPLACE TEMPORARY VIEW raw_families AS SELECT * FROM read_parquet({sql_string(raw)})")
    model = pmt.load_default_model()
    tables = model_tables(model)
    pl.features_prepare(con, model)
    chunks = pl.chunks_for(con)
    if args.method == "two_level":  # level 2 one group of buckets at a time
        rank = pl.rank_chunked(DuckDBEngine(con), tables, out_dir=work, chunks=chunks)
    else:  # one global window, streamed into the results
        rank = pl.score_and_rank(DuckDBEngine(con), tables, out_dir=work, method="window", materialise=False)
    con.execute(f"CREATE OR REPLACE TEMPORARY VIEW previous AS SELECT * FROM read_parquet({sql_string(prev)})")
    results = pl.results_write(con, rank, work / "results")
    step("features_score_rank_results")
    rank = pl.results_summary(con, rank, results)
    step("cut_points")
    not_rankable = pl.not_rankable_write(con, work / "not_rankable")
    step("not_rankable")
    diffs = pl.diff_rows(con, results)
    step("diff")
    total = time.monotonic() - started
    shares = [round(cp["persons"] / rank.persons * 100, 4) for cp in rank.cut_points]
    report("rank_duckdb", {
        "families": args.families, "method": args.method, "memory_limit": args.memory, "threads": args.threads,
        "ranked": rank.families, "not_rankable": not_rankable, "persons": rank.persons, "seconds": round(total, 2),
        "cpu_seconds": round(cpu_seconds() - cpu_started, 2),
        "load_average_before_after": [load_before, load_average()], "peak_rss_gb": round(peak_rss_gb(), 2),
        "steps": steps, "cpu_steps": cpu_steps, "desil_person_shares_pct": shares,
        "regions_in_diff": len(diffs), "chunks": chunks, "engine": rank.engine_version,
        "results_gb": round(sum(p.stat().st_size for p in (work / "results").glob("*.parquet")) / 1e9, 2),
    }, args.json)  # fmt: skip
    con.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
