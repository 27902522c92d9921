"""A full ranking run from a PostgreSQL register of 1M synthetic families: export (COPY), covariates, score,
rank, results written back (COPY), diff.

    .venv/bin/python bench/rank_postgres.py --families 1000000 [--db dtsen_rank_bench] [--runs 2]
                                            [--reload] [--engine duckdb|spark] [--json results.jsonl]

Setup (not timed): a synthetic register of the Daerah Istimewa Yogyakarta villages (`dtsen.synth`, province
34, Parquet under the data dir) loaded into a bench-only database with COPY, one version row per family and
person dated yesterday (NIKs are not encrypted here: placeholders, the ranking never reads them). Then
`ranking_run` (the service the `dtsen rank` command calls) runs `--runs` times: the first without a previous
run, the next ones with the previous desil and the diff. Wall time, CPU time of this process, its peak
resident memory (DuckDB and Python; PostgreSQL's own processes excluded) and the service's step timings are
reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

from rank_common import DEFAULT_DATA, cpu_seconds, load_average, peak_rss_gb, report

PG = "postgres://postgres@127.0.0.1:5432"


def _psql(sql: str, db: str = "postgres") -> None:
    import psycopg

    with psycopg.connect(f"{PG}/{db}", autocommit=True) as conn:
        conn.execute(sql)


def _copy_file(conn: object, table: str, path: Path) -> None:
    with path.open("rb") as fh, conn.cursor() as cur:  # type: ignore[attr-defined]
        header = fh.readline().decode().strip()
        with cur.copy(f"COPY {table} ({header}) FROM STDIN WITH (FORMAT csv)") as copy:
            while chunk := fh.read(1 << 20):
                copy.write(chunk)


def load(db: str, synth: Path, work: Path) -> dict[str, float]:
    """COPY the synthetic register into the registry tables of `db` (ids assigned here)."""
    import duckdb
    import psycopg

    timings: dict[str, float] = {}
    started = time.monotonic()
    con = duckdb.connect(config={"memory_limit": "4GB", "threads": "2"})
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S+00")
    fam, per, cond = (f"read_parquet('{synth}/{t}.parquet')" for t in ("families", "persons", "conditions"))
    con.execute(f"CREATE TABLE f AS SELECT row_number() OVER (ORDER BY family_code) AS id, * FROM {fam}")
    con.execute(f"CREATE TABLE p AS SELECT row_number() OVER (ORDER BY person_code) AS id, * FROM {per}")
    queries = {
        "registry_family": f"""SELECT f.id, f.family_code, f.kk_number, f.village_code, coalesce(f.rw, '') AS rw,
              coalesce(f.rt, '') AS rt, coalesce(f.address, '') AS address, f.family_no, 'aktif' AS status,
              '' AS status_reason, '{stamp}' AS created_at, '{stamp}' AS updated_at, h.id AS head_id,
              coalesce(g.id, h.id) AS pengurus_id
            FROM f LEFT JOIN p h ON h.person_code = f.head_person_code
            LEFT JOIN p g ON g.person_code = f.pengurus_person_code""",
        "registry_person": f"""SELECT p.id, p.person_code, md5(p.nik) AS nik_hash, 'bench' AS nik_enc,
              true AS nik_consistent, 'belum_dipadankan' AS padan_status, p.name, p.sex,
              coalesce(p.birth_place, '') AS birth_place, p.birth_date, p.relationship, p.marital_status,
              p.education, p.school_level, p.sector, p.employment_type, coalesce(p.occupation, '') AS occupation,
              p.disability, p.disability_severity, p.pregnant, p.life_status, p.death_date,
              coalesce(p.death_source, '') AS death_source, 'aktif' AS status, '' AS status_reason,
              '{stamp}' AS created_at, '{stamp}' AS updated_at, f.id AS family_id
            FROM p JOIN f USING (family_code)""",
        "registry_condition": f"""SELECT row_number() OVER (ORDER BY c.family_code) AS id, f.id AS family_id,
              c.observed_on, '{stamp}' AS recorded_at, 'synthetic' AS channel, coalesce(c.officer, '') AS officer,
              '[]' AS evidence, coalesce(c.source_ref, '') AS source_ref,
              c.* EXCLUDE (family_code, observed_on, officer, source_ref)
            FROM {cond} c JOIN f USING (family_code)""",
    }
    with psycopg.connect(f"{PG}/{db}") as conn:
        for table in ("registry_historicalperson", "registry_historicalfamily", "registry_condition",
                      "ranking_notrankable", "ranking_rankingresult", "ranking_rankingdiff"):
            conn.execute(f"TRUNCATE {table} CASCADE")
        conn.execute("TRUNCATE registry_family, registry_person CASCADE")
        for table, query in queries.items():
            path = work / f"{table}.csv"
            con.execute(f"COPY ({query}) TO '{path}' (FORMAT csv, HEADER true)")
            _copy_file(conn, table, path)  # families name their head before the persons exist: FKs are deferred
            path.unlink()
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for model in ("family", "person"):
            cols = [r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "AND column_name NOT LIKE 'history_%%' ORDER BY ordinal_position", [f"registry_historical{model}"]
            ).fetchall()]  # fmt: skip
            plain = ", ".join(cols)
            conn.execute(
                f"INSERT INTO registry_historical{model} ({plain}, history_date, history_change_reason, "
                f"history_type, history_user_id, history_channel) "
                f"SELECT {plain}, %s, 'bench', '+', NULL, 'synthetic' FROM registry_{model}",
                [now],
            )
        for table in ("registry_family", "registry_person", "registry_condition"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.execute("ANALYZE")
        conn.commit()
    timings["load_s"] = round(time.monotonic() - started, 1)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", default="dtsen_rank_bench")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--engine", default="duckdb")
    parser.add_argument("--reload", action="store_true", help="drop and reload the bench database")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    synth = args.data_dir / f"synth_34_{args.families}_s{args.seed}"
    if not (synth / "manifest.json").exists():
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", (
            "import django, os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'dtsen.settings'); "
            "django.setup(); from dtsen.synth.services import population_generate; "
            "population_generate(out_dir=sys.argv[1], region_code='34', n_families=int(sys.argv[2]), "
            "seed=int(sys.argv[3]))"), str(synth), str(args.families), str(args.seed)],
            check=True, env={**os.environ, "DATABASE_URL": f"{PG}/{args.db}"})  # fmt: skip
        print(f"synthetic register: {time.monotonic() - started:.0f} s -> {synth}")
    os.environ["DATABASE_URL"] = f"{PG}/{args.db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dtsen.settings")
    setup: dict[str, float] = {}
    if args.reload:
        _psql(f"DROP DATABASE IF EXISTS {args.db}")
    try:
        _psql(f"CREATE DATABASE {args.db}")
        created = True
    except Exception:
        created = False
    if created or args.reload:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "dtsen", "migrate", "-v0"], check=True)
        setup["migrate_s"] = round(time.monotonic() - started, 1)
        work = args.data_dir / "pg_load"
        work.mkdir(parents=True, exist_ok=True)
        setup |= load(args.db, synth, work)

    import django

    django.setup()
    from django.utils import timezone

    from dtsen.accounts.services import system_actor
    from dtsen.ranking.services import ranking_run

    actor = system_actor()
    for i in range(args.runs):
        load_before = load_average()
        started, cpu0 = time.monotonic(), cpu_seconds()
        run = ranking_run(actor=actor, period="2026-Q1", cutoff=timezone.localdate(), engine=args.engine,
                          work_dir=args.data_dir / "pg_work")  # fmt: skip
        report("rank_postgres", {
            "families": args.families, "run": run.pk, "with_previous": run.previous_run_id is not None,
            "engine": run.engine_version, "seconds": round(time.monotonic() - started, 2),
            "cpu_seconds": round(cpu_seconds() - cpu0, 2), "peak_rss_gb": round(peak_rss_gb(), 2),
            "load_average_before_after": [load_before, load_average()], "timings": run.timings,
            "counts": run.counts, "setup": setup if i == 0 else {}, "diff": run.diff_summary,
        }, args.json)  # fmt: skip


if __name__ == "__main__":
    main()
