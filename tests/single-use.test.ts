// Exactly once, under real concurrency: the same authorization code, the same
// refresh token and the same pushed request_uri presented many times at the
// same moment, on SQLite (one node), on PostgreSQL (one node) and on
// PostgreSQL with two nodes sharing one database and one issuer, the
// requests split between them, and on one PostgreSQL node running two workers
// (WORKERS=2: node:cluster deals each connection to one of them). The servers
// are real processes (src/main.ts).
//
// RFC 6749 §4.1.2: a code is used at most once; on reuse the tokens issued
// from it SHOULD be revoked. RFC 9700 §4.14.2: a rotated refresh token
// presented again is a replay that ends its token family. RFC 9126 §4:
// a request_uri is used once.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STACK, basic, postForm, type ApiResponse } from './helpers/http.js';
import {
  cliClient,
  cliUser,
  freePort,
  killAllChildren,
  spawnServer,
  type Person,
  type Registered,
  type ServerProcess,
} from './helpers/processes.js';
import { startPostgres, type PgServer } from './helpers/postgres.js';
import { UserAgent, authorize } from './helpers/user-agent.js';

const ROUNDS = 20;
const CONCURRENT = 10;
const REDIRECT_URI = 'http://127.0.0.1:9999/cb';
const INITIAL_ACCESS_TOKEN = randomBytes(24).toString('base64url');

interface Target {
  nodes: ServerProcess[];
  client: Registered;
  user: Person;
  /** One person's browser, signed in once: each round's authorization reuses the session. */
  browser: UserAgent;
}

let pgs: PgServer | undefined;
const dirs: string[] = [];

beforeAll(async () => {
  pgs = await startPostgres();
}, 60_000);

afterAll(async () => {
  await killAllChildren();
  await pgs?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** `count` nodes on one database, same secrets and issuer (the first node's), plus a client and a user. */
async function deploy(
  databaseUrl: (dir: string) => Promise<string>,
  count: number,
  extra: Record<string, string> = {},
): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'oidc-single-use-'));
  dirs.push(dir);
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const env = {
    DATABASE_URL: await databaseUrl(dir),
    DATA_DIR: dir,
    ISSUER: `http://127.0.0.1:${ports[0]}`,
    SEED_DEMO: 'false',
    LOG_LEVEL: 'warn',
    COOKIE_KEYS: randomBytes(32).toString('base64url'),
    SECRET_KEY: randomBytes(32).toString('base64url'),
    REGISTRATION_ENABLED: 'true',
    REGISTRATION_INITIAL_ACCESS_TOKEN: INITIAL_ACCESS_TOKEN,
    ...extra,
  };
  // The first node migrates the empty database; the others start on it.
  const first = await spawnServer({ ...env, PORT: String(ports[0]) });
  const rest = await Promise.all(ports.slice(1).map((port) => spawnServer({ ...env, PORT: String(port) })));
  const [client, user] = await Promise.all([
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
  return { nodes: [first, ...rest], client, user, browser: new UserAgent(first.base) };
}

/** An authorization code from the person's browser (signs in and allows on the first round only). */
async function code(t: Target, scope: string, extra: Record<string, string> = {}): Promise<string> {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: t.client.client_id,
    redirect_uri: REDIRECT_URI,
    scope,
    state: randomBytes(8).toString('hex'),
    ...extra,
  });
  const { callback } = await authorize(t.browser, `/oauth/authorize?${params}`, {
    username: t.user.username,
    password: t.user.password,
    consent: 'allow',
  });
  const value = callback.searchParams.get('code');
  if (!value) throw new Error(`no code: ${callback.href}`);
  return value;
}

/** The same token request CONCURRENT times at once, request i at node i mod nodes. */
async function race(t: Target, fields: Record<string, string>): Promise<ApiResponse[]> {
  const requests = Array.from({ length: CONCURRENT }, (_, i) =>
    postForm(`${t.nodes[i % t.nodes.length]!.base}/oauth/token`, t.client, fields),
  );
  return Promise.all(requests);
}

