// Open-loop load generator of the Cek Bansos benchmark (Node's own http module, no packages), run by
// bench/public_search_load.py; the approach of bench/loadgen.mjs with the citizen's flow of the page.
//
//   node bench/public_loadgen.mjs --url http://127.0.0.1:8765/cek-bansos/ --queries queries.json \
//        --rate 505 --duration 60 --warmup 15 --sessions 64 [--drain 10] [--plain 1] [--timeline FILE]
//
// Citizens: `--sessions` browser tabs. Before the clock starts each tab GETs the page of a village (the CSRF
// cookie and form token, and the first challenge "Berapa 3 ditambah 4?"). Searches: search i is due at
// start + i / rate, whatever happened to the earlier ones (an open model: queueing shows in the latencies, no
// "coordinated omission"); it is sent by the next tab that holds an unused challenge (a tab holds one at a
// time: the one of the page it got back last), so a search that has to wait for a free tab waits on the clock.
// Its latency runs from the moment it was due. The POST carries the tab's CSRF token and cookie, the query's
// village and typed name (--queries: the JSON list the bench script draws from the registry) and the answer
// to the challenge, solved from the page; tokens are single-use on the server. The POST is sent as htmx sends
// the search form (HX-Request: the answer is the part of the page that changes), or with `--plain 1` as a
// browser without JavaScript does (the whole page). Every request comes with a
// different client address in X-Forwarded-For (random in 10.0.0.0/8) and X-Forwarded-Proto: https, as the
// production reverse proxy would send, so the rate limits count per citizen.
// A search counts as an error when the status is not 200, the page has no new challenge, a recipient drawn
// from the registry is not found, or the page shows neither results nor the "not found" note; a tab whose
// page had no challenge GETs the page again (counted in `page_gets`). Only searches due after the warm-up
// count in the figures; `passed_with_warmup` counts every search that passed, warm-up included (each must have
// left an audit record). When the warm-up ends the generator prints the line {"event": "measuring"} (the caller
// reads the server's CPU counters then); the result (the last line, JSON) has the generator's own CPU seconds
// over the whole run and over the measured window.
import fs from "node:fs";
import http from "node:http";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const url = new URL(args.url);
const rate = Number(args.rate ?? 550);
const duration = Number(args.duration ?? 60);
const warmup = Number(args.warmup ?? 15);
const sessions = Number(args.sessions ?? 110);
const queries = JSON.parse(fs.readFileSync(args.queries, "utf8"));
const total = Math.floor(rate * (warmup + duration));
const origin = `https://${url.host}`;
const plain = args.plain === "1";

const QUESTION = /(?:Berapa|How much is) (\d+) (?:ditambah|plus) (\d+)\?/;
const TOKEN = /name="challenge_token" value="([^"]+)"/;
const CSRF = /name="csrfmiddlewaretoken" value="([^"]+)"/;
const COOKIE = /csrftoken=([^;]+)/;
const FOUND = "data-recipient";
const NOT_FOUND = 'id="not-found"';

const agent = new http.Agent({ keepAlive: true, maxSockets: sessions, maxFreeSockets: sessions });
const latencies = [];
const timeline = []; // --timeline FILE: [due ms since start, latency ms] of every measured search
const errorKinds = {};
let errors = 0;
let measured = 0;
let passedAll = 0; // searches that passed the checks, warm-up included (each must have its audit record)
let done = 0;
let sent = 0;
let pageGets = 0;
let pageErrors = 0;
let firstError = "";
let start = 0;
let measureCpu = 0; // the generator's CPU seconds when the measured window began
let measuring = false;
let answeredInWindow = 0; // searches answered after the measured window began, whenever they were due
const drain = Number(args.drain ?? 10);
const inFlight = new Map(); // search index -> the moment it was due
const idle = []; // tabs holding an unused challenge
const waiting = []; // due searches with no free tab yet

function address() {
  const r = (n) => Math.floor(Math.random() * n);
  return `10.${r(256)}.${r(256)}.${1 + r(254)}`;
}

