#!/usr/bin/env node
// `npm run bench`: throughput and latency of the real server, next to a bare
// oidc-provider (the ceiling). Prints numbers; asserts nothing, and is never
// part of the test suite.
//
//   node scripts/bench/run.mjs [--duration 10] [--connections 16] [--warmup 2]
//                              [--only token,introspect,me,buy,flow_fresh,flow_sso] [--workers 1,2]
//                              [--json] [--no-build] [--cpu-prof DIR] [--keep]
//                              [--node-flags="--flag ..."] [--server-env NAME=VALUE]...   (experiments)
//
// What it does, in order:
//  1. `npm run build` (skip with --no-build), a temporary directory with its
//     own SQLite file, free loopback ports;
//  2. a client, a user and a catalog item through the command line
//     (`npm run --silent client:create|user:create|item:create`), before the
//     server starts, against the same DATABASE_URL/DATA_DIR;
//  3. the server as production runs it, `node dist/src/main.js`, as a child
//     process (NODE_ENV=production with generated COOKIE_KEYS/SECRET_KEY);
//     start-to-healthy is from spawn to the first 200 of /healthz;
//  4. the ceiling (scripts/bench/ceiling.mjs) as a second child process;
//  5. per scenario: tokens through the real authorization code flow over
//     HTTP, a sanity request, a warm-up, then a fixed-duration run with
//     autocannon (single requests) or N concurrent workers (flows), ours
//     first, then the ceiling, never both at once;
//  6. peak RSS (VmHWM) of the server from /proc, then both children stopped.
// Every child process is killed at the end, also on errors and Ctrl-C.
//
// --connections defaults to 16, the concurrency the performance issue
// measured with (wrk -c16); flows run that many browsers in parallel. As
// they all sign in the one bench user, the server gets
// LOGIN_MAX_FAILURES_PER_USER = 2 × connections (at 10, the default, 16
// concurrent fresh logins were partly throttled).
//
// --workers 1,2 starts one server per count (WORKERS=n, src/workers.ts), each
// on its own port over the same SQLite file, all before the first scenario;
// each scenario then loads them one after the other (never two at once), then
// the ceiling, so the counts compare under the same background load minutes
// apart. One row per count, with its req/s over the first count's ("vs 1w").
// The comparison is opt-in (default: 1) because it adds a server and a run
// per scenario per count, and the default run answers a different question
// (us against the ceiling). With WORKERS > 1 the server pid is the cluster
// primary: CPU time and RSS are summed over it and every descendant (found
// by scanning /proc for ppid; /proc/<pid>/task/*/children needs a kernel
// option this machine lacks), and the peak RSS is given per process too. The
// sum of per-process peaks is an upper bound of the tree's peak, and counts
// shared pages (Node's code, libraries) once per process.
import { spawn, execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { randomBytes, scrypt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
// The same cookie-keeping browser the tests use (tsx runs this file, so it can import TypeScript).
import { UserAgent, authorize } from '../../tests/helpers/user-agent.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCENARIOS = ['token', 'introspect', 'me', 'buy', 'flow_fresh', 'flow_sso'];
const SCOPE = 'profile buy buy_history';
const REDIRECT_URI = 'http://127.0.0.1:9/bench/cb'; // never contacted: the user agent stops there
const PASSWORD = 'bench correct horse battery';
// Issue 11's targets: each API figure and the code flow with a session at
// half the bare library's or better, one worker's peak RSS, start to healthy.
const TARGETS = { ratio: 0.5, rssMb: 150, startMs: 1000 };

// ---------------------------------------------------------------- options

const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    workers: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '2' },
    only: { type: 'string', multiple: true },
    json: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'node-flags': { type: 'string' },
    'server-env': { type: 'string', multiple: true },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (opt.help) {
  process.stdout.write(
    `${readFileSync(fileURLToPath(import.meta.url), 'utf8')
      .split('\n')
      .slice(1, 10)
      .map((l) => l.replace(/^\/\/ ?/, ''))
      .join('\n')}\n`,
  );
  process.exit(0);
}
const duration = Number(opt.duration);
const connections = Number(opt.connections);
const warmup = Number(opt.warmup);
if (!(duration > 0) || !(Number.isInteger(connections) && connections > 0) || !(warmup >= 0)) {
  process.stderr.write('--duration and --warmup must be seconds, --connections a positive integer\n');
  process.exit(2);
}
const only = opt.only
  ? opt.only
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter(Boolean)
  : SCENARIOS;
for (const name of only) {
  if (!SCENARIOS.includes(name)) {
    process.stderr.write(`--only: unknown scenario "${name}"; one of ${SCENARIOS.join(', ')}\n`);
    process.exit(2);
  }
}
const workerCounts = [
  ...new Set(
    opt.workers
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(Number),
  ),
];
if (!workerCounts.length || !workerCounts.every((n) => Number.isInteger(n) && n >= 1 && n <= 64)) {
  process.stderr.write('--workers wants a list of worker counts from 1 to 64, e.g. 1,2\n');
  process.exit(2);
}
const cpuProfDir = opt['cpu-prof'] ? resolve(opt['cpu-prof']) : undefined;

// Progress and the human table go to stderr when --json owns stdout.
const say = (line) => process.stderr.write(`${line}\n`);
const out = (text) => (opt.json ? process.stderr : process.stdout).write(text);

// ---------------------------------------------------------------- child processes

const children = new Set();
let scratchDir; // removed at exit unless --keep
process.on('exit', () => {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  if (scratchDir && !opt.keep) rmSync(scratchDir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    say(`\n${signal}: stopping child processes`);
    process.exit(130);
  });
}

function spawnChild(label, command, args, options) {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.tail = [];
  const keep = (chunk) => {
    child.tail.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (child.tail.length > 40) child.tail.splice(0, child.tail.length - 40);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.exited = new Promise((resolveExit) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      child.exitInfo = { code, signal };
      resolveExit(child.exitInfo);
    }),
  );
  child.label = label;
  return child;
}