/** Exactly one 200; every other answer is RFC 6749 §5.2's invalid_grant, never a 5xx or a stack. */
function expectOneWinner(responses: ApiResponse[]): ApiResponse {
  const statuses = responses.map((r) => r.status);
  for (const r of responses) expect(r.text).not.toMatch(STACK);
  const winners = responses.filter((r) => r.status === 200);
  const losers = responses.filter((r) => r.status !== 200);
  expect({ statuses, winners: winners.length }).toEqual({ statuses: expect.any(Array), winners: 1 });
  for (const r of losers)
    expect({ status: r.status, error: r.body?.error }).toEqual({ status: 400, error: 'invalid_grant' });
  return winners[0]!;
}

const introspect = (t: Target, token: string) =>
  postForm(`${t.nodes[t.nodes.length - 1]!.base}/oauth/introspect`, t.client, { token });

const targets: [string, () => Promise<Target>][] = [
  ['SQLite, one node', () => deploy(async (dir) => `file:${join(dir, 'app.db')}`, 1)],
  ['PostgreSQL, one node', () => deploy(() => pgs!.createDatabase('single_use_one'), 1)],
  ['PostgreSQL, two nodes', () => deploy(() => pgs!.createDatabase('single_use_two'), 2)],
  [
    'PostgreSQL, one node with two workers',
    () => deploy(() => pgs!.createDatabase('single_use_workers'), 1, { WORKERS: '2' }),
  ],
];

