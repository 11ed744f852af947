// A flood: the server built and started exactly as `npm start` starts it
// (its V8 flags from package.json, dist/src/main.js), then thousands of
// requests at once on as many connections, many of them with bodies at and
// beyond the limits (56 KB for the library's endpoints, 16 KB for the API's
// JSON and our forms, 1 MB and chunked bodies with no length). The process
// must come out of it alive and healthy, having answered every request with
// something other than a server error (503 "busy" and 413 "too large" are
// the documented answers to too much). Its peak memory is printed, not
// asserted: it depends on the machine.
import { Agent, request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basic, seedToken } from './helpers/http.js';
import { killAllChildren, npmStart, spawnServer, type ServerProcess } from './helpers/processes.js';
import { UserAgent, findForm, isPage } from './helpers/user-agent.js';
import { testDatabase, type TestDatabase } from './helpers/database.js';
import { ROUTES, interactionPath } from '../src/routes.js';

const PROVIDER_LIMIT = 56 * 1024;
const FORM_LIMIT = 16 * 1024;
const JSON_LIMIT = 16 * 1024;

let dir: string;
let database: TestDatabase | undefined;
let server: ServerProcess;
let client: { client_id: string; client_secret: string };
let accessToken: string;
let loginAction: string;
let loginFields: Record<string, string>;
let browserCookie: string;

/** A form body of exactly `size` bytes: the fields, then a `pad` field filling the rest. */
function formOf(fields: Record<string, string>, size: number): string {
  const head = `${new URLSearchParams(fields)}&pad=`;
  return head + 'x'.repeat(size - head.length);
}

/** A JSON body of exactly `size` bytes, with a `pad` member filling the rest. */
function jsonOf(fields: Record<string, string>, size: number): string {
  const head = JSON.stringify({ ...fields, pad: '' });
  return `${head.slice(0, -2)}${'x'.repeat(size - head.length)}"}`;
}