async function stopChild(child, graceMs = 20_000) {
  if (!children.has(child)) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

const run = promisify(execFile);

async function cli(env, ...args) {
  try {
    const { stdout } = await run('npm', ['run', '--silent', ...args], { cwd: ROOT, env, maxBuffer: 1 << 20 });
    return JSON.parse(stdout);
  } catch (err) {
    throw new Error(`npm run ${args.join(' ')} failed: ${err.stderr || err.message}`);
  }
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

async function waitHealthy(child, origin, started, timeoutMs = 30_000) {
  for (;;) {
    if (child.exitInfo)
      throw new Error(
        `${child.label} exited (${JSON.stringify(child.exitInfo)}) before it was healthy:\n${child.tail.join('\n')}`,
      );
    try {
      const res = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - started;
    } catch {
      // not listening yet
    }
    if (performance.now() - started > timeoutMs)
      throw new Error(`${child.label} not healthy after ${timeoutMs} ms:\n${child.tail.join('\n')}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function procStatus(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return { peakRssMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
  } catch {
    return { peakRssMb: NaN, rssMb: NaN };
  }
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] state, [1] ppid, [11] utime, [12] stime. */
function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** `pid` and all its descendants (a cluster primary and its workers), by scanning /proc for ppid. */
function processTree(pid) {
  const childrenOf = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = Number(statFields(entry)?.[1]);
    if (!childrenOf.has(ppid)) childrenOf.set(ppid, []);
    childrenOf.get(ppid).push(Number(entry));
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(childrenOf.get(tree[i]) ?? []));
  return tree;
}

/** Memory of a process tree: the sums and each process's own figures. */
function treeStatus(pids) {
  const each = pids.map((pid) => ({ pid, ...procStatus(pid) }));
  const sum = (key) => each.reduce((total, p) => total + p[key], 0);
  return { peakRssMb: sum('peakRssMb'), rssMb: sum('rssMb'), each };
}

/** CPU time (user + system, all threads) the processes have used, in ms. */
function cpuMs(pids) {
  let total = 0;
  for (const pid of pids) {
    const fields = statFields(pid);
    if (!fields) return NaN;
    total += ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100)
  }
  return total;
}

/**
 * Once a server answers /healthz: its processes (with WORKERS > 1, the primary
 * and every worker, the others starting after the lead serves), once all are
 * up and the tree has gone quiet (under 0.1 core for 250 ms), so that idle
 * RSS and the first measurement see every worker serving.
 */
async function waitSettled(child, workers, timeoutMs = 30_000) {
  const expected = workers === 1 ? 1 : workers + 1;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const pids = processTree(child.pid);
    if (pids.length >= expected) {
      const cpu0 = cpuMs(pids);
      await new Promise((r) => setTimeout(r, 250));
      if (cpuMs(pids) - cpu0 < 25) return pids;
    } else await new Promise((r) => setTimeout(r, 100));
    if (child.exitInfo)
      throw new Error(`${child.label} exited (${JSON.stringify(child.exitInfo)}):\n${child.tail.join('\n')}`);
    if (performance.now() > deadline)
      throw new Error(`${child.label}: ${pids.length} of ${expected} processes, or still busy, after ${timeoutMs} ms`);
  }
}

/** The processes under load in the current run (a server and its workers), whose CPU time the measured runs report. */
let measuredPids = [];

// ---------------------------------------------------------------- OAuth helpers

const basic = (client) =>
  `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`;

function authorizationUrl(target) {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: target.client.client_id,
    scope: SCOPE,
    state: randomBytes(8).toString('hex'),
  });
  return `${target.origin}/oauth/authorize?${q}`;
}

async function exchange(target, callback) {
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code at the redirect URI: ${callback.href}`);
  const res = await fetch(`${target.origin}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic(target.client), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code }),
  });
  const body = await res.json();
  if (res.status !== 200 || typeof body.access_token !== 'string')
    throw new Error(`code exchange: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

/** A fresh access token through the whole code flow, as a new browser. */
async function codeFlowToken(target) {
  const ua = new UserAgent(target.origin);
  const { callback } = await authorize(ua, authorizationUrl(target), target.user);
  return exchange(target, callback);
}

// ---------------------------------------------------------------- measuring

const round = (n, digits = 1) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);

/**
 * autocannon for `duration` seconds after a warm-up. req/s counts 2xx only.
 * Latencies come from autocannon's per-response event (float ms; its own
 * histogram truncates to whole milliseconds).
 */
async function cannon({ origin, path, method = 'GET', headers = {}, body, setupRequest }) {
  const once = (seconds, latencies) =>
    new Promise((resolveRun, reject) => {
      const instance = autocannon(
        {
          url: `${origin}${path}`,
          connections,
          duration: seconds,
          timeout: 30,
          requests: [{ method, path, headers, body, ...(setupRequest ? { setupRequest } : {}) }],
        },
        (err, result) => (err ? reject(err) : resolveRun(result)),
      );
      if (latencies) {
        instance.on('response', (_client, statusCode, _bytes, responseTime) => {
          if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
        });
      }
    });
  if (warmup > 0) await once(warmup);
  const latencies = [];
  const cpu0 = cpuMs(measuredPids);
  const r = await once(duration, latencies);
  const cpu = cpuMs(measuredPids) - cpu0;
  latencies.sort((a, b) => a - b);
  return {
    cpuMsPerRequest: cpu / (r['2xx'] + r.non2xx),
    cpuCores: cpu / (r.duration * 1000),
    rps: r['2xx'] / r.duration,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    requests: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

const percentile = (sorted, q) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] : NaN;

/**
 * Sequential request chains: `connections` workers, each repeating its flow
 * until the time is up. Workers are set up (e.g. signed in) before the clock starts.
 */
async function flowLoop(makeWorker) {
  const workers = await Promise.all(Array.from({ length: connections }, (_, i) => makeWorker(i)));
  const loop = async (seconds) => {
    const latencies = [];
    let errors = 0;
    let firstError;
    const started = performance.now();
    const deadline = started + seconds * 1000;
    await Promise.all(
      workers.map(async (flow) => {
        while (performance.now() < deadline) {
          const t0 = performance.now();
          try {
            await flow();
            latencies.push(performance.now() - t0);
          } catch (err) {
            errors++;
            firstError ??= err;
          }
        }
      }),
    );
    return { latencies, errors, firstError, elapsed: (performance.now() - started) / 1000 };
  };
  if (warmup > 0) await loop(warmup);
  const cpu0 = cpuMs(measuredPids);
  const { latencies, errors, firstError, elapsed } = await loop(duration);
  const cpu = cpuMs(measuredPids) - cpu0;
  if (firstError) say(`  first error: ${firstError.message}`);
  latencies.sort((a, b) => a - b);
  return {
    cpuMsPerRequest: cpu / latencies.length,
    cpuCores: cpu / (elapsed * 1000),
    rps: latencies.length / elapsed,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    requests: latencies.length,
    non2xx: 0,
    errors,
  };
}

async function expectOk(what, res, check = () => true) {
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  if (res.status !== 200 || !check(body))
    throw new Error(`${what}: sanity check failed: ${res.status} ${text.slice(0, 300)}`);
  return body;
}

// ---------------------------------------------------------------- scenarios

/** Each scenario: how to measure it on our server, and on the ceiling (or null). */
const scenarioDefs = {
  token: {
    title: 'POST /oauth/token client_credentials',
    ceilingNote: 'bare provider, same request',
    target: 'ratio',
    async measure(t) {
      const headers = { authorization: basic(t.client), 'content-type': 'application/x-www-form-urlencoded' };
      const body = 'grant_type=client_credentials&scope=buy';
      await expectOk(
        `${t.name} token`,
        await fetch(`${t.origin}/oauth/token`, { method: 'POST', headers, body }),
        (b) => typeof b.access_token === 'string',
      );
      return cannon({ origin: t.origin, path: '/oauth/token', method: 'POST', headers, body });
    },
  },
  introspect: {
    title: 'POST /oauth/introspect (access token)',
    ceilingNote: 'bare provider, same request',
    target: 'ratio',
    async measure(t) {
      const token = await codeFlowToken(t);
      const headers = { authorization: basic(t.client), 'content-type': 'application/x-www-form-urlencoded' };
      const body = new URLSearchParams({ token, token_type_hint: 'access_token' }).toString();
      await expectOk(
        `${t.name} introspection`,
        await fetch(`${t.origin}/oauth/introspect`, { method: 'POST', headers, body }),
        (b) => b.active === true,
      );
      return cannon({ origin: t.origin, path: '/oauth/introspect', method: 'POST', headers, body });
    },
  },
  me: {
    title: 'GET /api/me (opaque token)',
    ceilingNote: 'bare provider.AccessToken.find(token) in a provider.use route',
    target: 'ratio',
    async measure(t) {
      const token = await codeFlowToken(t);
      const path = t.name === 'ours' ? '/api/me' : '/bench/me';
      const headers = { authorization: `Bearer ${token}` };
      await expectOk(`${t.name} ${path}`, await fetch(`${t.origin}${path}`, { headers }), (b) => b.code === 0);
      return cannon({ origin: t.origin, path, headers });
    },
  },
  buy: {
    title: 'POST /api/items/buy (fresh tx_id each)',
    ceilingNote: null,
    target: null,
    ceiling: false,
    async measure(t) {
      const token = await codeFlowToken(t);
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const prefix = randomBytes(4).toString('hex');
      let n = 0;
      const order = () =>
        JSON.stringify({ item_id: 'ITEM_001', tx_id: `${prefix}-${++n}`, buy_at: '2023-09-01 13:22:22' });
      await expectOk(
        `${t.name} buy`,
        await fetch(`${t.origin}/api/items/buy`, { method: 'POST', headers, body: order() }),
        (b) => b.code === 0,
      );
      return cannon({
        origin: t.origin,
        path: '/api/items/buy',
        method: 'POST',
        headers,
        setupRequest: (req) => ({ ...req, body: order() }),
      });
    },
  },
  flow_fresh: {
    title: 'code flow, fresh login each (flows/s)',
    ceilingNote: 'bare provider, auto sign-in without a password',
    target: null,
    async measure(t) {
      // The first flow of this user also consents; afterwards consent is remembered.
      await codeFlowToken(t);
      return flowLoop(() => async () => {
        const ua = new UserAgent(t.origin);
        const { callback, shown } = await authorize(ua, authorizationUrl(t), t.user);
        if (t.name === 'ours' && shown.join() !== 'login')
          throw new Error(`expected only the login page, saw: ${shown.join(', ') || 'none'}`);
        await exchange(t, callback);
      });
    },
  },
  flow_sso: {
    title: 'code flow, existing session (SSO) (flows/s)',
    ceilingNote: 'bare provider, same session reuse',
    target: 'ratio',
    async measure(t) {
      return flowLoop(async () => {
        // One browser per worker, signed in once before the clock starts.
        const ua = new UserAgent(t.origin);
        await exchange(t, (await authorize(ua, authorizationUrl(t), t.user)).callback);
        return async () => {
          const { callback, shown } = await authorize(ua, authorizationUrl(t));
          if (shown.length) throw new Error(`expected no pages with a session, saw: ${shown.join(', ')}`);
          await exchange(t, callback);
        };
      });
    },
  },
};

// ---------------------------------------------------------------- main

async function scryptMs() {
  // The password KDF exactly as src/accounts/password.ts runs it.
  const s = promisify(scrypt);
  const salt = randomBytes(16);
  await s('warm up', salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 256 * 2 ** 15 * 8 });
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) await s(PASSWORD, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 256 * 2 ** 15 * 8 });
  return (performance.now() - t0) / 5;
}

function fmt(n, digits = 1) {
  return Number.isFinite(n) ? n.toFixed(digits) : '—';
}
/** Latencies: two decimals below 10 ms. */
const fmtMs = (n) => fmt(n, n < 10 ? 2 : 1);

/** A scenario's name, with its worker count when the run compares several. */
const rowName = (r) => (workerCounts.length > 1 ? `${r.name} ${r.workers}w` : r.name);

function table(rows) {
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'ceiling req/s', 'ratio', 'target', 'met?'];
  const body = rows.map((r) => [
    rowName(r),
    fmt(r.rps),
    fmtMs(r.p50),
    fmtMs(r.p99),
    r.ceiling ? fmt(r.ceiling.rps) : '—',
    r.ratio === null ? '—' : fmt(r.ratio, 2),
    r.target ?? '—',
    r.met === null ? '—' : r.met ? 'yes' : 'NO',
  ]);
  return markdown(header, body);
}

/** --workers: one row per scenario and count; req/s over the first count's, and memory per process. */
function workersTable(rows) {
  const base = workerCounts[0];
  const header = [
    'scenario',
    'workers',
    'req/s',
    `vs ${base}w`,
    'p50 ms',
    'p99 ms',
    'CPU ms/req',
    'cores busy',
    'RSS MB (sum)',
    'RSS MB per process',
  ];
  const body = rows.map((r) => {
    const baseRow = rows.find((b) => b.name === r.name && b.workers === base);
    return [
      r.name,
      r.workers,
      fmt(r.rps),
      r.workers === base || !baseRow ? '—' : fmt(r.rps / baseRow.rps, 2),
      fmtMs(r.p50),
      fmtMs(r.p99),
      fmt(r.cpuMsPerRequest, 2),
      fmt(r.cpuCores, 2),
      fmt(r.serverRssMb, 0),
      r.serverRssEachMb?.map((mb) => fmt(mb, 0)).join(' + ') ?? '—',
    ];
  });
  return markdown(header, body);
}

function markdown(header, body) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => String(row[i]).length)));
  const line = (cells) =>
    `| ${cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w, i) => (i === 0 ? ':' : '') + '-'.repeat(w + 1) + (i === 0 ? '' : ':')).join('|')}|`,
    ...body.map(line),
  ].join('\n');
}

