"""Benchmark: DCI sync search by NIK sustains 500 requests/s with p99 <= 50 ms, signature checks included.

    .venv/bin/python bench/dci_search_load.py --setup [--families 1000000]      build the registry (once)
    .venv/bin/python bench/dci_search_load.py [--rate 500] [--duration 60] [--workers 4] [--users 50]

--setup creates the PostgreSQL database `dtsen_bench_dci` (dropped first), migrates it, loads the regions,
generates a synthetic population of DI Yogyakarta (`dtsen.synth`, no faults) and imports it with
`dtsen registry_import`, then registers a partner `bench.partner` (national Pusdatin scope, full NIK) with a
fresh Ed25519 key and keeps a sample of 20,000 NIKs of the population in the work directory.

The run starts gunicorn (`dtsen.wsgi`, production settings: DTSEN_DEBUG=0, the Redis cache of rate limits
on database 8 of the local Redis, emptied first; the DCI rate limit stays on) on 127.0.0.1:8791, signs
rate x (duration + warm-up) distinct sync-search messages beforehand (one NIK each, unique message_id,
Ed25519 signature valid for an hour), and offers them at a fixed rate with bench/loadgen.mjs (Node's http
module, open loop: latency counts from the moment a request was due, so queueing is not hidden). Only the
measured window (after the warm-up) counts. A response counts as an error unless it is HTTP 200 with one
record found. It prints req/s, p50/p95/p99, errors, the CPU seconds of the server processes, of PostgreSQL
and of the load generator, and the load average, writes WORK/result.json, and exits 1 when a target is
missed (rate below 98% of --rate, p99 above 50 ms, or any error). Needs `node` (Debian's nodejs, 18 or
later) on the PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from procs import postgres_cpu, tree_cpu  # bench/procs.py

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
DTSEN = str(BIN / "dtsen")
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_DB = "dtsen_bench_dci"
SENDER = "bench.partner"
REGISTRY_ID = "dtsen-bench"
PORT = 8791
REDIS_URL = "redis://127.0.0.1:6379/8"
EXPECT = '"reg_records": [{"@context"'  # HTTP 200 with one record found
TARGET_P99_MS = 50.0
WARMUP_S = 10



def _env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{PG_SERVER}/{PG_DB}",
        DTSEN_DATA_DIR=str(work / "data"),
        DTSEN_DEBUG="0",
        DTSEN_DCI_REGISTRY_ID=REGISTRY_ID,
        DTSEN_DCI_KEY_FILE=str(work / "registry_key.pem"),
        DTSEN_INSECURE_COOKIES="1",
        PYTHONPATH=str(work),
    )
    (work / "data").mkdir(parents=True, exist_ok=True)
    return env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    subprocess.run(cmd, env=env, check=True)


def setup(work: Path, families: int) -> None:
    env = _env(work)
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", PG_DB], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", PG_DB], check=True)
    _run([DTSEN, "migrate", "-v0"], env)
    _run([DTSEN, "load_regions", "--no-progress"], env)
    source = work / f"input-{families}"
    if not (source / "manifest.json").exists():
        shutil.rmtree(source, ignore_errors=True)
        started = time.monotonic()
        _run([DTSEN, "synth", "--families", str(families), "--region", "34", "--seed", "3", "--format",
              "parquet", "--fault-duplicates", "0", "--fault-deceased", "0", "--fault-excluded", "0",
              "--fault-stale-kk", "0", "--quiet", "--out", str(source)], env)  # fmt: skip
        print(f"synth: {time.monotonic() - started:.0f} s")
    started = time.monotonic()
    _run([DTSEN, "registry_import", str(source), "--report-dir", str(work / "import-report"), "--no-progress"], env)
    print(f"import: {time.monotonic() - started:.0f} s")
    import pyarrow.parquet as pq

    persons = next(p for p in source.rglob("*.parquet") if "person" in p.name)
    niks = pq.read_table(persons, columns=["nik"]).column("nik").to_pylist()
    step = max(len(niks) // 20000, 1)
    (work / "niks.txt").write_text("\n".join(niks[::step][:20000]) + "\n")
    print(f"{len(niks)} persons; {min(20000, len(niks[::step]))} NIKs sampled")


def _partner(work: Path, env: dict[str, str]) -> None:
    """(Re-)register the bench partner with a fresh key (django shell: the partner's user is national)."""
    code = f"""
from django.contrib.auth import get_user_model
from cryptography.hazmat.primitives.asymmetric import ed25519
from pathlib import Path
from dtsen.accounts.services import role_assign, system_actor
from dtsen.dci.models import Partner
from dtsen.dci.services import partner_register, partner_key_add
from dtsen.dci.signing import private_pem, public_pem
key = ed25519.Ed25519PrivateKey.generate()
Path({str(work / "partner_key.pem")!r}).write_bytes(private_pem(key))
user, _ = get_user_model().objects.get_or_create(username="bench-dci-client")
role_assign(user=user, role="pusdatin", region_code="", reason="bench")
partner = Partner.objects.filter(sender_id={SENDER!r}).first()
kid = "k" + str(__import__("time").time_ns())
if partner is None:
    partner_register(actor=system_actor(), sender_id={SENDER!r}, name="Bench", user=user, query_types=["idtype-value"],
                     may_see_nik=True, key_id=kid, public_key_pem=public_pem(key))
else:
    partner_key_add(actor=system_actor(), partner=partner, key_id=kid, public_key_pem=public_pem(key))
Path({str(work / "partner_kid")!r}).write_text(kid)
"""
    _run([DTSEN, "shell", "-c", code], env)


def _presign(work: Path, count: int) -> Path:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dtsen.settings")
    from cryptography.hazmat.primitives import serialization

    sys.path.insert(0, str(ROOT / "src"))
    from dtsen.dci.signing import sign

    key = serialization.load_pem_private_key((work / "partner_key.pem").read_bytes(), password=None)
    kid = (work / "partner_kid").read_text().strip()
    niks = (work / "niks.txt").read_text().split()
    out = work / "bodies.jsonl"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    started = time.monotonic()
    with out.open("w") as f:
        for i in range(count):
            header = {"version": "1.0.0", "message_id": str(uuid.uuid4()), "message_ts": now, "action": "search",
                      "sender_id": SENDER, "receiver_id": REGISTRY_ID, "total_count": 1, "is_msg_encrypted": False}
            message = {"transaction_id": f"bench-{i}", "search_request": [{
                "reference_id": "1", "timestamp": now,
                "search_criteria": {"query_type": "idtype-value",
                                    "query": {"type": "NIK", "value": niks[i % len(niks)]}},
            }]}  # fmt: skip
            signature = sign(private_key=key, sender_id=SENDER, key_id=kid, header=header, message=message,  # type: ignore[arg-type]
                             lifetime=3600)  # fmt: skip
            f.write(json.dumps({"signature": signature, "header": header, "message": message}) + "\n")
    print(f"pre-signed {count} requests in {time.monotonic() - started:.1f} s")
    return out


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_up(url: str, server: subprocess.Popen[bytes], timeout: float = 240) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("gunicorn did not start")


def _cost(args: argparse.Namespace, env: dict[str, str], bodies: Path) -> int:
    """One gunicorn worker, requests sent one at a time on one keep-alive connection (gthread worker): the CPU
    seconds per request of the worker and of its PostgreSQL backend, after 200 warm-up requests."""
    import http.client

    gunicorn = subprocess.Popen(
        [str(BIN / "gunicorn"), "dtsen.wsgi", "-b", f"127.0.0.1:{args.port}", "-w", "1", "-k", "gthread",
         "--threads", "1", "--log-level", "warning"],
        env=env, cwd=args.work,
    )  # fmt: skip
    lines = bodies.read_text().splitlines()
    try:
        _wait_up(f"http://127.0.0.1:{args.port}/dci/registry/sync/search", gunicorn)
        connection = http.client.HTTPConnection("127.0.0.1", args.port)

        def send(body: str) -> None:
            connection.request("POST", "/dci/registry/sync/search", body=body,
                               headers={"Content-Type": "application/json"})  # fmt: skip
            response = connection.getresponse()
            data = response.read()
            if response.status != 200 or EXPECT.encode() not in data:
                raise SystemExit(f"unexpected answer: HTTP {response.status} {data[:300]!r}")

        for body in lines[:200]:
            send(body)
        pg_before = postgres_cpu()
        before, started = tree_cpu(gunicorn.pid), time.monotonic()
        for body in lines[200 : 200 + args.cost]:
            send(body)
        wall = time.monotonic() - started
        worker_cpu = tree_cpu(gunicorn.pid) - before
        pg_cpu = postgres_cpu() - pg_before
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)
    per = {"server_cpu_ms_per_request": round(worker_cpu * 1000 / args.cost, 3),
           "postgres_cpu_ms_per_request": round(pg_cpu * 1000 / args.cost, 3),
           "wall_ms_per_request": round(wall * 1000 / args.cost, 3), "requests": args.cost,
           "load_average": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    (args.work / "cost.json").write_text(json.dumps(per, indent=2) + "\n")
    ceiling = 2000 / (per["server_cpu_ms_per_request"] + per["postgres_cpu_ms_per_request"])
    print(f"dci sync search by NIK, cost of one request: server {per['server_cpu_ms_per_request']} ms CPU, "
          f"PostgreSQL {per['postgres_cpu_ms_per_request']} ms CPU, {per['wall_ms_per_request']} ms wall "
          f"(load average {per['load_average'][0]}): at most {ceiling:.0f} requests/s on 2 fully busy cores")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", action="store_true", help="build the registry database first")
    parser.add_argument("--families", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=500.0, help="offered requests per second")
    parser.add_argument("--duration", type=int, default=60, help="measured seconds (after a 10 s warm-up)")
    parser.add_argument("--users", type=int, default=64, help="keep-alive connections of the load generator")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--work", type=Path, default=Path("/tmp/dtsen-bench-dci"))
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--cost", type=int, default=0, metavar="N",
                        help="instead of the load: N requests one after another to one worker, reporting the CPU "
                             "each costs the worker and PostgreSQL (less disturbed by other load on the machine)")
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    if args.setup:
        setup(args.work, args.families)
    env = _env(args.work)
    env["DTSEN_REDIS_URL"] = REDIS_URL
    subprocess.run(["redis-cli", "-n", REDIS_URL.rsplit("/", 1)[1], "FLUSHDB"], check=True, stdout=subprocess.DEVNULL)
    _partner(args.work, env)
    if not _port_free(args.port):
        raise SystemExit(f"port {args.port} is in use: choose another with --port")
    count = args.cost + 200 if args.cost else int(args.rate * (args.duration + WARMUP_S) * 1.02) + 100
    bodies = _presign(args.work, count)
    if args.cost:
        return _cost(args, env, bodies)
    gunicorn = subprocess.Popen(
        [str(BIN / "gunicorn"), "dtsen.wsgi", "-b", f"127.0.0.1:{args.port}", "-w", str(args.workers),
         "--threads", str(args.threads), "--log-level", "warning",
         "--graceful-timeout", "5", "--timeout", "120"],
        env=env, cwd=args.work,
    )  # fmt: skip
    out = args.work / "loadgen.json"
    try:
        _wait_up(f"http://127.0.0.1:{args.port}/dci/registry/sync/search", gunicorn)
        url = f"http://127.0.0.1:{args.port}/dci/registry/sync/search"

        def load(part: Path, seconds: int, result: Path) -> None:
            subprocess.run(
                ["node", str(ROOT / "bench" / "loadgen.mjs"), "--url", url, "--bodies", str(part),
                 "--rate", str(args.rate), "--duration", str(seconds), "--warmup", "0",
                 "--connections", str(args.users), "--expect", EXPECT, "--out", str(result)],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip

        # warm-up (every worker started, its connections and prepared statements made), not counted
        lines = bodies.read_text().splitlines()
        split = int(args.rate * WARMUP_S) + 50
        warm, measured = args.work / "bodies-warmup.jsonl", args.work / "bodies-measured.jsonl"
        warm.write_text("\n".join(lines[:split]) + "\n")
        measured.write_text("\n".join(lines[split:]) + "\n")
        load(warm, WARMUP_S, args.work / "loadgen-warmup.json")
        server_before, pg_before = tree_cpu(gunicorn.pid), postgres_cpu()
        load_before = os.getloadavg()
        gen_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        load(measured, args.duration, out)
        gen_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_after = os.getloadavg()
        server_cpu = tree_cpu(gunicorn.pid) - server_before
        pg_cpu = postgres_cpu() - pg_before
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        try:
            gunicorn.wait(timeout=30)
        except subprocess.TimeoutExpired:
            gunicorn.kill()
            gunicorn.wait()
    stats = json.loads(out.read_text())
    total_s = args.duration
    stats["server_cpu_ms_per_request"] = round(server_cpu * 1000 / (args.rate * total_s), 3)
    stats["postgres_cpu_ms_per_request"] = round(pg_cpu * 1000 / (args.rate * total_s), 3)
    gen_cpu = (gen_after.ru_utime + gen_after.ru_stime) - (gen_before.ru_utime + gen_before.ru_stime)
    stats["loadgen_cpu_ms_per_request"] = round(gen_cpu * 1000 / (args.rate * total_s), 3)
    stats["failures"] = stats["errors"]
    result = {
        **stats,
        "target_rps": args.rate,
        "duration_s": args.duration,
        "workers": args.workers,
        "connections": args.users,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "cpus": os.cpu_count(),
    }
    (args.work / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    ok = stats["rps"] >= 0.98 * args.rate and stats["p99_ms"] <= TARGET_P99_MS and stats["failures"] == 0
    print(
        f"dci sync search by NIK: {stats['rps']:.0f} req/s (target {args.rate:.0f}), p50 {stats['p50_ms']:.0f} ms, "
        f"p95 {stats['p95_ms']:.0f} ms, p99 {stats['p99_ms']:.0f} ms (target {TARGET_P99_MS:.0f}), "
        f"errors {stats['failures']}/{stats['requests']}, load average {load_before[0]:.1f} -> {load_after[0]:.1f} "
        f"on {os.cpu_count()} cores; CPU per request: server {stats['server_cpu_ms_per_request']} ms, PostgreSQL "
        f"{stats['postgres_cpu_ms_per_request']} ms, load generator {stats['loadgen_cpu_ms_per_request']} ms: "
        f"{'OK' if ok else 'TARGET MISSED'}"
        + (f" (first error: {stats['first_error']})" if stats["failures"] else "")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
