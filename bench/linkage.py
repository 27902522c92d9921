"""Benchmarks of person linkage (issue 9, docs/linkage.md).

    .venv/bin/python bench/linkage.py quality [--families 60000] [--train-region 34.01] [--region 32.73]
    .venv/bin/python bench/linkage.py scale [--persons 1000000]
    .venv/bin/python bench/linkage.py engines [--persons 100000]

quality: a synthetic population with injected faults at typical rates (duplicates 2%, deceased 0.5%, excluded
  1% of persons, stale KK 3% of families), the model trained without labels on one region and applied to
  another (so the figures are not those of the training data); prints pairwise precision and recall against
  the known truth, overall and per fault variant. Targets: precision >= 0.995, recall >= 0.97.
scale: deduplication of about `--persons` persons on DuckDB (prepare + train + predict + cluster); prints wall
  time and peak RSS. Targets: 120 s or less, 4 GB or less.
engines: the same trained parameters applied on DuckDB and on Spark (local mode) to the same input; prints
  the share of persons in the same cluster. Target: 99.9% or more.

Exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dtsen.settings")

import django  # noqa: E402

django.setup()

import duckdb  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from dtsen.linkage import engine, evaluate  # noqa: E402
from dtsen.linkage.prepare import linkage_input  # noqa: E402
from dtsen.synth.faults import FaultRates  # noqa: E402
from dtsen.synth.services import population_generate  # noqa: E402

RATES = FaultRates(duplicates=0.02, deceased=0.005, excluded=0.01, stale_kk=0.03)
PERSONS_PER_FAMILY = 3.85


def _population(region: str, families: int, seed: int, work: Path) -> Path:
    out = work / f"{region}-{families}-{seed}"
    if not (out / "faults.parquet").exists():
        population_generate(out_dir=out, region_code=region, n_families=families, seed=seed, rates=RATES)
    return out


def _raw(directory: Path) -> pa.Table:
    sql = (
        "SELECT p.person_code, p.nik, p.name, p.sex, p.birth_date, p.birth_place, f.village_code "
        f"FROM '{directory}/persons.parquet' p JOIN '{directory}/families.parquet' f USING (family_code)"
    )
    return duckdb.sql(sql).to_arrow_table()


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def quality(args: argparse.Namespace, work: Path) -> bool:
    train_dir = _population(args.train_region, args.families, 1, work)
    test_dir = _population(args.region, args.families, 2, work)
    params = engine.train(linkage_input(_raw(train_dir)))
    table = linkage_input(_raw(test_dir))
    result = engine.predict(table, params)
    scores = evaluate.pairwise_scores(result.clusters, pq.read_table(test_dir / "faults.parquet"))
    print(f"trained on {args.train_region} ({args.families:,} families), applied to {args.region}: "
          f"{table.num_rows:,} persons, {scores.true_pairs:,} true pairs")
    print(f"precision {scores.precision:.4f}  recall {scores.recall:.4f}  "
          f"(predicted {scores.predicted_pairs:,}, correct {scores.correct_pairs:,})")
    print("| variant | found | of | recall |\n|---|---:|---:|---:|")
    for variant, (found, total) in scores.per_variant.items():
        print(f"| {variant} | {found:,} | {total:,} | {found / total:.4f} |")
    return scores.precision >= 0.995 and scores.recall >= 0.97


def scale(args: argparse.Namespace, work: Path) -> bool:
    families = round(args.persons / PERSONS_PER_FAMILY)
    directory = _population("34", families, 3, work)
    started = time.perf_counter()
    table = linkage_input(_raw(directory))
    prepared = time.perf_counter()
    params = engine.train(table)
    trained = time.perf_counter()
    result = engine.predict(table, params)
    done = time.perf_counter()
    clusters = sum(1 for n in _sizes(result.clusters).values() if n > 1)
    seconds, peak = done - started, _peak_gb()
    print(f"{table.num_rows:,} persons: prepare {prepared - started:.1f} s, train {trained - prepared:.1f} s, "
          f"predict+cluster {done - trained:.1f} s, total {seconds:.1f} s, peak RSS {peak:.2f} GB, "
          f"{result.pairs.num_rows:,} pairs >= {engine.REVIEW_BITS} bits, {clusters:,} clusters of 2+; "
          f"candidate pairs {sum(result.pair_counts.values()):,}")
    return seconds <= 120 and peak <= 4


def _sizes(clusters: pa.Table) -> dict[str, int]:
    sizes: dict[str, int] = defaultdict(int)
    for cid in clusters["cluster_id"].to_pylist():
        sizes[str(cid)] += 1
    return sizes


def _groups(clusters: pa.Table) -> dict[str, frozenset[str]]:
    members: dict[str, set[str]] = defaultdict(set)
    for cid, uid in zip(clusters["cluster_id"].to_pylist(), clusters["unique_id"].to_pylist(), strict=True):
        members[str(cid)].add(uid)
    return {uid: frozenset(ids) for ids in members.values() for uid in ids}


def engines(args: argparse.Namespace, work: Path) -> bool:
    os.environ.setdefault("DTSEN_SPARK_DRIVER_MEMORY", "6g")  # 100k persons overflow Spark's default 2 GB heap
    families = round(args.persons / PERSONS_PER_FAMILY)
    directory = _population("34.01", families, 4, work)
    table = linkage_input(_raw(directory))
    params = engine.train(table)
    on_duckdb = engine.predict(table, params, engine="duckdb")
    on_spark = engine.predict(table, params, engine="spark")
    a, b = _groups(on_duckdb.clusters), _groups(on_spark.clusters)
    same = sum(a.get(u) == b.get(u) for u in a) / len(a)
    print(f"{table.num_rows:,} persons: DuckDB {on_duckdb.seconds:.1f} s, Spark {on_spark.seconds:.1f} s, "
          f"same cluster {same:.5f}")
    return same >= 0.999


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("quality", "scale", "engines"))
    parser.add_argument("--families", type=int, default=60_000)
    parser.add_argument("--train-region", default="34.01")
    parser.add_argument("--region", default="32.73")
    parser.add_argument("--persons", type=int, default=None)
    parser.add_argument("--work", help="folder for the synthetic populations (kept; default: a temporary one)")
    args = parser.parse_args()
    if args.persons is None:
        args.persons = 1_000_000 if args.mode == "scale" else 100_000
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="linkage-bench-"))
    ok = {"quality": quality, "scale": scale, "engines": engines}[args.mode](args, work)
    print("OK" if ok else "TARGET MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
