// WORKERS=2 on SQLite: one port, two worker processes behind node:cluster's
// primary (src/workers.ts), the real server (src/main.ts) as a child process.
// Which worker answered a request is read from its request log line (each
// worker's lines carry its pid), found by the X-Request-Id the response
// carries. Every request below goes on a connection of its own
// (`connection: close`), so the primary deals them out to both workers.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STACK, basic, readResponse, type ApiResponse } from './helpers/http.js';
import {
  cliClient,
  cliUser,
  freePort,
  killAllChildren,
  spawnServer,
  waitFor,
  type Person,
  type Registered,
  type ServerProcess,
} from './helpers/processes.js';
import { UserAgent, authorize } from './helpers/user-agent.js';
import { testDatabase, type TestDatabase } from './helpers/database.js';

const REDIRECT_URI = 'http://127.0.0.1:9999/cb';
const FRESH = { connection: 'close' };
const METRICS_TOKEN = randomBytes(16).toString('hex');

let dir: string;
let database: TestDatabase | undefined;
let server: ServerProcess;
let env: Record<string, string>;
let workerPids: number[];

/** The pid of the worker that answered: from its request log line with this response's X-Request-Id. */
async function answeredBy(res: { headers: Headers }): Promise<number> {
  const id = res.headers.get('x-request-id');
  let pid: number | undefined;
  await waitFor(
    `the request log line of ${id}`,
    async () => {
      for (const line of server.stdout().split('\n')) {
        if (!line.includes(`"reqId":"${id}"`)) continue;
        pid = (JSON.parse(line) as { pid?: number }).pid;
        return true;
      }
      return false;
    },
    5000,
    20,
  );
  if (pid === undefined) throw new Error(`request ${id} logged without a pid`);
  return pid;
}

/** Records the X-Request-Id of every answer, on a fresh connection each. */
class RecordingAgent extends UserAgent {
  readonly ids: string[] = [];
  override async request(...args: Parameters<UserAgent['request']>): Promise<Response> {
    const res = await super.request(...args);
    this.ids.push(res.headers.get('x-request-id') ?? '');
    return res;
  }
}

async function redeem(client: Registered, code: string): Promise<ApiResponse> {
  const res = await fetch(`${server.base}/oauth/token`, {
    method: 'POST',
    headers: { ...FRESH, authorization: basic(client), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }),
  });
  return readResponse(res);
}

/** A code from a fresh browser (signs in and allows), and the pid of the worker whose redirect carried it. */
async function code(client: Registered, user: Person): Promise<{ value: string; issuedBy: number; seen: number[] }> {
  const browser = new RecordingAgent(server.base, FRESH);
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile buy',
    state: randomBytes(8).toString('hex'),
  });
  const { callback } = await authorize(browser, `/oauth/authorize?${params}`, {
    username: user.username,
    password: user.password,
    consent: 'allow',
  });
  const value = callback.searchParams.get('code');
  if (!value) throw new Error(`no code: ${callback.href}`);
  const seen = await Promise.all(browser.ids.map((id) => answeredBy({ headers: new Headers({ 'x-request-id': id }) })));
  return { value, issuedBy: seen[seen.length - 1]!, seen };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'oidc-workers-'));
  database = await testDatabase(dir, 'app.db');
  env = {
    WORKERS: '2',
    DATABASE_URL: database.url,
    DATA_DIR: dir,
    LOG_LEVEL: 'info',
    COOKIE_KEYS: randomBytes(32).toString('base64url'),
    SECRET_KEY: randomBytes(32).toString('base64url'),
    METRICS_TOKEN: METRICS_TOKEN,
  };
  // A first start on an empty database: the demo is seeded (SEED_DEMO's default outside production).
  server = await spawnServer(env, { healthTimeoutMs: 40_000 });
  await waitFor('both workers serving', async () => server.stdout().includes('"msg":"workers serving"'), 40_000);
  const line = server
    .stdout()
    .split('\n')
    .find((l) => l.includes('"msg":"workers serving"'));
  workerPids = (JSON.parse(line ?? '{}') as { pids: number[] }).pids;
}, 90_000);

