// Open-loop HTTP load generator for the throughput benchmarks (Node's own http module, no packages).
//
//   node bench/loadgen.mjs --url http://127.0.0.1:8791/dci/registry/sync/search --bodies bodies.jsonl \
//        --rate 500 --duration 60 --warmup 10 --connections 64 [--expect '"status":"succ"'] [--out result.json]
//
// Request i is due at start + i / rate, whatever happened to the earlier ones (an open model: a slow server
// does not slow the arrivals down, so queueing shows in the latencies instead of hiding as a lower rate,
// "coordinated omission"). Its latency is measured from the moment it was due, not from when a connection
// became free. Each request POSTs the next line of --bodies (application/json) or GETs the URL when no
// bodies are given. A response counts as an error when its status is not 200 or its body lacks --expect.
// Only requests due after the warm-up count. Node costs a few tens of microseconds per request, so the
// generator takes little of the CPU it shares with the server on a small machine (locust takes ~1 ms).
import fs from "node:fs";
import http from "node:http";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const url = new URL(args.url);
const rate = Number(args.rate ?? 500);
const duration = Number(args.duration ?? 60);
const warmup = Number(args.warmup ?? 10);
const connections = Number(args.connections ?? 64);
const expect = args.expect ?? "";
const bodies = args.bodies ? fs.readFileSync(args.bodies, "utf8").split("\n").filter((l) => l.length) : null;
const total = Math.floor(rate * (warmup + duration));
if (bodies && bodies.length < total) {
  console.error(`need ${total} bodies, ${bodies.length} given`);
  process.exit(2);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
const latencies = [];
let errors = 0;
let measured = 0;
let done = 0;
let firstError = "";
const start = performance.now() + 100;
let sent = 0;

function fire(i) {
  const due = start + (i * 1000) / rate;
  const counted = i >= rate * warmup;
  const body = bodies ? bodies[i] : null;
  const req = http.request(
    {
      host: url.hostname, port: url.port, path: url.pathname + url.search, agent,
      method: body ? "POST" : "GET",
      headers: body ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } : {},
    },
    (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const ms = performance.now() - due;
        const text = expect ? Buffer.concat(chunks).toString() : "";
        const ok = res.statusCode === 200 && (!expect || text.includes(expect));
        if (counted) {
          measured += 1;
          latencies.push(ms);
          if (!ok) {
            errors += 1;
            if (!firstError) firstError = `HTTP ${res.statusCode} ${text.slice(0, 300)}`;
          }
        }
        finish();
      });
    },
  );
  req.on("error", (e) => {
    if (counted) {
      measured += 1;
      errors += 1;
      latencies.push(performance.now() - due);
      if (!firstError) firstError = String(e);
    }
    finish();
  });
  if (body) req.write(body);
  req.end();
}

function finish() {
  done += 1;
  if (done === total) report();
}

function tick() {
  const now = performance.now();
  while (sent < total && start + (sent * 1000) / rate <= now) fire(sent++);
  if (sent < total) setTimeout(tick, 1);
}

function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function report() {
  const wall = (performance.now() - start) / 1000 - warmup;
  latencies.sort((a, b) => a - b);
  const result = {
    offered_rps: rate, duration_s: duration, requests: measured, errors,
    // completed requests of the measured window over the time it took them to complete
    rps: measured / wall,
    p50_ms: pct(latencies, 50), p95_ms: pct(latencies, 95), p99_ms: pct(latencies, 99),
    max_ms: latencies[latencies.length - 1], connections, first_error: firstError,
  };
  const json = JSON.stringify(result, null, 2);
  if (args.out) fs.writeFileSync(args.out, json + "\n");
  console.log(json);
  agent.destroy();
}

setTimeout(tick, 100);