async function main() {
  const os = await import('node:os');
  const loadBefore = os.loadavg()[0];
  if (loadBefore > 0.5)
    say(
      `note: load average ${loadBefore.toFixed(2)} before the start: other processes are using the CPUs, and the numbers will show it`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'oidc-bench-'));
  scratchDir = dir;
  const result = {
    options: { duration, connections, warmup, only, workers: workerCounts, cpuProf: cpuProfDir ?? null },
    machine: {},
    scenarios: [],
  };
  /** One server per --workers count: { workers, child, origin, pids, startMs, idle }. */
  const servers = [];
  let ceiling;
  try {
    if (!opt['no-build']) {
      say('building (npm run build)…');
      await run('npm', ['run', '--silent', 'build'], { cwd: ROOT, maxBuffer: 16 << 20 }).catch((err) => {
        throw new Error(`npm run build failed:\n${err.stdout}${err.stderr}`);
      });
    }

    // The command line gets the first server's port and issuer; each server gets its own below.
    const [port, ceilingPort] = [await freePort(), await freePort()];
    const origin = `http://127.0.0.1:${port}`;
    const ceilingOrigin = `http://127.0.0.1:${ceilingPort}`;
    const env = {
      ...process.env,
      NODE_ENV: 'production',
      COOKIE_KEYS: randomBytes(32).toString('base64url'),
      SECRET_KEY: randomBytes(32).toString('base64url'),
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: origin,
      DATABASE_URL: `file:${join(dir, 'bench.db')}`,
      DATA_DIR: dir,
      SEED_DEMO: 'false',
      LOG_LEVEL: 'warn',
      PURGE_INTERVAL: '0',
      API_MODE: 'in-process',
    };
    delete env.NODE_OPTIONS;
    // flow_fresh signs the one bench user in from `connections` browsers at once, and every attempt counts
    // against the per-user login limit (10) until its scrypt succeeds: with 16 browsers some would be
    // throttled. Only the limit moves; no check is skipped.
    // --server-env NAME=VALUE: extra environment for the server child only (experiments).
    const serverEnv = { ...env, LOGIN_MAX_FAILURES_PER_USER: String(Math.max(10, 2 * connections)) };
    for (const pair of opt['server-env'] ?? []) {
      const eq = pair.indexOf('=');
      if (eq < 1) throw new Error(`--server-env wants NAME=VALUE, got ${pair}`);
      if (pair.slice(0, eq) === 'WORKERS') throw new Error('--server-env WORKERS=…: use --workers');
      serverEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
    }

    say(`preparing ${dir} through the command line…`);
    // The first command creates the database (migrations) and the signing keys.
    const client = await cli(
      env,
      'client:create',
      '--',
      '--name',
      'bench',
      '--redirect-uri',
      REDIRECT_URI,
      '--grant-type',
      'authorization_code',
      '--grant-type',
      'refresh_token',
      '--grant-type',
      'client_credentials',
      '--auth-method',
      'client_secret_basic',
    );
    const user = { username: 'bench', password: PASSWORD };
    await cli(
      env,
      'user:create',
      '--',
      '--username',
      user.username,
      '--password',
      user.password,
      '--server-id',
      'bench_server',
    );
    await cli(
      env,
      'item:create',
      '--',
      '--item-id',
      'ITEM_001',
      '--name',
      '品項1',
      '--img-url',
      'https://img.example.com/img/item_001.png',
      '--amount',
      '100',
    );

    const scryptCost = await scryptMs();

    if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
    // The V8 flags `npm start` runs the server with (package.json), so the bench measures what production runs.
    const startScript = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start;
    const productionFlags = (/node ((?:--\S+ )*)dist\/src\/main\.js/.exec(startScript)?.[1] ?? '')
      .split(/\s+/)
      .filter(Boolean);
    const nodeFlags = [
      ...productionFlags,
      ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []),
      ...(opt['node-flags'] ? opt['node-flags'].split(/\s+/).filter(Boolean) : []),
    ];
    // One after the other, each settled before the next starts, so no two start (and migrate) at once.
    for (const [i, workers] of workerCounts.entries()) {
      const serverPort = i === 0 ? port : await freePort();
      const serverOrigin = `http://127.0.0.1:${serverPort}`;
      const label = workerCounts.length > 1 ? `server ${workers}w` : 'server';
      say(`starting the ${label}: WORKERS=${workers} node [npm start's flags] dist/src/main.js`);
      const started = performance.now();
      const child = spawnChild(label, process.execPath, [...nodeFlags, join(ROOT, 'dist/src/main.js')], {
        cwd: ROOT,
        env: { ...serverEnv, PORT: String(serverPort), ISSUER: serverOrigin, WORKERS: String(workers) },
      });
      const server = { workers, child, origin: serverOrigin, pids: [child.pid] };
      servers.push(server);
      server.startMs = await waitHealthy(child, serverOrigin, started);
      server.pids = await waitSettled(child, workers);
      server.idle = treeStatus(server.pids);
      say(
        `  healthy after ${server.startMs.toFixed(0)} ms (pids ${server.pids.join(', ')}); RSS when idle ${fmt(server.idle.rssMb)} MB${server.pids.length > 1 ? ` (${server.idle.each.map((p) => fmt(p.rssMb, 0)).join(' + ')})` : ''}`,
      );
    }

    say('starting the ceiling: scripts/bench/ceiling.mjs');
    const ceilingEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PORT: String(ceilingPort),
      CLIENT_ID: client.client_id,
      CLIENT_SECRET: client.client_secret,
      REDIRECT_URI,
    };
    const started = performance.now();
    ceiling = spawnChild('ceiling', process.execPath, [join(ROOT, 'scripts/bench/ceiling.mjs')], {
      cwd: ROOT,
      env: ceilingEnv,
    });
    const ceilingStartMs = await waitHealthy(ceiling, ceilingOrigin, started);

    const ceilingTarget = { name: 'ceiling', origin: ceilingOrigin, client, user: {} };

    for (const name of only) {
      const def = scenarioDefs[name];
      say(
        `${name}: ${def.title} — ${duration}s, ${connections} connections${warmup ? `, after ${warmup}s warm-up` : ''}`,
      );
      const rows = [];
      for (const server of servers) {
        const row = {
          name,
          workers: server.workers,
          title: def.title,
          ceilingIs: def.ceiling === false ? null : def.ceilingNote,
          target: null,
          met: null,
          ratio: null,
          ceiling: null,
        };
        rows.push(row);
        // Peak RSS of the server while this scenario ran (sampled), to see which load grows it: the sum over
        // its processes, and each process's own.
        const peak = { sum: 0, each: server.pids.map(() => 0) };
        const sample = () => {
          const now = treeStatus(server.pids);
          peak.sum = Math.max(peak.sum, now.rssMb);
          now.each.forEach((p, k) => {
            peak.each[k] = Math.max(peak.each[k], p.rssMb);
          });
        };
        sample();
        const sampler = setInterval(sample, 100);
        const who = workerCounts.length > 1 ? `ours ${server.workers}w:` : 'ours:   ';
        try {
          measuredPids = server.pids;
          const ours = await def.measure({ name: 'ours', origin: server.origin, client, user });
          clearInterval(sampler);
          sample();
          row.serverRssMb = peak.sum;
          row.serverRssEachMb = peak.each;
          Object.assign(row, ours);
          say(
            `  ${who} ${fmt(ours.rps)}/s  p50 ${fmtMs(ours.p50)} ms  p99 ${fmtMs(ours.p99)} ms  CPU ${fmt(ours.cpuMsPerRequest, 2)} ms/req (${fmt(ours.cpuCores, 2)} cores)  RSS up to ${fmt(peak.sum, 0)} MB${peak.each.length > 1 ? ` (${peak.each.map((mb) => fmt(mb, 0)).join(' + ')})` : ''}${ours.non2xx || ours.errors ? `  (non-2xx ${ours.non2xx}, errors ${ours.errors})` : ''}`,
          );
        } catch (err) {
          row.error = err.message.replace(/\s+/g, ' ').slice(0, 300);
          say(`  FAILED: ${err.message}`);
        } finally {
          clearInterval(sampler);
        }
      }
      // The ceiling once per scenario, after every server, and each row's ratio to it.
      if (def.ceiling !== false && rows.some((r) => !r.error)) {
        try {
          measuredPids = processTree(ceiling.pid);
          const c = await def.measure(ceilingTarget);
          for (const row of rows) {
            row.ceiling = c;
            row.ratio = row.error ? null : row.rps / c.rps;
          }
          say(
            `  ceiling: ${fmt(c.rps)}/s  p50 ${fmtMs(c.p50)} ms  p99 ${fmtMs(c.p99)} ms  CPU ${fmt(c.cpuMsPerRequest, 2)} ms/req (${fmt(c.cpuCores, 2)} cores)${c.non2xx || c.errors ? `  (non-2xx ${c.non2xx}, errors ${c.errors})` : ''}`,
          );
        } catch (err) {
          for (const row of rows) row.error ??= `ceiling: ${err.message.replace(/\s+/g, ' ').slice(0, 290)}`;
          say(`  ceiling FAILED: ${err.message}`);
        }
      }
      for (const row of rows) {
        if (def.target === 'ratio') {
          row.target = `>= ${TARGETS.ratio}x`;
          row.met = !row.error && row.ratio >= TARGETS.ratio && !row.non2xx && !row.errors;
        } else if (row.error) row.met = def.target ? false : null;
        result.scenarios.push(row);
      }
    }

    const ceilingMem = procStatus(ceiling.pid);
    result.servers = servers.map((server) => {
      // Each process's own peak (VmHWM); their sum is an upper bound of the whole's.
      const mem = treeStatus(server.pids);
      return {
        command: `WORKERS=${server.workers} node dist/src/main.js`,
        workers: server.workers,
        pids: server.pids,
        startToHealthyMs: round(server.startMs, 0),
        startTarget: `<= ${TARGETS.startMs} ms`,
        startMet: server.startMs <= TARGETS.startMs,
        nodeFlags,
        extraEnv: opt['server-env'] ?? [],
        rssIdleAfterStartMb: round(server.idle.rssMb),
        peakRssMb: round(mem.peakRssMb),
        peakRssEachMb: mem.each.map((p) => round(p.peakRssMb)),
        rssAtEndMb: round(mem.rssMb),
        rssTarget: `<= ${TARGETS.rssMb} MB`,
        rssMet: mem.peakRssMb <= TARGETS.rssMb,
      };
    });
    result.ceiling = {
      what: 'bare oidc-provider 9 (scripts/bench/ceiling.mjs): in-memory adapter, static client, provider.listen(), same routes, client_secret_basic, resource indicators with opaque tokens for the API, same TTLs',
      startToHealthyMs: round(ceilingStartMs, 0),
      peakRssMb: round(ceilingMem.peakRssMb),
    };
    result.machine = {
      cpus: os.availableParallelism(),
      node: process.version,
      loadAverageBefore: round(loadBefore, 2),
      loadAverageAfter: round(os.loadavg()[0], 2),
      note: 'load generator, server and ceiling share these cores',
    };
    result.scrypt = {
      msPerHash: round(scryptCost),
      note: `a fresh login runs scrypt N=2^15 r=8 p=1 once (${fmt(scryptCost)} ms of CPU here); with ${result.machine.cpus} cores that alone caps logins near ${fmt((result.machine.cpus * 1000) / scryptCost, 0)}/s, and it dominates flow_fresh`,
    };

    say('stopping the servers and the ceiling…');
    await Promise.all([...servers.map((server) => stopChild(server.child)), stopChild(ceiling)]);
    for (const [k, { child }] of servers.entries()) {
      if (child.exitInfo?.code) say(`${child.label} exit: ${JSON.stringify(child.exitInfo)}\n${child.tail.join('\n')}`);
      const warnings = child.tail.filter((l) => /"level":(40|50|60)/.test(l));
      if (warnings.length) result.servers[k].logTail = warnings.slice(-5);
    }
  } finally {
    await Promise.all([...servers.map((server) => stopChild(server.child, 5000)), ceiling && stopChild(ceiling, 5000)]);
    if (!opt.keep) rmSync(dir, { recursive: true, force: true });
    else say(`kept ${dir}`);
  }

  // ------------------------------------------------------------ report
  const rows = result.scenarios;
  const lines = [
    '',
    `oidc-provider-koa bench: ${duration}s per run, ${connections} connections (or browsers, for flows), ${warmup}s warm-up; ${result.machine.cpus} CPUs shared by load generator, server and ceiling; node ${result.machine.node}; load average ${result.machine.loadAverageBefore} before, ${result.machine.loadAverageAfter} after`,
    '',
    table(rows),
    '',
    ...(workerCounts.length > 1
      ? [
          `workers ${workerCounts[0]} against ${workerCounts.slice(1).join(', ')}: req/s over the ${workerCounts[0]}-worker row; CPU and RSS summed over the primary and its workers (RSS per process: primary first)`,
          '',
          workersTable(rows),
          '',
        ]
      : []),
    ...result.servers.map(
      (s) =>
        `peak RSS of the server${workerCounts.length > 1 ? ` with ${s.workers}w` : ''} (VmHWM${s.pids.length > 1 ? ', sum of primary + workers' : ''}): ${fmt(s.peakRssMb)} MB${s.pids.length > 1 ? ` (${s.peakRssEachMb.map((mb) => fmt(mb, 0)).join(' + ')})` : ''} (target ${s.rssTarget}: ${s.rssMet ? 'met' : 'NOT met'}); idle after start ${fmt(s.rssIdleAfterStartMb)} MB; at the end ${fmt(s.rssAtEndMb)} MB`,
    ),
    `the ceiling's peak RSS: ${fmt(result.ceiling.peakRssMb)} MB`,
    ...result.servers.map(
      (s) =>
        `start to healthy${workerCounts.length > 1 ? ` with ${s.workers}w` : ''} (spawn of node dist/src/main.js to first /healthz 200, migrated database): ${s.startToHealthyMs} ms (target ${s.startTarget}: ${s.startMet ? 'met' : 'NOT met'})`,
    ),
    '',
    'scenarios:',
    ...rows.map(
      (r) =>
        `  ${rowName(r).padEnd(10)} ${r.title}${r.ceilingIs ? `; ceiling: ${r.ceilingIs}` : '; no ceiling'}` +
        `${r.error ? ` [FAILED: ${r.error}]` : ''}${r.non2xx || r.errors ? ` [non-2xx ${r.non2xx}, errors ${r.errors}]` : ''}\n` +
        `  ${''.padEnd(10)} server CPU ${fmt(r.cpuMsPerRequest, 2)} ms per ${r.name.startsWith('flow') ? 'flow' : 'request'} (${fmt(r.cpuCores, 2)} cores busy)` +
        `${r.ceiling ? `; ceiling ${fmt(r.ceiling.cpuMsPerRequest, 2)} ms (${fmt(r.ceiling.cpuCores, 2)} cores)` : ''}; server RSS up to ${fmt(r.serverRssMb, 0)} MB`,
    ),
    `the ceiling: ${result.ceiling.what}`,
    `flows: ${connections} browsers each repeating the chain (authorize, login page, POST login, redirect back, code exchange; SSO: authorize and code exchange); latency is per whole flow`,
    `flow_fresh: ${result.scrypt.note}; the ceiling signs in without a password, so that ratio shows the cost of the KDF and our pages, not a target`,
    '',
  ];
  out(lines.join('\n'));
  if (opt.json)
    process.stdout.write(`${JSON.stringify(result, (_key, v) => (typeof v === 'number' ? round(v, 2) : v), 2)}\n`);
}

main().catch((err) => {
  say(`bench failed: ${err.stack || err.message}`);
  process.exitCode = 1;
});