afterAll(async () => {
  await killAllChildren();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

test('a first start prints the demo credentials once, and two workers serve, neither of them the primary', () => {
  expect(server.stdout().match(/First start: created a demo account/g)).toHaveLength(1);
  expect(workerPids).toHaveLength(2);
  expect(new Set(workerPids).size).toBe(2);
  expect(workerPids).not.toContain(server.child.pid);
});

test('requests on new connections are answered by both workers', async () => {
  const pids = [];
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${server.base}/healthz`, { headers: FRESH });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    pids.push(await answeredBy(res));
  }
  expect(new Set(pids)).toEqual(new Set(workerPids));
});

test('one /metrics answer counts the requests of both workers, behind METRICS_TOKEN', async () => {
  const healthz = async () => {
    const res = await fetch(`${server.base}/healthz`, { headers: FRESH });
    await res.arrayBuffer();
    return answeredBy(res);
  };
  const pids = new Set<number>();
  for (let i = 0; i < 20 && pids.size < 2; i++) pids.add(await healthz());
  expect(pids).toEqual(new Set(workerPids));

  // What each worker answered, from its own request log (start-up probes included).
  const answeredByEach = () => {
    const count = new Map<number, number>();
    for (const line of server.stdout().split('\n')) {
      if (!line.includes('"route":"/healthz"') || !line.includes('"status":200')) continue;
      const { pid } = JSON.parse(line) as { pid: number };
      count.set(pid, (count.get(pid) ?? 0) + 1);
    }
    return count;
  };
  const scrape = async (headers: Record<string, string>) => {
    const res = await fetch(`${server.base}/metrics`, { headers: { ...FRESH, ...headers } });
    return { status: res.status, text: await res.text() };
  };
  expect((await scrape({})).status).toBe(401);

  let counted = NaN;
  let each = new Map<number, number>();
  // Whichever worker answers the scrape, the count is the sum over both.
  await waitFor(
    'the scrape to count what the logs show',
    async () => {
      const { status, text } = await scrape({ authorization: `Bearer ${METRICS_TOKEN}` });
      expect(status).toBe(200);
      const line = text
        .split('\n')
        .find((l) => /^http_requests_total\{/.test(l) && l.includes('route="/healthz"') && l.includes('status="200"'));
      counted = Number(line?.split(' ').pop());
      each = answeredByEach();
      return counted === [...each.values()].reduce((a, b) => a + b, 0);
    },
    5000,
  );
  for (const pid of workerPids) expect(each.get(pid)).toBeGreaterThan(0);
  expect(counted).toBeGreaterThan(Math.max(...each.values()));
});

describe('the code flow across workers', () => {
  let client: Registered;
  let user: Person;

  beforeAll(async () => {
    // The command line on the same database while the workers run (SQLite in WAL mode).
    [client, user] = await Promise.all([
      cliClient(env, [
        '--redirect-uri',
        REDIRECT_URI,
        '--grant-type',
        'authorization_code',
        '--grant-type',
        'refresh_token',
      ]),
      cliUser(env),
    ]);
  }, 60_000);

  test('a sign-in spread over both workers gives a code that the other worker redeems', async () => {
    let crossed = false;
    for (let round = 0; round < 6 && !crossed; round++) {
      const { value, issuedBy, seen } = await code(client, user);
      // The session made by one worker was read by the other on the way.
      expect(new Set(seen)).toEqual(new Set(workerPids));
      const token = await redeem(client, value);
      expect({ status: token.status, type: token.body?.token_type }).toEqual({ status: 200, type: 'Bearer' });
      const redeemedBy = await answeredBy(token);
      crossed = redeemedBy !== issuedBy;
      // And the token is good at the resource API, whichever worker checks it.
      const me = await fetch(`${server.base}/api/me`, {
        headers: { ...FRESH, authorization: `Bearer ${token.body.access_token}` },
      });
      expect(me.status).toBe(200);
      await me.arrayBuffer();
    }
    expect(crossed).toBe(true);
  }, 120_000);

  test('one code redeemed 10 times at once, on both workers: exactly one winner (RFC 6749 §4.1.2)', async () => {
    for (let round = 0; round < 3; round++) {
      const { value } = await code(client, user);
      const answers = await Promise.all(Array.from({ length: 10 }, () => redeem(client, value)));
      for (const a of answers) expect(a.text).not.toMatch(STACK);
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).toEqual([200, ...Array(9).fill(400)]);
      for (const a of answers.filter((x) => x.status !== 200)) expect(a.body.error).toBe('invalid_grant');
      const pids = await Promise.all(answers.map(answeredBy));
      expect(new Set(pids)).toEqual(new Set(workerPids));
    }
  }, 120_000);
});

test('a worker killed with SIGKILL is logged and replaced; both workers serve again', async () => {
  const [victim, survivor] = workerPids as [number, number];
  process.kill(victim, 'SIGKILL');
  await waitFor(
    'the replacement',
    async () => server.stdout().includes('"msg":"worker died; starting another"'),
    30_000,
  );
  const died = JSON.parse(
    server
      .stdout()
      .split('\n')
      .find((l) => l.includes('worker died')) ?? '{}',
  );
  expect({ pid: died.pid, signal: died.signal }).toEqual({ pid: victim, signal: 'SIGKILL' });
  let replacement: number | undefined;
  await waitFor(
    'the replacement listening',
    async () => {
      const listening = server
        .stdout()
        .split('\n')
        .filter((l) => l.includes('"msg":"listening"'))
        .map((l) => (JSON.parse(l) as { pid: number }).pid);
      replacement = listening.find((pid) => !workerPids.includes(pid));
      return replacement !== undefined;
    },
    30_000,
  );
  workerPids = [survivor, replacement as number];
  const pids = [];
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${server.base}/healthz`, { headers: FRESH });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    pids.push(await answeredBy(res));
  }
  expect(new Set(pids)).toEqual(new Set(workerPids));
}, 60_000);

test('SIGTERM to the primary: both workers drain and stop, then the primary exits 0', async () => {
  const exit = await server.stop(20_000);
  expect(exit).toEqual({ code: 0, signal: null });
  const stopped = server
    .stdout()
    .split('\n')
    .filter((l) => l.includes('"msg":"stopped"'))
    .map((l) => (JSON.parse(l) as { pid?: number }).pid);
  // Each worker's own "stopped" (it drained), then the primary's (no pid).
  expect(new Set(stopped)).toEqual(new Set([...workerPids, undefined]));
  expect(stopped[stopped.length - 1]).toBeUndefined();
  for (const pid of workerPids) expect(() => process.kill(pid, 0)).toThrow();
}, 30_000);

test('a port in use with WORKERS=2: the one line and exit 4, nothing else printed', async () => {
  const port = await freePort();
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
  try {
    // Synchronous is fine: the port is held by the kernel, not by this event loop.
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH ?? '', HOME: '/tmp', NODE_ENV: 'test', ...env, PORT: String(port) },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 4, stdout: '' });
    expect(run.stderr).toMatch(
      new RegExp(`^cannot start: port ${port} \\(PORT\\) on 127\\.0\\.0\\.1 is already in use[^\\n]*\\n$`),
    );
  } finally {
    holder.close();
  }
}, 40_000);