/** A multipart body of about `size` bytes (its parts, then a `pad` part filling the rest). */
function multipartOf(fields: Record<string, string>, size: number): { body: string; type: string } {
  const boundary = `flood${randomBytes(8).toString('hex')}`;
  const part = (name: string, value: string) =>
    `--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const head = Object.entries(fields)
    .map(([k, v]) => part(k, v))
    .join('');
  const tail = `--${boundary}--\r\n`;
  const empty = part('pad', '');
  return {
    body: head + part('pad', 'x'.repeat(Math.max(0, size - head.length - empty.length - tail.length))) + tail,
    type: `multipart/form-data; boundary=${boundary}`,
  };
}

interface Shot {
  kind: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Sent in pieces with no Content-Length (chunked): the server cannot refuse it before reading. */
  chunked?: boolean;
}

type Outcome = { status: number } | { error: string };

// Keep-alive, as clients do: a connection whose request was refused carries the next one.
const agent = new Agent({ keepAlive: true, maxSockets: 2000 });

function fire(shot: Shot): Promise<Outcome> {
  return new Promise((resolve) => {
    const url = new URL(shot.path, server.base);
    const body = shot.body === undefined ? undefined : Buffer.from(shot.body);
    const req = request(url, {
      method: 'POST',
      agent,
      headers: {
        ...shot.headers,
        ...(body && !shot.chunked ? { 'content-length': String(body.length) } : {}),
      },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    if (body && shot.chunked) {
      for (let at = 0; at < body.length; at += 16 * 1024) req.write(body.subarray(at, at + 16 * 1024));
      req.end();
    } else req.end(body);
  });
}

function memoryOf(pid: number): { rssMb: number; peakMb: number } | undefined {
  const status = `/proc/${pid}/status`;
  if (!existsSync(status)) return undefined; // not Linux: nothing to print
  const text = readFileSync(status, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1]) / 1024;
  return { rssMb: kb('VmRSS'), peakMb: kb('VmHWM') };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'oidc-flood-'));
  database = await testDatabase(dir, 'app.db');
  server = await spawnServer(
    {
      DATABASE_URL: database.url,
      DATA_DIR: dir,
      LOG_LEVEL: 'warn',
      COOKIE_KEYS: randomBytes(32).toString('base64url'),
      SECRET_KEY: randomBytes(32).toString('base64url'),
    },
    { args: npmStart(), healthTimeoutMs: 30_000 },
  );
  // The demo the first start seeds (SEED_DEMO is on outside production): its client and account.
  const printed = (name: string) => new RegExp(`^\\s+${name}:\\s+(\\S+)`, 'm').exec(server.stdout())?.[1] ?? '';
  client = { client_id: printed('client_id'), client_secret: printed('client_secret') };
  const password = /user:\s+demo \/ (\S+)/.exec(server.stdout())?.[1] ?? '';
  accessToken = await seedToken(server.base, client, { username: 'demo', password });

  // A sign-in page, whose form is posted below (with a wrong password, padded to the form limit).
  const browser = new UserAgent(server.base);
  const params = new URLSearchParams({ response_type: 'code', client_id: client.client_id, scope: 'profile' });
  const page = await browser.navigate(`${ROUTES.oauth.authorization}?${params}`);
  if (!isPage(page)) throw new Error('no sign-in page');
  const form = findForm(page.html, '/login');
  loginAction = form.action;
  loginFields = { ...form.hidden, username: 'demo', password: 'not the password' };
  browserCookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
}, 60_000);

afterAll(async () => {
  agent.destroy();
  await killAllChildren();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

test('thousands of requests at once, large bodies among them: the server answers each without a server error, and lives', async () => {
  const auth = { authorization: basic(client) };
  const form = { ...auth, 'content-type': 'application/x-www-form-urlencoded' };
  const bearer = { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' };
  const login = { cookie: browserCookie, 'content-type': 'application/x-www-form-urlencoded' };
  const cc = { grant_type: 'client_credentials' };
  const introspect = { token: accessToken };
  const purchase = (i: number) => ({ item_id: 'ITEM_001', tx_id: `flood-${i}`, buy_at: '2023-09-01 13:22:22' });
  const times = (n: number, make: (i: number) => Shot) => Array.from({ length: n }, (_, i) => make(i));
  const multipartAt = multipartOf(cc, PROVIDER_LIMIT);
  const multipartOver = multipartOf(cc, PROVIDER_LIMIT + 1024);

  const shots: Shot[] = [
    ...times(1000, () => ({ kind: 'token', path: ROUTES.oauth.token, headers: form, body: formOf(cc, 64) })),
    ...times(300, () => ({
      kind: 'token at limit',
      path: ROUTES.oauth.token,
      headers: form,
      body: formOf(cc, PROVIDER_LIMIT),
    })),
    ...times(300, () => ({
      kind: 'token over limit',
      path: ROUTES.oauth.token,
      headers: form,
      body: formOf(cc, PROVIDER_LIMIT + 1),
    })),
    ...times(100, () => ({
      kind: 'token 1 MB',
      path: ROUTES.oauth.token,
      headers: form,
      body: formOf(cc, 1024 * 1024),
    })),
    ...times(100, () => ({
      kind: 'token chunked',
      path: ROUTES.oauth.token,
      headers: form,
      body: formOf(cc, 256 * 1024),
      chunked: true,
    })),
    ...times(200, () => ({
      kind: 'multipart at limit',
      path: ROUTES.oauth.token,
      headers: { ...auth, 'content-type': multipartAt.type },
      body: multipartAt.body,
    })),
    ...times(200, () => ({
      kind: 'multipart over limit',
      path: ROUTES.oauth.token,
      headers: { ...auth, 'content-type': multipartOver.type },
      body: multipartOver.body,
    })),
    ...times(600, () => ({
      kind: 'introspect',
      path: ROUTES.oauth.introspection,
      headers: form,
      body: formOf(introspect, 256),
    })),
    ...times(300, () => ({
      kind: 'introspect at limit',
      path: ROUTES.oauth.introspection,
      headers: form,
      body: formOf(introspect, PROVIDER_LIMIT),
    })),
    ...times(300, () => ({
      kind: 'introspect over limit',
      path: ROUTES.oauth.introspection,
      headers: form,
      body: formOf(introspect, PROVIDER_LIMIT + 1),
    })),
    ...times(400, (i) => ({ kind: 'buy', path: ROUTES.apiBuy, headers: bearer, body: JSON.stringify(purchase(i)) })),
    ...times(300, (i) => ({
      kind: 'buy at limit',
      path: ROUTES.apiBuy,
      headers: bearer,
      body: jsonOf(purchase(1000 + i), JSON_LIMIT),
    })),
    ...times(300, (i) => ({
      kind: 'buy over limit',
      path: ROUTES.apiBuy,
      headers: bearer,
      body: jsonOf(purchase(2000 + i), JSON_LIMIT + 1),
    })),
    ...times(100, (i) => ({
      kind: 'buy 1 MB',
      path: ROUTES.apiBuy,
      headers: bearer,
      body: jsonOf(purchase(3000 + i), 1024 * 1024),
    })),
    ...times(200, () => ({
      kind: 'login at limit',
      path: loginAction,
      headers: login,
      body: formOf(loginFields, FORM_LIMIT),
    })),
    ...times(200, () => ({
      kind: 'login over limit',
      path: loginAction,
      headers: login,
      body: formOf(loginFields, FORM_LIMIT + 1),
    })),
    ...times(200, () => ({
      kind: 'login, no such interaction',
      path: interactionPath('no-such-uid', 'login'),
      headers: login,
      body: formOf(loginFields, FORM_LIMIT),
    })),
  ];
  // Shuffled, so each kind arrives throughout the flood rather than in one block.
  for (let i = shots.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [shots[i], shots[j]] = [shots[j] as Shot, shots[i] as Shot];
  }

  const pid = server.child.pid as number;
  let sampledMb = 0;
  const sampler = setInterval(() => {
    sampledMb = Math.max(sampledMb, memoryOf(pid)?.rssMb ?? 0);
  }, 50);
  const before = memoryOf(pid);
  const outcomes = await Promise.all(shots.map(fire));
  clearInterval(sampler);
  const after = memoryOf(pid);

  const byKind = new Map<string, Record<string, number>>();
  outcomes.forEach((outcome, i) => {
    const kind = (shots[i] as Shot).kind;
    const key = 'status' in outcome ? String(outcome.status) : outcome.error;
    const counts = byKind.get(kind) ?? {};
    counts[key] = (counts[key] ?? 0) + 1;
    byKind.set(kind, counts);
  });
  const table = [...byKind].map(([kind, counts]) => `  ${kind.padEnd(28)} ${JSON.stringify(counts)}`).join('\n');
  process.stdout.write(
    `flood: ${shots.length} requests at once\n${table}\n` +
      (after
        ? `server RSS: ${before?.rssMb.toFixed(0)} MB before, up to ${sampledMb.toFixed(0)} MB sampled, peak (VmHWM) ${after.peakMb.toFixed(0)} MB, ${after.rssMb.toFixed(0)} MB after\n`
        : ''),
  );

  const answered = outcomes.filter((o): o is { status: number } => 'status' in o);
  // Nothing but the documented answers to too much: 503 (busy, retry) and the 4xx of each endpoint.
  expect(answered.filter((o) => o.status >= 500 && o.status !== 503)).toEqual([]);
  const statuses = (kind: string) => Object.keys(byKind.get(kind) ?? {});
  // Within the limits every request is answered, and a well-formed token request is served.
  for (const kind of ['token', 'token at limit', 'introspect', 'introspect at limit', 'buy', 'buy at limit'])
    for (const status of statuses(kind))
      expect({ kind, status }).toEqual({ kind, status: expect.stringMatching(/^\d+$/) });
  expect(byKind.get('token')?.['200']).toBeGreaterThan(0);
  expect(byKind.get('buy')?.['200']).toBeGreaterThan(0);
  // Beyond them: refused, with the library's 400 (invalid_request) on its own endpoints, 413 on ours.
  for (const kind of ['token over limit', 'introspect over limit', 'token 1 MB', 'token chunked'])
    expect({ kind, statuses: statuses(kind) }).toEqual({ kind, statuses: ['400'] });
  for (const kind of ['buy over limit', 'buy 1 MB', 'multipart over limit', 'login over limit'])
    expect({ kind, statuses: statuses(kind) }).toEqual({ kind, statuses: ['413'] });

  // And it lives, healthy, and serves as before.
  expect(server.alive()).toBe(true);
  const health = await fetch(`${server.base}/healthz`);
  expect(health.status).toBe(200);
  const token = await fetch(`${server.base}${ROUTES.oauth.token}`, {
    method: 'POST',
    headers: form,
    body: new URLSearchParams(cc),
  });
  expect(token.status).toBe(200);
}, 90_000);