function challenge(html) {
  const q = QUESTION.exec(html);
  const t = TOKEN.exec(html);
  return q && t ? { token: t[1], answer: String(Number(q[1]) + Number(q[2])) } : null;
}

function request(method, path, headers, body, done) {
  const req = http.request({ host: url.hostname, port: url.port, path, method, agent, headers }, (res) => {
    const chunks = [];
    res.on("data", (c) => chunks.push(c));
    res.on("end", () => done(null, res, Buffer.concat(chunks).toString()));
  });
  req.on("error", (e) => done(e, null, ""));
  if (body) req.write(body);
  req.end();
}

function regionParams(q) {
  return new URLSearchParams({ prov: q.prov, kab: q.kab, kec: q.kec, desa: q.desa });
}

// A tab opens the page of a village: CSRF cookie and token, first challenge.
function openPage(tab, then) {
  const q = queries[Math.floor(Math.random() * queries.length)];
  pageGets += 1;
  const headers = { "X-Forwarded-For": address(), "X-Forwarded-Proto": "https" };
  request("GET", `${url.pathname}?${regionParams(q)}`, headers, null, (err, res, html) => {
    const cookie = res && COOKIE.exec(String(res.headers["set-cookie"] ?? ""));
    const token = CSRF.exec(html);
    tab.challenge = challenge(html);
    if (err || res.statusCode !== 200 || !cookie || !token || !tab.challenge) {
      pageErrors += 1;
      if (!firstError) firstError = `GET page: ${err ?? `HTTP ${res.statusCode}`} ${html.slice(0, 300)}`;
      if (pageErrors > 10 * sessions + 100) {
        console.error(`too many failed page loads; first: ${firstError}`);
        process.exit(2);
      }
      setTimeout(() => openPage(tab, then), 100);
      return;
    }
    tab.cookie = cookie[1];
    tab.token = token[1];
    then(tab);
  });
}

function error(kind, detail) {
  errors += 1;
  errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  if (!firstError) firstError = `${kind}: ${detail}`;
}

function search(tab, i) {
  const due = start + (i * 1000) / rate;
  const counted = i >= rate * warmup;
  const q = queries[i % queries.length];
  const body = new URLSearchParams({
    csrfmiddlewaretoken: tab.token, prov: q.prov, kab: q.kab, kec: q.kec, desa: q.desa, name: q.name,
    challenge_token: tab.challenge.token, challenge_answer: tab.challenge.answer,
  }).toString();
  tab.challenge = null;
  inFlight.set(i, due);
  const headers = {
    "Content-Type": "application/x-www-form-urlencoded", "Content-Length": Buffer.byteLength(body),
    "X-Forwarded-For": address(), "X-Forwarded-Proto": "https", Origin: origin, Referer: `${origin}${url.pathname}`,
    Cookie: `csrftoken=${tab.cookie}`,
    // what htmx adds to the search form's POST in a browser with JavaScript (the answer is then the part of the
    // page that changes); --plain: a browser without it (the whole page)
    ...(plain ? {} : { "HX-Request": "true", "HX-Target": "cek", "HX-Current-URL": `${origin}${url.pathname}` }),
  };
  request("POST", url.pathname, headers, body, (err, res, html) => {
    if (reported) return;
    inFlight.delete(i);
    if (measuring) answeredInWindow += 1;
    const ms = performance.now() - due;
    tab.challenge = err ? null : challenge(html);
    const passed = !err && res.statusCode === 200 && tab.challenge
      && (q.kind === "hit" ? html.includes(FOUND) : html.includes(FOUND) || html.includes(NOT_FOUND));
    if (passed) passedAll += 1;
    if (counted) {
      measured += 1;
      latencies.push(ms);
      if (args.timeline) timeline.push([Math.round(due - start), Math.round(ms)]);
      if (err) error("connection", String(err));
      else if (res.statusCode !== 200) error(`HTTP ${res.statusCode}`, html.slice(0, 300));
      else if (!tab.challenge) error("no new challenge", html.slice(0, 300));
      else if (q.kind === "hit" && !html.includes(FOUND)) error("recipient not found", JSON.stringify(q));
      else if (q.kind !== "hit" && !html.includes(FOUND) && !html.includes(NOT_FOUND)) {
        error("neither results nor not-found", html.slice(0, 300));
      }
    }
    finish();
    if (tab.challenge) release(tab);
    else openPage(tab, release);
  });
}

