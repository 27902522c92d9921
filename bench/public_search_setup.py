"""Setup of the Cek Bansos load benchmark: a 1M-family PostgreSQL registry with recipients (idempotent).

    .venv/bin/python bench/public_search_setup.py [--families 1000000] [--db dtsen_bench_public]
        [--data-dir /work/bench-data/public] [--seed 1]

Each step is skipped when its result is already there, so running it again costs seconds:

1. the synthetic population (`dtsen.synth`, province 34, no faults: every row valid), CSV, kept in the data dir;
2. the database (created when missing), `dtsen migrate`, `dtsen load_regions`;
3. `dtsen registry_import` of the population (the real bulk import, about 4 min for 1M families);
4. a ranking run (`dtsen.ranking.services.ranking_run`, the service `dtsen rank` calls; about 40 s);
5. recipients. SHORTCUT (documented in the report): rather than eligibility runs and decrees, active program
   memberships are inserted in bulk with one SQL statement from the ranking results, as a ratified decree
   would create them (dtsen.programs.decrees): every family in desil 1-4 gets SEMBAKO, desil 1-2 also PKH, so
   about 40% of families (and their members) are recipients. The search path itself is untouched: it reads
   memberships exactly as it does in production.

The result line gives the counts and the time of each step that ran.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DTSEN = str(ROOT / ".venv" / "bin" / "dtsen")
PG = "postgres://postgres@127.0.0.1:5432"
DEFAULT_DB = "dtsen_bench_public"
DEFAULT_DATA = Path(os.environ.get("DTSEN_BENCH_DATA_PUBLIC", "/work/bench-data/public"))


def database_url(db: str) -> str:
    return f"{PG}/{db}"


def bench_env(db: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url(db)
    env["DTSEN_DATA_DIR"] = str(data_dir / "dtsen-data")  # the secret key of the bench server lives here
    env.setdefault("DJANGO_SETTINGS_MODULE", "dtsen.settings")
    return env


def _pg(sql: str, db: str = "postgres") -> list[tuple[object, ...]]:
    import psycopg

    with psycopg.connect(database_url(db), autocommit=True) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else []


def _scalar(db: str, sql: str) -> int:
    try:
        return int(_pg(sql, db)[0][0] or 0)
    except Exception:  # table not there yet
        return 0


def _generate(source: Path, families: int, seed: int, env: dict[str, str]) -> None:
    code = ("import sys, django; django.setup(); from dtsen.synth.services import population_generate; "
            "population_generate(out_dir=sys.argv[1], n_families=int(sys.argv[2]), seed=int(sys.argv[3]), "
            "fmt='csv', region_code='34')")
    subprocess.run([sys.executable, "-c", code, str(source), str(families), str(seed)], check=True, env=env)


def _dtsen(*args: str) -> None:
    subprocess.run([DTSEN, *args], check=True)  # the environment of main(): the bench database


def _rank(env: dict[str, str], work: Path) -> None:
    code = ("import sys, django; django.setup(); from django.utils import timezone; "
            "from dtsen.accounts.services import system_actor; from dtsen.ranking.services import ranking_run; "
            "run = ranking_run(actor=system_actor(), period='2026-Q1', cutoff=timezone.localdate(), "
            "work_dir=sys.argv[1]); print(run.pk, run.counts)")
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", code, str(work)], check=True, env=env)


MEMBERSHIPS = """
INSERT INTO programs_membership (family_id, program, status, reason, since, decree_id, version, updated_at)
SELECT r.family_id, p.program, 'aktif', '', DATE '2026-01-01', NULL, 1, now()
FROM ranking_rankingresult r
JOIN (VALUES ('sembako', 4), ('pkh', 2)) AS p(program, max_desil) ON r.desil <= p.max_desil
WHERE r.run_id = (SELECT max(id) FROM ranking_rankingrun WHERE status = 'finished')
ON CONFLICT DO NOTHING
"""


def setup(families: int, db: str, data_dir: Path, seed: int) -> dict[str, object]:
    env = bench_env(db, data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "dtsen-data").mkdir(exist_ok=True)
    steps: dict[str, float] = {}

    def timed(name: str, fn: object, *args: object) -> None:
        started = time.monotonic()
        print(f"setup: {name} ...", flush=True)
        fn(*args)  # type: ignore[operator]
        steps[name] = round(time.monotonic() - started, 1)

    source = data_dir / f"input-{families}-csv" if seed == 1 else f"input-{families}-s{seed}-csv"
    if not (source / "manifest.json").exists():
        timed("synth", _generate, source, families, seed, env)
    if not _pg(f"SELECT 1 FROM pg_database WHERE datname = '{db}'"):
        _pg(f"CREATE DATABASE {db}")
    timed("migrate", _dtsen, "migrate", "-v0")
    if _scalar(db, "SELECT count(*) FROM regions_region") == 0:
        timed("load_regions", _dtsen, "load_regions", "--no-progress")
    if _scalar(db, "SELECT count(*) FROM registry_family") == 0:
        timed("import", _dtsen, "registry_import", str(source), "--report-dir", str(data_dir / "import-report"),
              "--no-progress")
    if _scalar(db, "SELECT count(*) FROM ranking_rankingrun WHERE status = 'finished'") == 0:
        timed("rank", _rank, env, data_dir / "rank-work")
    if _scalar(db, "SELECT count(*) FROM programs_membership") == 0:
        timed("memberships", _pg, MEMBERSHIPS, db)
        _pg("ANALYZE", db)
    counts = {
        "families": _scalar(db, "SELECT count(*) FROM registry_family"),
        "persons": _scalar(db, "SELECT count(*) FROM registry_person"),
        "memberships": _scalar(db, "SELECT count(*) FROM programs_membership WHERE status = 'aktif'"),
        "recipient_families": _scalar(db, "SELECT count(DISTINCT family_id) FROM programs_membership"),
        "villages": _scalar(db, "SELECT count(DISTINCT village_code) FROM registry_family"),
    }
    return {"db": db, "counts": counts, "steps_s": steps}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", type=int, default=1_000_000)
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ.update(bench_env(args.db, args.data_dir))
    result = setup(args.families, args.db, args.data_dir, args.seed)
    print("public_search_setup " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
