"""Benchmark: Cek Bansos (the public search) under load, against a 1M-family PostgreSQL registry.

    .venv/bin/python bench/public_search_load.py [--rate 505] [--sessions 64] [--duration 60] [--warmup 15]
        [--server granian|gunicorn|gunicorn-gthread] [--workers 3] [--threads 1] [--plain] [--port 8765]
        [--db dtsen_bench_public] [--data-dir DIR] [--skip-setup] [--json results.jsonl]

1. Setup (bench/public_search_setup.py, idempotent: skipped steps cost seconds): 1M synthetic families
   imported into PostgreSQL database `dtsen_bench_public`, one ranking run, recipients.
2. Queries drawn from the registry (the load generator's --queries file): village codes with names of
   recipients (half: the search must find them), of people who receive nothing, and names from another village
   (mostly "not found"). Name prefixes as people type them: the first word cut to 3-8 letters, sometimes the
   second word too.
3. The production server setup (docs/deployment.md): granian, `--workers` processes with `--threads` Django
   threads each and one Rust I/O thread (or gunicorn: sync workers, or gthread), DTSEN_DEBUG=0, Redis cache
   (database 7 of the local Redis, emptied first: rate-limit counters), PostgreSQL with persistent connections
   and prepared statements, whitenoise, secure cookies, DTSEN_TRUSTED_PROXY=127.0.0.1 (the load tool plays the
   reverse proxy: it sends X-Forwarded-For with a different citizen address per search, and
   X-Forwarded-Proto: https). The rate limits, the challenge and the audit record of every search stay on.
4. Load: bench/public_loadgen.mjs (Node 20, no packages), open loop: search i is due at i / `--rate` seconds
   whatever happened to the earlier ones, and its latency counts from then. `--sessions` browser tabs each GET
   the page once (CSRF cookie + token, first challenge), then POST searches, solving each challenge from the
   answer they got back (tokens stay single-use on the server); a due search waits for a tab with a challenge.
   Each search is sent as htmx sends the form in a browser with JavaScript, and its answer is the part of the
   page that changes; `--plain`: as a browser without JavaScript posts it, answered with the whole page. A
   warm-up (not counted), then `--duration` measured seconds. The default offer, 505/s, is 1% above the
   target: the searches answered per second over the window come out a little below the offer (the last ones
   are answered after it ends). The generator runs on the same 2 cores as the server, PostgreSQL and Redis:
   its CPU counts against the budget. CPU seconds over the measured window: `server_cpu_s` (the server's
   master and workers), `postgres_cpu_s` (the whole local PostgreSQL server: other databases' work counts
   too), `loadgen_cpu_s`; and each per search.
5. Result: search requests/s, p50/p95/p99 (ms), the three 2-second windows with the highest p99 (a tail
   from one burst or spread over the run), errors (every failed search and every response that did not
   look right; page loads that failed are counted apart), the audit rows written for the searches (must equal
   the searches: warm-up and measured window both write, so the count is taken around the whole run), the load
   average. Exit status 1 when a target is missed: >= 500 req/s, p99 <= 100 ms, zero errors.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from procs import postgres_cpu, tree_cpu  # bench/procs.py
from public_search_setup import DEFAULT_DATA, DEFAULT_DB, bench_env, setup

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
REDIS_URL = "redis://127.0.0.1:6379/7"
TARGET_RPS = 500.0
TARGET_P99_MS = 100.0


def _pg(db: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    import psycopg

    with psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{db}", autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _prefix(name: str, rng: random.Random) -> str:
    words = name.split()
    first = words[0][: rng.randint(3, 8)]
    if len(words) > 1 and rng.random() < 0.3:
        first = f"{first} {words[1][: rng.randint(3, 6)]}"
    return first if rng.random() < 0.7 else first.lower()


PEOPLE = """
SELECT f.village_code, p.name, EXISTS (SELECT 1 FROM programs_membership m
                                       WHERE m.family_id = f.id AND m.status = 'aktif') AS recipient