function release(tab) {
  if (waiting.length) search(tab, waiting.shift());
  else idle.push(tab);
}

function finish() {
  done += 1;
  if (done === total) report();
}

// An overloaded server would take far longer than the run to answer everything that fell due: `--drain`
// seconds after the last search was due, the run ends, and every measured search still waiting or in flight
// counts as an error ("not answered in time") with its wait so far as latency (a lower bound).
let reported = false;
let unansweredAll = 0;
function deadline() {
  if (reported) return;
  const now = performance.now();
  const firstMeasured = Math.ceil(rate * warmup);
  let unanswered = 0;
  for (const i of waiting) {
    if (i >= firstMeasured) {
      latencies.push(now - (start + (i * 1000) / rate));
      unanswered += 1;
    }
  }
  for (const [i, due] of inFlight) {
    if (i >= firstMeasured) {
      latencies.push(now - due);
      unanswered += 1;
    }
  }
  if (unanswered) {
    unansweredAll = unanswered;
    measured += unanswered;
    errors += unanswered;
    errorKinds["not answered in time"] = unanswered;
    if (!firstError) firstError = `not answered in time: ${unanswered}`;
  }
  report();
  process.exit(0);
}

function tick() {
  const now = performance.now();
  while (sent < total && start + (sent * 1000) / rate <= now) {
    const i = sent++;
    if (idle.length) search(idle.pop(), i);
    else waiting.push(i);
  }
  // sleep until the next search is due (not a fixed 1 ms poll: at a few hundred a second the wake-ups would
  // cost more than the searches)
  if (sent < total) setTimeout(tick, Math.max(0, start + (sent * 1000) / rate - performance.now()));
}

function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function report() {
  if (args.timeline) fs.writeFileSync(args.timeline, JSON.stringify(timeline));
  if (reported) return;
  reported = true;
  const wall = (performance.now() - start) / 1000 - warmup;
  latencies.sort((a, b) => a - b);
  const cpu = process.cpuUsage();
  const result = {
    offered_rps: rate, duration_s: duration, sessions, searches: measured, errors, error_kinds: errorKinds,
    // answered searches of the measured window over the time it took to answer them
    rps: (measured - unansweredAll) / wall, unanswered: unansweredAll, answered_in_window: answeredInWindow,
    p50_ms: pct(latencies, 50), p95_ms: pct(latencies, 95), p99_ms: pct(latencies, 99),
    max_ms: latencies[latencies.length - 1], passed_with_warmup: passedAll, page_gets: pageGets, page_errors: pageErrors,
    cpu_s: (cpu.user + cpu.system) / 1e6, measured_cpu_s: (cpu.user + cpu.system) / 1e6 - measureCpu,
    first_error: firstError,
  };
  const json = JSON.stringify(result);
  if (args.out) fs.writeFileSync(args.out, json + "\n");
  console.log(json);
  agent.destroy();
}

// open the tabs (not timed), then start the clock
let opened = 0;
for (let s = 0; s < sessions; s += 1) {
  openPage({}, (tab) => {
    idle.push(tab);
    opened += 1;
    if (opened === sessions) {
      start = performance.now() + 50;
      setTimeout(tick, 50);
      setTimeout(deadline, 50 + (warmup + duration + drain) * 1000);
      // the measured window begins: a line for the caller (it reads the server's CPU counters there)
      setTimeout(() => {
        const u = process.cpuUsage();
        measureCpu = (u.user + u.system) / 1e6;
        measuring = true;
        console.log(JSON.stringify({ event: "measuring", cpu_s: measureCpu }));
      }, 50 + warmup * 1000);
    }
  });
}