describe.each(targets)('%s', (_name, make) => {
  let t: Target;

  beforeAll(async () => {
    t = await make();
  }, 90_000);

  afterAll(async () => {
    await Promise.all(t?.nodes.map((n) => n.stop()) ?? []);
  }, 30_000);

  test(`an authorization code redeemed ${CONCURRENT} times at once, ${ROUNDS} rounds: one winner each, whose tokens are then revoked (RFC 6749 §4.1.2)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const value = await code(t, 'openid profile buy');
      const winner = expectOneWinner(
        await race(t, { grant_type: 'authorization_code', code: value, redirect_uri: REDIRECT_URI }),
      );
      // The losers were replays: the token the winner got is revoked with its grant.
      expect((await introspect(t, winner.body.access_token)).body).toEqual({ active: false });
    }
  }, 180_000);

  test(`a refresh token presented ${CONCURRENT} times at once, ${ROUNDS} rounds: one new token each, and the family ends (RFC 9700 §4.14.2)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      // offline_access needs prompt=consent (OpenID Connect Core §11).
      const value = await code(t, 'openid offline_access profile', { prompt: 'consent' });
      const first = await postForm(`${t.nodes[0]!.base}/oauth/token`, t.client, {
        grant_type: 'authorization_code',
        code: value,
        redirect_uri: REDIRECT_URI,
      });
      expect(first.status).toBe(200);
      const winner = expectOneWinner(
        await race(t, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token }),
      );
      expect(winner.body.refresh_token).toEqual(expect.any(String));
      // Reuse was detected: the winner's new tokens belong to the revoked family.
      expect((await introspect(t, winner.body.access_token)).body).toEqual({ active: false });
      const next = await postForm(`${t.nodes[0]!.base}/oauth/token`, t.client, {
        grant_type: 'refresh_token',
        refresh_token: winner.body.refresh_token,
      });
      expect({ status: next.status, error: next.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
    }
  }, 180_000);

  test(`a pushed request_uri used ${CONCURRENT} times at once, 5 rounds: one code each (RFC 9126 §4)`, async () => {
    await code(t, 'openid profile'); // signed in, consent given: each use goes straight to the client
    for (let round = 0; round < 5; round++) {
      const pushed = await fetch(`${t.nodes[0]!.base}/oauth/par`, {
        method: 'POST',
        headers: { authorization: basic(t.client), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          response_type: 'code',
          client_id: t.client.client_id,
          redirect_uri: REDIRECT_URI,
          scope: 'openid profile',
          state: `par-${round}`,
        }),
      });
      expect(pushed.status).toBe(201);
      const { request_uri } = (await pushed.json()) as { request_uri: string };
      const query = new URLSearchParams({ client_id: t.client.client_id, request_uri });
      // The same browser session at every node (each node's issuer is the same; cookies go with the request).
      const uses = await Promise.all(
        Array.from({ length: CONCURRENT }, (_, i) =>
          t.browser.request(`${t.nodes[i % t.nodes.length]!.base}/oauth/authorize?${query}`),
        ),
      );
      const outcomes = await Promise.all(
        uses.map(async (res) => {
          const body = await res.text();
          expect(body).not.toMatch(STACK);
          const location = res.headers.get('location');
          return { status: res.status, body, location: location ? new URL(location, t.nodes[0]!.base) : undefined };
        }),
      );
      expect(outcomes.filter((o) => o.status >= 500)).toEqual([]);
      const codes = outcomes.filter(
        (o) => o.location?.href.startsWith(REDIRECT_URI) && o.location.searchParams.has('code'),
      );
      expect(codes).toHaveLength(1);
    }
  }, 120_000);

  test(`a registration access token presented by ${CONCURRENT} updates at once, 5 rounds: one rotation each (RFC 7592 §2.2)`, async () => {
    for (let round = 0; round < 5; round++) {
      const registered = await fetch(`${t.nodes[0]!.base}/oauth/register`, {
        method: 'POST',
        headers: { authorization: `Bearer ${INITIAL_ACCESS_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ client_name: `app ${round}`, redirect_uris: [REDIRECT_URI] }),
      });
      expect(registered.status).toBe(201);
      const client = (await registered.json()) as Record<string, string>;
      const path = new URL(client.registration_client_uri!).pathname;
      const update = {
        client_id: client.client_id,
        client_secret: client.client_secret,
        client_name: `renamed ${round}`,
        redirect_uris: [REDIRECT_URI],
      };
      const responses = await Promise.all(
        Array.from({ length: CONCURRENT }, (_, i) =>
          fetch(`${t.nodes[i % t.nodes.length]!.base}${path}`, {
            method: 'PUT',
            headers: {
              authorization: `Bearer ${client.registration_access_token}`,
              'content-type': 'application/json',
            },
            body: JSON.stringify(update),
          }),
        ),
      );
      const answers = await Promise.all(
        responses.map(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, string> })),
      );
      const winners = answers.filter((a) => a.status === 200);
      expect({ statuses: answers.map((a) => a.status), winners: winners.length }).toEqual({
        statuses: expect.any(Array),
        winners: 1,
      });
      for (const a of answers)
        if (a.status !== 200)
          expect({ status: a.status, error: a.body.error }).toEqual({ status: 401, error: 'invalid_token' });
      // The presented token is gone; the one new token works.
      const read = (token: string) =>
        fetch(`${t.nodes[0]!.base}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect((await read(client.registration_access_token!)).status).toBe(401);
      expect((await read(winners[0]!.body.registration_access_token!)).status).toBe(200);
    }
  }, 120_000);

  test(`one person's session in ${CONCURRENT} authorization requests at once, ${ROUNDS} rounds: each gets its code, none a 5xx`, async () => {
    await code(t, 'openid profile'); // signed in, consent given
    for (let round = 0; round < ROUNDS; round++) {
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: t.client.client_id,
        redirect_uri: REDIRECT_URI,
        scope: 'openid profile',
        state: `s${round}`,
      });
      // Every request saves the same session row at its end.
      const answers = await Promise.all(
        Array.from({ length: CONCURRENT }, async (_, i) => {
          const res = await t.browser.request(`${t.nodes[i % t.nodes.length]!.base}/oauth/authorize?${query}`);
          return {
            status: res.status,
            body: await res.text(),
            code: URL.parse(res.headers.get('location') ?? '')?.searchParams.get('code'),
          };
        }),
      );
      expect(answers.filter((a) => a.status !== 303 || !a.code)).toEqual([]);
    }
  }, 120_000);
});
