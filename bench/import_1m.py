"""Benchmark: bulk import of 1M families (about 3.8M persons) into fresh PostgreSQL and SQLite databases.

    .venv/bin/python bench/import_1m.py [--families 1000000] [--format csv|parquet] [--input DIR]
        [--engines postgresql,sqlite] [--work DIR] [--reimport]

Without --input the population is generated once with the synthetic generator (`dtsen.synth`, fault rates
0: every row valid) into WORK/input-N-FORMAT and reused by later runs. For each engine a fresh database is
created and migrated, the regions are loaded (not timed), then `dtsen registry_import` runs in its own
process: the wall time of that process, its phases (read, validate, write from summary.json) and its peak
RSS (getrusage of the child) are reported. --reimport imports the same files a second time (must change
nothing). Targets (issue #8): PostgreSQL <= 5 min, SQLite <= 8 min, peak memory <= 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DTSEN = str(ROOT / ".venv" / "bin" / "dtsen")
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_DB = "dtsen_bench_import"


def generate(out: Path, families: int, fmt: str, seed: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dtsen.settings")
    import django

    django.setup()
    from dtsen.synth.services import population_generate

    started = time.monotonic()
    result = population_generate(out_dir=out, n_families=families, seed=seed, fmt=fmt, region_code="34")
    print(f"generated {result.manifest['counts']} in {time.monotonic() - started:.1f} s -> {out}")


def run(cmd: list[str], env: dict[str, str]) -> None:
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)


def timed_import(source: Path, report: Path, env: dict[str, str]) -> dict[str, object]:
    shutil.rmtree(report, ignore_errors=True)
    cmd = [DTSEN, "registry_import", str(source), "--report-dir", str(report), "--no-progress"]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    output = proc.stdout.read().decode() if proc.stdout else ""
    summary = json.loads((report / "summary.json").read_text())
    return {
        "exit_code": os.waitstatus_to_exitcode(status),
        "wall_s": round(wall, 1),
        "phases_s": {k: round(v, 1) for k, v in summary["timings"].items()},
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),  # the importer only (not the database server)
        "load_average": [round(x, 1) for x in os.getloadavg()],  # other work on the machine, 1/5/15 min
        "changes": {k: v for k, v in summary["changes"].items() if k != "register_rows_read"},
        "versions": summary["versions"],
        "output": output.strip().splitlines()[-1] if output.strip() else "",
    }


def engine_env(engine: str, work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    data = work / f"data-{engine}"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    env["DTSEN_DATA_DIR"] = str(data)
    if engine == "postgresql":
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", PG_DB], check=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", PG_DB], check=True)
        env["DATABASE_URL"] = f"{PG_SERVER}/{PG_DB}"
    run([DTSEN, "migrate", "-v0"], env)
    run([DTSEN, "load_regions", "--no-progress"], env)
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", type=int, default=1_000_000)
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    parser.add_argument("--input", type=Path, help="an existing directory of files to import")
    parser.add_argument("--engines", default="postgresql,sqlite")
    parser.add_argument("--work", type=Path, default=Path("/tmp/dtsen-bench-import"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reimport", action="store_true", help="import the same files a second time")
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    source = args.input or args.work / f"input-{args.families}-{args.format}"
    if args.input is None and not (source / "manifest.json").exists():
        shutil.rmtree(source, ignore_errors=True)
        generate(source, args.families, args.format, args.seed)
    results: dict[str, object] = {"input": str(source), "cpus": os.cpu_count()}
    for engine in args.engines.split(","):
        env = engine_env(engine, args.work)
        got = timed_import(source, args.work / f"report-{engine}", env)
        print(f"{engine}: {json.dumps(got, indent=1)}")
        results[engine] = got
        if args.reimport:
            again = timed_import(source, args.work / f"report-{engine}-again", env)
            print(f"{engine} (same files again): {json.dumps(again, indent=1)}")
            results[f"{engine}_again"] = again
    (args.work / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
