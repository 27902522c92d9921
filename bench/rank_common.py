"""Shared helpers of the ranking benchmarks (bench/rank_*.py): synthetic input files and measurements.

Data go to /work/bench-data/rank (override with --data-dir or DTSEN_BENCH_DATA), never into the repository.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("DTSEN_BENCH_DATA", "/work/bench-data/rank"))


def raw_path(data_dir: Path, families: int, seed: int) -> Path:
    return data_dir / f"raw_{families}_s{seed}.parquet"


def previous_path(data_dir: Path, families: int, seed: int) -> Path:
    return data_dir / f"previous_{families}_s{seed}.parquet"


def ensure_input(data_dir: Path, families: int, seed: int) -> tuple[Path, Path]:
    """The synthetic engine input and a 'previous run' (family_id, desil, village_code) for the diff, written
    by a separate process (so generating them does not count in the measured process's peak memory)."""
    raw, prev = raw_path(data_dir, families, seed), previous_path(data_dir, families, seed)
    if not raw.exists() or not prev.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        code = (
            "import sys; from pathlib import Path; "
            "from dtsen.ranking.engine.duck import duckdb_connect, sql_string; "
            "from dtsen.ranking.engine.synthetic import synthetic_raw_families; "
            "n, seed, raw, prev = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]); "
            "con = duckdb_connect(memory_limit='4GB', threads=2, temp_directory=raw.parent / 'gen.tmp'); "
            "synthetic_raw_families(con, families=n, seed=seed, path=raw); "
            "con.execute(f'COPY (SELECT family_id, CAST(1 + hash(family_id, 77) % 10 AS SMALLINT) AS desil, "
            "village_code FROM read_parquet({sql_string(raw)}) WHERE family_id % 50 <> 7) "
            "TO {sql_string(prev)} (FORMAT parquet)')"
        )
        subprocess.run([sys.executable, "-c", code, str(families), str(seed), str(raw), str(prev)], check=True)
        print(f"generated {families:,} families in {time.monotonic() - started:.1f} s -> {raw} "
              f"({raw.stat().st_size / 1e9:.2f} GB)")  # fmt: skip
    return raw, prev


def peak_rss_gb() -> float:
    """Peak resident memory of this process (VmHWM), GB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


class TreeRss:
    """Samples the summed RSS of a process tree (Python + JVM for Spark) and keeps the maximum."""

    def __init__(self, pid: int | None = None, interval: float = 0.2) -> None:
        self.pid = pid or os.getpid()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _children(self, pid: int) -> list[int]:
        out = []
        for task in Path(f"/proc/{pid}/task").glob("*"):
            children = task / "children"
            if children.exists():
                out.extend(int(x) for x in children.read_text().split())
        return out

    def _tree_rss(self) -> int:
        total, stack = 0, [self.pid]
        while stack:
            pid = stack.pop()
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                stack.extend(self._children(pid))
            except (FileNotFoundError, ProcessLookupError):
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._tree_rss())
            time.sleep(self.interval)

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_gb(self) -> float:
        return self.peak / 1e9


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def report(name: str, data: dict[str, Any], out: Path | None) -> None:
    print(json.dumps({"bench": name, **data}, indent=1, default=str))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"bench": name, **data}, default=str) + "\n")
