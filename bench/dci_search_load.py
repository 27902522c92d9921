"""Benchmark: DCI sync search by NIK sustains 500 requests/s with p99 <= 50 ms, signature checks included.

    .venv/bin/python bench/dci_search_load.py --setup [--families 1000000]      build the registry (once)
    .venv/bin/python bench/dci_search_load.py [--rate 500] [--duration 60] [--workers 4] [--users 50]

--setup creates the PostgreSQL database `dtsen_bench_dci` (dropped first), migrates it, loads the regions,
generates a synthetic population of DI Yogyakarta (`dtsen.synth`, no faults) and imports it with
`dtsen registry_import`, then registers a partner `bench.partner` (national Pusdatin scope, full NIK) with a
fresh Ed25519 key and keeps a sample of 20,000 NIKs of the population in the work directory.

The run starts gunicorn (`dtsen.wsgi`, DTSEN_DEBUG=0: production settings) on 127.0.0.1:8765, signs
rate x (duration + warm-up) distinct sync-search messages beforehand (one NIK each, unique message_id,
Ed25519 signature valid for an hour), and runs locust headless (FastHttpUser, constant throughput: users x
rate/users requests per second offered) against /dci/registry/sync/search. Only the measured window
(after the warm-up) counts. It prints req/s, p50/p95/p99, errors and the load average, writes
WORK/result.json, and exits 1 when a target is missed (rate below 98% of --rate, p99 above 50 ms, or any
error). locust must be installed (`.venv/bin/pip install -c constraints.txt locust==2.47.0`).

Rate limits: the DCI namespace is not (yet) exempt from the anonymous rate limit of dtsen.core.ratelimits,
so the run sets DTSEN_BENCH_RATE_LIMITS off through the wrapper settings module bench/dci_bench_settings
written into WORK (production settings otherwise unchanged); see docs/dci.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
DTSEN = str(BIN / "dtsen")
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_DB = "dtsen_bench_dci"
SENDER = "bench.partner"
REGISTRY_ID = "dtsen-bench"
PORT = 8791
TARGET_P99_MS = 50.0
WARMUP_S = 10

LOCUSTFILE = '''
import json
from locust import constant_throughput, task
from locust.contrib.fasthttp import FastHttpUser

with open({bodies!r}) as f:
    BODIES = iter(f.read().splitlines())


class Partner(FastHttpUser):
    wait_time = constant_throughput({per_user})

    @task
    def search(self):
        body = next(BODIES, None)
        if body is None:
            return
        with self.client.post("/dci/registry/sync/search", data=body, catch_response=True,
                              headers={{"Content-Type": "application/json"}}) as r:
            if r.status_code != 200:
                r.failure(f"HTTP {{r.status_code}}")
                return
            items = json.loads(r.content)["message"]["search_response"]
            if items[0]["status"] != "succ" or len(items[0]["data"]["reg_records"]) != 1:
                r.failure("not found")
'''


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


def _stats(prefix: Path) -> dict[str, float]:
    with open(f"{prefix}_stats.csv") as f:
        row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": float(row["Requests/s"]),
        "p50_ms": float(row["50%"]),
        "p95_ms": float(row["95%"]),
        "p99_ms": float(row["99%"]),
        "max_ms": float(row["Max Response Time"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", action="store_true", help="build the registry database first")
    parser.add_argument("--families", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=500.0, help="offered requests per second")
    parser.add_argument("--duration", type=int, default=60, help="measured seconds (after a 10 s warm-up)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--work", type=Path, default=Path("/tmp/dtsen-bench-dci"))
    parser.add_argument("--port", type=int, default=PORT)
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    if args.setup:
        setup(args.work, args.families)
    env = _env(args.work)
    # production settings; only the anonymous rate limit is lifted (see the module docstring)
    (args.work / "dci_bench_settings.py").write_text(
        "from dtsen.settings import *  # noqa: F403\nRATE_LIMITS = {'public': '100000000/m'}\n"
    )
    env["DJANGO_SETTINGS_MODULE"] = "dci_bench_settings"
    _partner(args.work, env)
    if not _port_free(args.port):
        raise SystemExit(f"port {args.port} is in use: choose another with --port")
    bodies = _presign(args.work, int(args.rate * (args.duration + WARMUP_S) * 1.05) + 100)
    gunicorn = subprocess.Popen(
        [str(BIN / "gunicorn"), "dtsen.wsgi", "-b", f"127.0.0.1:{args.port}", "-w", str(args.workers),
         "--threads", str(args.threads), "--access-logfile", "/dev/null", "--log-level", "warning",
         "--graceful-timeout", "5", "--timeout", "120"],
        env=env, cwd=args.work,
    )  # fmt: skip
    try:
        _wait_up(f"http://127.0.0.1:{args.port}/dci/registry/sync/search", gunicorn)
        locustfile = args.work / "locustfile.py"
        locustfile.write_text(LOCUSTFILE.format(bodies=str(bodies), per_user=args.rate / args.users))
        prefix = args.work / "locust"
        for old in args.work.glob("locust_*.csv"):
            old.unlink()
        base = [str(BIN / "locust"), "-f", str(locustfile), "--headless", "--host", f"http://127.0.0.1:{args.port}",
                "-u", str(args.users), "-r", str(args.users), "--only-summary", "--loglevel", "WARNING"]  # fmt: skip
        subprocess.run([*base, "-t", f"{WARMUP_S}s"], check=False, stdout=subprocess.DEVNULL)
        # the warm-up used its share of the bodies; the measured run continues with fresh ones
        remaining = bodies.read_text().splitlines()[int(args.rate * WARMUP_S * 1.05) + 50 :]
        bodies.write_text("\n".join(remaining) + "\n")
        load_before = os.getloadavg()
        subprocess.run([*base, "-t", f"{args.duration}s", "--csv", str(prefix)], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        load_after = os.getloadavg()
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        try:
            gunicorn.wait(timeout=30)
        except subprocess.TimeoutExpired:
            gunicorn.kill()
            gunicorn.wait()
    stats = _stats(prefix)
    result = {
        **stats,
        "target_rps": args.rate,
        "duration_s": args.duration,
        "workers": args.workers,
        "users": args.users,
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
        f"on {os.cpu_count()} cores: {'OK' if ok else 'TARGET MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
