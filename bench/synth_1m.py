"""Benchmark: generate 1M synthetic families (about 3.8M persons) with `dtsen synth`.

    .venv/bin/python bench/synth_1m.py [--families 1000000] [--region 34] [--seed 1] [--format parquet|csv]
        [--no-faults] [--work DIR]

Runs `dtsen synth` in a child process and reports its wall time and peak RSS (getrusage of the child, via
os.wait4), plus the row counts of the manifest. By default faults are injected at typical rates
(duplicates 2%, deceased 0.5%, excluded 1% of persons; stale KK 3% of families), the slower path.
Targets (issue #7): 1M families in 3 minutes or less, peak memory 4 GB or less, on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DTSEN = str(ROOT / ".venv" / "bin" / "dtsen")
FAULTS = [
    "--fault-duplicates",
    "0.02",
    "--fault-deceased",
    "0.005",
    "--fault-excluded",
    "0.01",
    "--fault-stale-kk",
    "0.03",
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--families", type=int, default=1_000_000)
    parser.add_argument("--region", default="34")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--work", help="output directory (default: a temporary one, removed afterwards)")
    args = parser.parse_args()

    out = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="synth-bench-"))
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        DTSEN,
        "synth",
        "--region",
        args.region,
        "--families",
        str(args.families),
        "--seed",
        str(args.seed),
        "--out",
        str(out),
        "--format",
        args.format,
        "--quiet",
        *([] if args.no_faults else FAULTS),
    ]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    manifest = json.loads((out / "manifest.json").read_text())
    size = sum(p.stat().st_size for p in out.iterdir())
    result = {
        "families_requested": args.families,
        "region": args.region,
        "faults": not args.no_faults,
        "exit_code": os.waitstatus_to_exitcode(status),
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "cpu_user_s": round(usage.ru_utime, 1),
        "cpu_sys_s": round(usage.ru_stime, 1),
        "output_mb": round(size / 2**20),
        "counts": manifest["counts"],
        "targets": {"wall_s": 180, "peak_rss_mb": 4096},
    }
    result["pass"] = result["exit_code"] == 0 and result["wall_s"] <= 180 and result["peak_rss_mb"] <= 4096
    print(json.dumps(result, indent=2))
    if not args.work:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