FROM registry_person p TABLESAMPLE SYSTEM (1) REPEATABLE (%s)
JOIN registry_family f ON f.id = p.family_id
WHERE p.status = 'aktif' AND p.life_status = 'hidup' AND f.status = 'aktif'
LIMIT 20000
"""


def draw_queries(db: str, n: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = _pg(db, PEOPLE, (seed,))
    hits = [(v, name) for v, name, rec in rows if rec and len(name.split()[0]) >= 3]
    others = [(v, name) for v, name, rec in rows if not rec and len(name.split()[0]) >= 3]
    villages = sorted({str(v) for v, _, _ in rows})
    queries = []
    for i in range(n):
        share = i % 4
        if share < 2:
            village, name, kind = *rng.choice(hits), "hit"
        elif share == 2:
            village, name, kind = *rng.choice(others), "other"
        else:
            village, name, kind = rng.choice(villages), rng.choice(others)[1], "other"  # another village's name
        parts = str(village).split(".")
        typed = str(name) if kind == "hit" and rng.random() < 0.3 else _prefix(str(name), rng)
        queries.append({"prov": parts[0], "kab": ".".join(parts[:2]), "kec": ".".join(parts[:3]),
                        "desa": str(village), "name": typed, "kind": kind})
    return queries


def server_env(db: str, data_dir: Path) -> dict[str, str]:
    env = bench_env(db, data_dir)
    env.update({
        # prepared statements (Django leaves them off for poolers in transaction mode): the search statement of
        # Cek Bansos is planned once per connection (dtsen.core.public_search)
        "DATABASE_URL": f"{env['DATABASE_URL']}?prepare_threshold=5",
        "DTSEN_DEBUG": "0",
        "DTSEN_REDIS_URL": REDIS_URL,
        "DTSEN_TRUSTED_PROXY": "127.0.0.1",
        "DTSEN_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DTSEN_LOG_LEVEL": "ERROR",
    })
    env.pop("DTSEN_INSECURE_COOKIES", None)
    return env


def start_server(env: dict[str, str], port: int, workers: int, threads: int, log: Path, *,
                 server: str = "gunicorn") -> subprocess.Popen[bytes]:
    if server == "granian":
        # as docs/deployment.md runs it: one Rust I/O thread per worker, `threads` Django threads
        cmd = [str(BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers), "--blocking-threads", str(threads), "--runtime-mode", "st",
               "--runtime-threads", "1", "--backlog", "2048", "--no-access-log", "--log-level", "warning",
               "dtsen.wsgi:application"]
    else:
        cmd = [str(BIN / "gunicorn"), "dtsen.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--threads", str(threads), "--backlog", "2048", "--keep-alive", "30",
               "--preload", "--timeout", "120", "--error-logfile", str(log), "--log-level", "warning"]
        if threads > 1 or server == "gunicorn-gthread":
            cmd += ["--worker-class", "gthread"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        _wait_ready(proc, port, log)
    except BaseException:
        stop_server(proc)
        raise
    return proc


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/cek-bansos/",
                                         headers={"X-Forwarded-Proto": "https"})
            with urllib.request.urlopen(req, timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited ({proc.returncode}); see {log}")
    raise SystemExit(f"gunicorn did not answer in 120 s; see {log}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # the master stops its workers
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


SEARCH_RELATIONS = ("registry_personword", "registry_personword_village_word", "registry_person",
                    "registry_person_pkey", "registry_family", "registry_family_pkey", "programs_membership",
                    "programs_membership_family_id_ce245480")


def prewarm(db: str) -> str:
    """Load what the search reads into PostgreSQL's buffers (pg_prewarm), as they are on a server that has been
    answering for a while; returns shared_buffers (docs/deployment.md: 4GB here; with the default 128MB the
    search reads from the operating system's cache)."""
    _pg(db, "CREATE EXTENSION IF NOT EXISTS pg_prewarm")
    _pg(db, "SELECT pg_prewarm(c.oid) FROM pg_class c WHERE c.relname = ANY(%s)", (list(SEARCH_RELATIONS),))
    return str(_pg(db, "SHOW shared_buffers")[0][0])


def worst_windows(timeline: Path, seconds: int = 2, count: int = 3) -> list[dict[str, float]]:
    """The `count` windows of `seconds` with the highest p99 (from the generator's --timeline file): where a
    tail comes from (a burst, or spread over the run)."""
    windows: dict[int, list[int]] = {}
    for due, ms in json.loads(timeline.read_text()):
        windows.setdefault(int(due) // (seconds * 1000), []).append(int(ms))
    rows = []
    for index, values in windows.items():
        values.sort()
        rows.append({"from_s": index * seconds, "searches": len(values), "p50_ms": values[len(values) // 2],
                     "p99_ms": values[min(len(values) - 1, int(len(values) * 0.99))], "max_ms": values[-1]})
    return sorted(rows, key=lambda r: -r["p99_ms"])[:count]


def run_loadgen(url: str, queries: Path, *, rate: float, sessions: int, duration: int, warmup: int,
                cpu_probe: dict[str, float], plain: bool = False, timeline: Path | None = None) -> dict[str, object]:
    """One run of bench/public_loadgen.mjs; its result, with the server's and PostgreSQL's CPU seconds over the
    measured window (from the generator's "measuring" line to its result) in `cpu_probe`."""
    cmd = ["node", str(ROOT / "bench" / "public_loadgen.mjs"), "--url", url, "--queries", str(queries),
           "--rate", str(rate), "--duration", str(duration), "--warmup", str(warmup), "--sessions", str(sessions),
           "--plain", "1" if plain else "0", *(["--timeline", str(timeline)] if timeline else [])]
    server_pid = int(cpu_probe["server_pid"])
    server0, pg0 = tree_cpu(server_pid), postgres_cpu()
    result: dict[str, object] = {}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            event = json.loads(line)
            if event.get("event") == "measuring":
                server0, pg0 = tree_cpu(server_pid), postgres_cpu()
            else:
                cpu_probe["server_cpu_s"] = round(tree_cpu(server_pid) - server0, 1)
                cpu_probe["postgres_cpu_s"] = round(postgres_cpu() - pg0, 1)
                result = event
        stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0 or not result:
        raise SystemExit(f"public_loadgen.mjs failed ({proc.returncode}): {stderr[-2000:]}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=505.0, help="searches offered per second (all users)")
    parser.add_argument("--sessions", type=int, default=64, help="browser tabs of the load generator")
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=15)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--server", choices=("granian", "gunicorn", "gunicorn-gthread"), default="granian")
    parser.add_argument("--plain", action="store_true", help="post the form as a browser without JavaScript")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--families", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-setup", action="store_true")
    parser.add_argument("--json", type=Path, help="append the result as one JSON line")
    args = parser.parse_args()

    os.environ.update(bench_env(args.db, args.data_dir))
    if not args.skip_setup:
        print("public_search_setup " + json.dumps(setup(args.families, args.db, args.data_dir, 1)), flush=True)
    work = args.data_dir / "load"
    work.mkdir(parents=True, exist_ok=True)
    queries = work / "queries.json"
    queries.write_text(json.dumps(draw_queries(args.db, args.queries, args.seed)))
    env = server_env(args.db, args.data_dir)

    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()  # the bench's own Redis database: old rate-limit counters
    shared_buffers = prewarm(args.db)
    audit_sql = "SELECT count(*) FROM audit_auditrecord WHERE action = 'public_search'"
    server = start_server(env, args.port, args.workers, args.threads, work / "server.log", server=args.server)
    url = f"http://127.0.0.1:{args.port}/cek-bansos/"
    probe: dict[str, float] = {"server_pid": server.pid}
    try:
        audit_before = int(_pg(args.db, audit_sql)[0][0])  # type: ignore[call-overload]
        load_before = [round(x, 2) for x in os.getloadavg()]
        run = run_loadgen(url, queries, rate=args.rate, sessions=args.sessions, duration=args.duration,
                          warmup=args.warmup, cpu_probe=probe, plain=args.plain,
                          timeline=work / "timeline.json")
        load_after = [round(x, 2) for x in os.getloadavg()]
        audit_rows = int(_pg(args.db, audit_sql)[0][0]) - audit_before  # type: ignore[call-overload]
    finally:
        stop_server(server)

    searches_total = round(args.rate * (args.warmup + args.duration))  # warm-up searches are audited too
    # CPU per search: over the searches answered in the measured window (when the server falls behind, they
    # were due earlier)
    per_search = 1000 / max(int(run["answered_in_window"]), 1)  # type: ignore[call-overload]
    result = {
        "families": args.families,
        "server": f"{args.server} {args.workers} workers x {args.threads} threads",
        "sessions": args.sessions,
        "shared_buffers": shared_buffers,
        "answer": "whole page (no JavaScript)" if args.plain else "htmx: the part that changes",
        "target_rate": args.rate,
        "duration_s": args.duration,
        "searches": run["searches"],
        "rps": round(float(run["rps"]), 1),  # type: ignore[arg-type]
        "p50_ms": round(float(run["p50_ms"]), 1),  # type: ignore[arg-type]
        "p95_ms": round(float(run["p95_ms"]), 1),  # type: ignore[arg-type]
        "p99_ms": round(float(run["p99_ms"]), 1),  # type: ignore[arg-type]
        "max_ms": round(float(run["max_ms"]), 1),  # type: ignore[arg-type]
        "errors": run["errors"],
        "unanswered": run["unanswered"],
        "error_kinds": run["error_kinds"],
        "page_gets": run["page_gets"],
        "page_errors": run["page_errors"],
        "audit_rows": audit_rows,
        "passed_with_warmup": run["passed_with_warmup"],
        "searches_with_warmup": searches_total,
        # CPU seconds over the measured window, and per search of it
        "server_cpu_s": probe["server_cpu_s"],
        "postgres_cpu_s": probe["postgres_cpu_s"],
        "loadgen_cpu_s": round(float(run["measured_cpu_s"]), 1),  # type: ignore[arg-type]
        "cpu_ms_per_search": {
            "server": round(probe["server_cpu_s"] * per_search, 2),
            "postgres": round(probe["postgres_cpu_s"] * per_search, 2),
            "loadgen": round(float(run["measured_cpu_s"]) * per_search, 2),  # type: ignore[arg-type]
        },
        "load_average_before_after": [load_before, load_after],
        "worst_2s_windows": worst_windows(work / "timeline.json"),
    }
    if run["first_error"]:
        print(f"first error: {run['first_error']}")
    errors = int(run["errors"]) + int(run["page_errors"])  # type: ignore[call-overload]
    ok = (result["rps"] >= TARGET_RPS and result["p99_ms"] <= TARGET_P99_MS and errors == 0  # type: ignore[operator]
          and audit_rows >= int(run["passed_with_warmup"]))  # type: ignore[call-overload]
    result["ok"] = ok
    line = json.dumps(result)
    print(f"public_search_load {line}")
    if args.json:
        with args.json.open("a") as fh:
            fh.write(line + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
