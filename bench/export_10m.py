"""Benchmark: export a 10M-family ranking run from PostgreSQL to Parquet (issue 8: 60 s or less on 2 cores).

    .venv/bin/python bench/export_10m.py [--families 10000000] [--db dtsen_bench_xchg] [--rebuild]
                                         [--format parquet] [--limit 60] [--keep DIR]

Setup (not timed, reused when present): a bench-only database, migrated, holding one finished ranking run with
`--families` result rows generated in SQL (`generate_series`): real village codes of the 2025 edition (all
83,762 villages, uniformly), 1-8 persons per family, a normal log per-capita expenditure score (integer x 10^12),
the desil and percentile computed by the run's own rule (person-weighted midpoint over `(score, family_code)`),
predicted expenditure exp(score), a previous desil within one of the current for 95 % of the families.
The results' foreign key to registry_family is not checked while generating (session_replication_role =
replica: the bench has no 10M families in the register; the export never reads that table).

Timed: `dtsen.exchange.services.export_ranking` (what `dtsen exchange export ranking` calls) as a national
user: two parallel PostgreSQL COPY streams (family-id ranges) read through psql when installed (else psycopg),
Parquet (zstd, 1M-row groups) in a temporary folder, manifest with
sha256, record and audit. Prints seconds, rows, bytes, peak RSS of this process (PostgreSQL's own processes
excluded) and the load average, then checks the files against the manifest (not timed); exits 1 if slower than
--limit seconds or the check fails. The output is removed unless --keep.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432"
MODEL_ID = "bench-export-10m"


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def _db_exists(db: str) -> bool:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db]).fetchone() is not None


def _villages() -> list[str]:
    path = ROOT / "src" / "dtsen" / "regions" / "data" / "wilayah_2025.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [line.split(",", 1)[0] for line in fh if len(line.split(",", 1)[0]) == 13]


def _peak_rss_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


def build(families: int) -> int:
    """One finished ranking run with `families` results, in SQL. Returns the run id."""
    from django.db import connection, transaction
    from django.utils import timezone

    from dtsen.ranking.models import RankingRun, RunStatus

    started = time.monotonic()
    villages = _villages()
    now = timezone.now()
    with transaction.atomic():
        run = RankingRun.objects.create(
            period="2026-Q4", cutoff=timezone.localdate(), frozen_at=now, engine="duckdb", engine_version="bench",
            model_id=MODEL_ID, model_sha256="0" * 64, model_artefact={}, status=RunStatus.RUNNING,
        )  # fmt: skip
        with connection.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")
            cur.execute("SET LOCAL work_mem = '512MB'")
            cur.execute("CREATE TEMP TABLE bench_village (idx int PRIMARY KEY, code varchar(13)) ON COMMIT DROP")
            with cur.cursor.copy("COPY bench_village (idx, code) FROM STDIN") as copy:
                for i, code in enumerate(villages):
                    copy.write_row((i, code))
            cur.execute("SELECT setseed(0.42)")
            cur.execute(
                """CREATE TEMP TABLE bench_gen ON COMMIT DROP AS
                   SELECT g AS family_id, v.code AS village_code,
                          'S' || (CAST(replace(v.code, '.', '') AS bigint) * 10000000 + g) AS family_code,
                          1 + floor(random() * 8)::int AS persons,
                          round((6.9 + 0.6 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) * 1e12)::bigint
                            AS score
                   FROM generate_series(1, %s) AS g
                   JOIN bench_village v ON v.idx = (g::bigint * 7919) %% %s""",
                [families, len(villages)],
            )
            cur.execute(
                """INSERT INTO ranking_rankingresult (run_id, family_id, family_code, village_code, region_group,
                          persons, score, predicted_pce, percentile, desil, previous_desil)
                   SELECT %s, family_id, family_code, village_code, 'prov_' || substr(village_code, 1, 2), persons,
                          score, round(exp(score / 1e12)::numeric, 2),
                          floor(1e6 * (2 * before + persons) / (2.0 * total)) / 1e4,
                          d,
                          CASE WHEN family_id %% 20 = 0 THEN NULL
                               ELSE greatest(1, least(10, d + (family_id %% 3) - 1)) END
                   FROM (SELECT *, 1 + floor(10 * (2 * before + persons) / (2.0 * total))::int
                                     - CASE WHEN 10 * (2 * before + persons) >= 20 * total THEN 1 ELSE 0 END AS d
                         FROM (SELECT *, sum(persons) OVER (ORDER BY score, family_code) - persons AS before,
                                      sum(persons) OVER () AS total
                               FROM bench_gen) w) x""",
                [run.pk],
            )
        run.status = RunStatus.FINISHED
        run.finished_at = timezone.now()
        run.counts = {"families_ranked": families}
        run.save(update_fields=["status", "finished_at", "counts"])
    with connection.cursor() as cur:
        cur.execute("VACUUM (ANALYZE) ranking_rankingresult")
    print(f"built run #{run.pk}: {families:,} results in {time.monotonic() - started:.0f} s")
    return run.pk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", type=int, default=10_000_000)
    parser.add_argument("--db", default="dtsen_bench_xchg")
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the bench database")
    parser.add_argument("--format", default="parquet", help="parquet, csv or parquet,csv")
    parser.add_argument("--limit", type=float, default=60.0, help="target seconds (exit 1 when slower)")
    parser.add_argument("--keep", help="write the export here and keep it (default: a temporary folder, removed)")
    args = parser.parse_args()

    if args.rebuild and _db_exists(args.db):
        _admin(f'DROP DATABASE "{args.db}"')
    os.environ["DATABASE_URL"] = f"{PG}/{args.db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dtsen.settings")
    if not _db_exists(args.db):
        _admin(f'CREATE DATABASE "{args.db}"')
        subprocess.run([sys.executable, "-m", "dtsen", "migrate", "-v0"], check=True, cwd=ROOT)
    import django

    django.setup()
    from dtsen.accounts.services import system_actor
    from dtsen.exchange.services import export_ranking
    from dtsen.ranking.models import RankingResult, RankingRun, RunStatus

    run = (RankingRun.objects.filter(model_id=MODEL_ID, status=RunStatus.FINISHED,
                                     counts__families_ranked=args.families).order_by("-pk").first())  # fmt: skip
    if run is None or not RankingResult.objects.filter(run=run).exists():
        run_id = build(args.families)
    else:
        run_id = run.pk
        print(f"reusing run #{run_id} ({args.families:,} results)")
    actor = system_actor()

    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="export-bench-"))
    out = base / f"ranking-{run_id}"
    shutil.rmtree(out, ignore_errors=True)
    load_before = os.getloadavg()
    started = time.perf_counter()
    record = export_ranking(actor=actor, run_id=run_id, out_dir=out, formats=args.format.split(","))
    seconds = time.perf_counter() - started
    load_after = os.getloadavg()
    size = sum(f["bytes"] for f in record.files)
    row_groups = ""
    try:
        import pyarrow.parquet as pq

        first = next(f for f in record.files if f["format"] == "parquet" and f["table"] == "results")
        row_groups = f" row_groups={pq.read_metadata(out / first['name']).num_row_groups}"
    except StopIteration:
        pass
    from dtsen.exchange.files import manifest_verify
    from dtsen.exchange.stream import PSQL

    verified = "ok" if not manifest_verify(out) else "FAILED"
    print(
        f"export_10m families={args.families} rows={record.rows} seconds={seconds:.1f} "
        f"bytes={size} ({size / 1e6:.0f} MB) format={args.format}{row_groups} "
        f"peak_rss_gb={_peak_rss_gb():.2f} load_before={load_before[0]:.2f} load_after={load_after[0]:.2f} "
        f"reader={'psql' if PSQL else 'psycopg'} verify={verified} "
        f"limit={args.limit:.0f}s {'OK' if seconds <= args.limit else 'TOO SLOW'}"
    )
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    sys.exit(0 if seconds <= args.limit and verified == "ok" else 1)


if __name__ == "__main__":
    main()
