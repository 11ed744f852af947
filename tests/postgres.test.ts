// The application on PostgreSQL (DATABASE_URL=postgresql://…), as real
// server processes (src/main.ts): migrations on an empty database, the seed's
// flows, refresh-token rotation, revocation, truly concurrent purchases, two
// nodes sharing one database and one issuer, and PostgreSQL going away and
// coming back while the nodes run.
//
// PostgreSQL comes from tests/helpers/postgres.ts: a throwaway cluster of our
// own (initdb + pg_ctl from the PostgreSQL binaries), or TEST_PG_URL. Missing
// binaries fail this file with a message saying what to install.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import {
  STACK,
  allOrders,
  call,
  authorizationCode,
  buy,
  postForm,
  redeemMultipart,
  seedToken,
  type ApiResponse,
  type Json,
} from './helpers/http.js';
import {
  ROOT,
  cli,
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
import { sql, startPostgres, type PgServer } from './helpers/postgres.js';

let pgs: PgServer | undefined;
let url: string;
let dataDir: string;
let issuer: string;
let portA: number;
let a: ServerProcess;
let b: ServerProcess;
let web: Registered;
let user: Person;

// Several nodes share their secrets through the environment, as in production.
const shared = {
  COOKIE_KEYS: randomBytes(32).toString('base64url'),
  SECRET_KEY: randomBytes(32).toString('base64url'),
};

/** Every node and CLI run: same database, same secrets, same issuer. */
const env = (extra: Record<string, string> = {}) => ({
  DATABASE_URL: url,
  DATA_DIR: dataDir,
  ISSUER: issuer,
  SEED_DEMO: 'false',
  LOG_LEVEL: 'warn',
  ...shared,
  ...extra,
});

beforeAll(async () => {
  pgs = await startPostgres();
  console.log(`PostgreSQL: ${pgs.describe}`);
  url = await pgs.createDatabase('oidc_main');
  dataDir = mkdtempSync(join(tmpdir(), 'oidc-pg-app-'));
  portA = await freePort();
  issuer = `http://127.0.0.1:${portA}`;
}, 60_000);

afterAll(async () => {
  await killAllChildren();
  await pgs?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

// --- helpers ---------------------------------------------------------------------

function expectEnvelope503(res: ApiResponse) {
  expect({ status: res.status, body: res.body }).toEqual({
    status: 503,
    body: { code: 50301, success: false, msg: expect.any(String), ts: expect.any(Number) },
  });
  expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(res.text).not.toMatch(STACK);
}

function expectBought(res: ApiResponse) {
  expect({ status: res.status, body: res.body }).toEqual({
    status: 200,
    body: { code: 0, success: true, msg: '購買成功', ts: expect.any(Number) },
  });
}

const migrationDirs = () =>
  readdirSync(join(ROOT, 'prisma', 'pg', 'migrations'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file, 'utf8')).digest('hex');

const introspect = (base: string, c: Registered, token: string) => postForm(`${base}/oauth/introspect`, c, { token });

const jwks = async (base: string) => (await (await fetch(`${base}/oauth/jwks`)).json()) as JSONWebKeySet;

// --- tests -------------------------------------------------------------------------

interface Deployment {
  tablesBefore: unknown[];
  applied: { name: string; checksum: string; applied_at: string }[];
  tables: string[];
  keys: Record<string, unknown>[];
  appliedAfterB: unknown[];
  keysAfterB: unknown[];
}

const listTables = () =>
  sql<{ table_name: string }>(url, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`);
const listMigrations = () =>
  sql<{ name: string; checksum: string; applied_at: string }>(
    url,
    'SELECT "name", "checksum", "applied_at" FROM "_app_migrations" ORDER BY "name"',
  );
const listKeys = () => sql(url, 'SELECT "kid", "alg" FROM "SigningKey" ORDER BY "alg"');

/**
 * Node A on the empty database, the command line's client, user and item,
 * then node B: once per file, by whichever test needs them first, so that
 * every test also runs alone. What it saw on the way is the first test's.
 */
let deployed: Promise<Deployment> | undefined;
const deploy = () =>
  (deployed ??= (async () => {
    const tablesBefore = await listTables();
    a = await spawnServer(env({ PORT: String(portA) }));
    console.log(`node A on an empty PostgreSQL database: healthy after ${a.startMs} ms`);
    const applied = await listMigrations();
    const tables = (await listTables()).map((t) => t.table_name);
    const keys = await listKeys();

    // The command line prepares the same database (migrations, keys) before each command.
    web = await cliClient(env());
    user = await cliUser(env());
    await cli(
      'item:create',
      [
        '--item-id',
        'ITEM_P',
        '--name',
        '品項P',
        '--img-url',
        'https://img.example.com/img/item_p.png',
        '--amount',
        '100',
      ],
      env(),
    );

    // Node B: same database, same issuer, its own port.
    b = await spawnServer(env({ PORT: String(await freePort()) }));
    console.log(`node B on the migrated database: healthy after ${b.startMs} ms`);
    return { tablesBefore, applied, tables, keys, appliedAfterB: await listMigrations(), keysAfterB: await listKeys() };
  })());

beforeEach(() => deploy(), 60_000);

test('migrations apply on an empty database and are recorded; a second node, and the command line, apply nothing', async () => {
  const seen = await deploy();
  expect(seen.tablesBefore).toEqual([]);
  expect(seen.applied.map((m) => m.name)).toEqual(migrationDirs());
  for (const m of seen.applied)
    expect(m.checksum).toBe(sha256(join(ROOT, 'prisma', 'pg', 'migrations', m.name, 'migration.sql')));
  expect(seen.tables).toEqual(
    expect.arrayContaining([
      '_app_migrations',
      'OidcArtifact',
      'OidcClient',
      'Consent',
      'SigningKey',
      'Account',
      'Item',
      'Order',
    ]),
  );
  expect(seen.keys.map((k) => k.alg)).toEqual(['ES256', 'RS256']);
  // Node B and the command line found the schema current and the keys there.
  expect(seen.appliedAfterB).toEqual(seen.applied);
  expect(seen.keysAfterB).toEqual(seen.keys);
});

test("the seed's code flow with a multipart token request; /api/me, a purchase and its replay, the orders", async () => {
  const { code } = await authorizationCode(a.base, web, user, 'profile buy buy_history');
  const token = await redeemMultipart(a.base, web, code);
  expect(token.status).toBe(200);
  expect(token.body).toMatchObject({
    token_type: 'Bearer',
    scope: 'profile buy buy_history',
    access_token: expect.any(String),
  });
  const at = token.body.access_token as string;

  const me = await call(a.base, '/api/me', { token: at });
  expect(me.body).toEqual({
    code: 0,
    success: true,
    username: user.username,
    server_id: user.server_id,
    msg: '查詢成功',
    ts: expect.any(Number),
  });
  expectBought(await buy(a.base, at, 'ITEM_P', '20230901120000123456'));
  expectBought(await buy(a.base, at, 'ITEM_P', '20230901120000123456'));
  const conflict = await buy(a.base, at, 'NO_SUCH_ITEM', '20230901120000123456');
  expect(conflict.status).toBe(409);
  const orders = await call(a.base, '/api/orders', { token: at });
  expect(orders.body).toEqual({
    code: 0,
    success: true,
    msg: '查詢成功',
    ts: expect.any(Number),
    orders: [
      {
        tx_id: '20230901120000123456',
        item_id: 'ITEM_P',
        item_name: '品項P',
        item_img_url: 'https://img.example.com/img/item_p.png',
        amount: '100',
        buy_at: '1693574542',
      },
    ],
    next_cursor: null,
  });
  // A code works once, on any node.
  const again = await redeemMultipart(b.base, web, code);
  expect(again.status).toBe(400);
  expect(again.body.error).toBe('invalid_grant');
}, 30_000);

test('refresh tokens rotate, across nodes; reusing a rotated one revokes the grant (RFC 9700 §4.14.2)', async () => {
  const { code } = await authorizationCode(a.base, web, user, 'openid offline_access profile', { prompt: 'consent' });
  const first = await postForm(`${a.base}/oauth/token`, web, { grant_type: 'authorization_code', code });
  expect(first.status).toBe(200);
  const rt0 = first.body.refresh_token as string;
  expect(rt0).toEqual(expect.any(String));

  const r1 = await postForm(`${a.base}/oauth/token`, web, { grant_type: 'refresh_token', refresh_token: rt0 });
  expect(r1.status).toBe(200);
  const r2 = await postForm(`${b.base}/oauth/token`, web, {
    grant_type: 'refresh_token',
    refresh_token: r1.body.refresh_token,
  });
  expect(r2.status).toBe(200);
  expect(new Set([rt0, r1.body.refresh_token, r2.body.refresh_token]).size).toBe(3);
  expect((await introspect(a.base, web, r2.body.access_token)).body).toMatchObject({ active: true, sub: user.id });

  // r1's refresh token was already used: presenting it again is reuse.
  const reuse = await postForm(`${a.base}/oauth/token`, web, {
    grant_type: 'refresh_token',
    refresh_token: r1.body.refresh_token,
  });
  expect({ status: reuse.status, error: reuse.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
  const newest = await postForm(`${b.base}/oauth/token`, web, {
    grant_type: 'refresh_token',
    refresh_token: r2.body.refresh_token,
  });
  expect({ status: newest.status, error: newest.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
  expect((await introspect(b.base, web, r2.body.access_token)).body).toEqual({ active: false });
}, 30_000);

test('revocation (RFC 7009) at one node → introspection (RFC 7662) answers {active:false} and /api refuses the token at both', async () => {
  const at = await seedToken(a.base, web, user);
  expect((await introspect(a.base, web, at)).body).toMatchObject({
    active: true,
    sub: user.id,
    client_id: web.client_id,
    scope: 'profile buy buy_history',
    iss: issuer,
  });
  const revoked = await postForm(`${b.base}/oauth/revoke`, web, { token: at, token_type_hint: 'access_token' });
  expect(revoked.status).toBe(200);
  for (const node of [a, b]) {
    expect((await introspect(node.base, web, at)).body).toEqual({ active: false });
    const me = await call(node.base, '/api/me', { token: at });
    expect(me.status).toBe(401);
    expect(me.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
  }
}, 30_000);

test('twenty concurrent identical purchases, split over two nodes, record exactly one order (five rounds)', async () => {
  const buyer = await cliUser(env());
  const at = await seedToken(a.base, web, buyer);
  for (let round = 0; round < 5; round++) {
    const tx = `RACE-${round}`;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => buy(i % 2 ? a.base : b.base, at, 'ITEM_P', tx)),
    );
    for (const res of answers) expectBought(res);
    expect(
      await sql(url, 'SELECT COUNT(*)::int AS n FROM "Order" WHERE "accountId" = $1 AND "txId" = $2', [buyer.id, tx]),
    ).toEqual([{ n: 1 }]);
  }
  const orders = await allOrders(b.base, at);
  expect(orders.map((o: Json) => o.tx_id).sort()).toEqual(['RACE-0', 'RACE-1', 'RACE-2', 'RACE-3', 'RACE-4']);
}, 30_000);

test("two nodes, one issuer: a code from node A is redeemed at node B; a token issued by A works at B's /api/me and introspection; ID tokens from either verify with either's JWKS", async () => {
  for (const node of [a, b]) {
    const meta = (await (await fetch(`${node.base}/.well-known/openid-configuration`)).json()) as Json;
    expect(meta.issuer).toBe(issuer);
  }
  const { code } = await authorizationCode(a.base, web, user, 'profile buy buy_history');
  const fromB = await redeemMultipart(b.base, web, code);
  expect(fromB.status).toBe(200);
  const me = await call(a.base, '/api/me', { token: fromB.body.access_token });
  expect(me.body).toMatchObject({ code: 0, success: true, username: user.username });

  const atA = await seedToken(a.base, web, user);
  expect((await call(b.base, '/api/me', { token: atA })).body).toMatchObject({
    code: 0,
    success: true,
    username: user.username,
  });
  expect((await introspect(b.base, web, atA)).body).toMatchObject({
    active: true,
    sub: user.id,
    client_id: web.client_id,
  });

  expect(await jwks(a.base)).toEqual(await jwks(b.base));
  for (const [signer, verifier] of [
    [a, b],
    [b, a],
  ] as const) {
    const { code: c } = await authorizationCode(signer.base, web, user, 'openid profile', { nonce: 'n-0S6_WzA2Mj' });
    const res = await postForm(`${signer.base}/oauth/token`, web, { grant_type: 'authorization_code', code: c });
    expect(res.status).toBe(200);
    const { payload } = await jwtVerify(res.body.id_token, createLocalJWKSet(await jwks(verifier.base)), {
      issuer,
      audience: web.client_id,
    });
    expect(payload).toMatchObject({ sub: user.id, nonce: 'n-0S6_WzA2Mj' });
  }
}, 30_000);

test('PostgreSQL stops while the nodes run: /healthz 503, the API a clean 503 envelope, the token endpoint 503 temporarily_unavailable, nothing crashes; once it is back the nodes recover by themselves', async () => {
  const at = await seedToken(a.base, web, user);
  expect((await call(b.base, '/api/me', { token: at })).status).toBe(200);
  const pids = [a.child.pid, b.child.pid];
  // What the OAuth endpoints answered during the outage, checked after the recovery has been checked too.
  const oauthAnswers: {
    node: string;
    endpoint: string;
    status: number;
    contentType: string | null;
    error: unknown;
    leaks: boolean;
  }[] = [];

  const down = Date.now();
  await pgs!.outage();
  try {
    for (const [name, node] of [
      ['A', a],
      ['B', b],
    ] as const) {
      const ms = await waitFor(
        '/healthz to answer 503',
        async () => (await fetch(`${node.base}/healthz`)).status === 503,
        15_000,
      );
      console.log(`outage: ${name} /healthz 503 after ${ms} ms`);
      const health = await fetch(`${node.base}/healthz`);
      expect({ status: health.status, body: await health.json() }).toEqual({
        status: 503,
        body: { status: 'unavailable' },
      });

      expectEnvelope503(await call(node.base, '/api/me', { token: at }));
      expectEnvelope503(await call(node.base, '/api/orders', { token: at }));
      expectEnvelope503(await buy(node.base, at, 'ITEM_P', 'DURING-OUTAGE'));

      for (const [endpoint, fields] of [
        ['/oauth/token', { grant_type: 'authorization_code', code: 'any-code-at-all' }],
        ['/oauth/introspect', { token: at }],
      ] as const) {
        const res = await postForm(`${node.base}${endpoint}`, web, fields);
        oauthAnswers.push({
          node: name,
          endpoint,
          status: res.status,
          contentType: res.headers.get('content-type'),
          error: res.body?.error,
          leaks: STACK.test(res.text),
        });
        if (res.status !== 503)
          console.log(
            `outage: ${name} ${endpoint} answered ${res.status} ${res.headers.get('content-type')}: ${res.text.slice(0, 300)}`,
          );
      }
    }
    // Still the same processes, still running.
    expect([a.alive(), b.alive()]).toEqual([true, true]);
  } finally {
    await pgs!.recover();
  }
  const back = Date.now();
  for (const [name, node] of [
    ['A', a],
    ['B', b],
  ] as const) {
    const ms = await waitFor(
      '/healthz to answer 200 again',
      async () => (await fetch(`${node.base}/healthz`)).status === 200,
      20_000,
    );
    console.log(`recovery: ${name} /healthz 200 ${ms} ms after PostgreSQL was back (down for ${back - down} ms)`);
  }
  expect([a.alive(), b.alive(), a.child.pid, b.child.pid]).toEqual([true, true, ...pids]);

  // Everything works again, on both nodes, without a restart.
  for (const node of [a, b]) expect((await call(node.base, '/api/me', { token: at })).status).toBe(200);
  const fresh = await seedToken(b.base, web, user);
  expectBought(await buy(a.base, fresh, 'ITEM_P', 'AFTER-OUTAGE'));
  const txs = (await allOrders(b.base, fresh)).map((o: Json) => o.tx_id);
  expect(txs).toContain('AFTER-OUTAGE');
  expect(txs).not.toContain('DURING-OUTAGE');

  // RFC 6749 §5.2 / §4.1.2.1: temporarily_unavailable, in JSON, without internals.
  expect(oauthAnswers).toEqual(
    oauthAnswers.map(({ node, endpoint }) => ({
      node,
      endpoint,
      status: 503,
      contentType: expect.stringMatching(/^application\/json/),
      error: 'temporarily_unavailable',
      leaks: false,
    })),
  );
}, 60_000);

test('PostgreSQL ending the nodes’ idle connections (a restart, a failover, pg_terminate_backend) ends no node: both go on serving', async () => {
  const pids = [a.child.pid, b.child.pid];
  for (const node of [a, b]) expect((await call(node.base, '/healthz')).status).toBe(200);
  // FATAL 57P01 "terminating connection due to administrator command" on every idle connection of theirs.
  const ended = await sql<{ n: number }>(
    pgs!.adminUrl,
    `SELECT COUNT(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle'`.replace(
      'current_database()',
      `'${new URL(url).pathname.slice(1)}'`,
    ),
  );
  expect(ended[0]!.n).toBeGreaterThan(0);
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect([a.alive(), b.alive(), a.child.pid, b.child.pid]).toEqual([true, true, ...pids]);
  const fresh = await seedToken(a.base, web, user);
  for (const node of [a, b]) expect((await call(node.base, '/api/me', { token: fresh })).status).toBe(200);
}, 30_000);

test('two nodes started at the same moment on an empty database both come up, with the migrations applied once and the same signing keys', async () => {
  const raceUrl = await pgs!.createDatabase('oidc_race');
  const [portC, portD] = [await freePort(), await freePort()];
  const raceEnv = (port: number) =>
    env({ DATABASE_URL: raceUrl, ISSUER: `http://127.0.0.1:${portC}`, PORT: String(port) });
  const [c, d] = await Promise.all([spawnServer(raceEnv(portC)), spawnServer(raceEnv(portD))]);
  expect(
    await sql(raceUrl, 'SELECT "name", COUNT(*)::int AS n FROM "_app_migrations" GROUP BY "name" ORDER BY "name"'),
  ).toEqual(migrationDirs().map((name) => ({ name, n: 1 })));
  // Both nodes sign with the same key, and publish it: a client may fetch the JWKS from either node.
  const raceClient = await cliClient(env({ DATABASE_URL: raceUrl, ISSUER: `http://127.0.0.1:${portC}` }));
  const raceUser = await cliUser(env({ DATABASE_URL: raceUrl, ISSUER: `http://127.0.0.1:${portC}` }));
  const checks: {
    signedBy: string;
    kid?: string;
    verifiedWith: string;
    publishedKids: (string | undefined)[];
    verified: boolean;
  }[] = [];
  for (const [[signedBy, signer], [verifiedWith, verifier]] of [
    [
      ['C', c],
      ['D', d],
    ],
    [
      ['D', d],
      ['C', c],
    ],
  ] as const) {
    const { code } = await authorizationCode(signer.base, raceClient, raceUser, 'openid');
    const res = await postForm(`${signer.base}/oauth/token`, raceClient, { grant_type: 'authorization_code', code });
    expect(res.status).toBe(200);
    const set = await jwks(verifier.base);
    const verified = await jwtVerify(res.body.id_token, createLocalJWKSet(set), {
      issuer: `http://127.0.0.1:${portC}`,
      audience: raceClient.client_id,
    }).then(
      () => true,
      () => false,
    );
    checks.push({
      signedBy,
      kid: decodeProtectedHeader(res.body.id_token).kid,
      verifiedWith,
      publishedKids: set.keys.map((k) => k.kid),
      verified,
    });
  }
  const stored = await sql(
    raceUrl,
    'SELECT "alg", COUNT(*)::int AS n FROM "SigningKey" WHERE "retiredAt" IS NULL GROUP BY "alg" ORDER BY "alg"',
  );
  if (!checks.every((x) => x.verified))
    console.log(
      `concurrent start: active signing keys in the database ${JSON.stringify(stored)}; ${JSON.stringify(checks)}`,
    );
  expect(checks.map(({ signedBy, verifiedWith, verified }) => ({ signedBy, verifiedWith, verified }))).toEqual([
    { signedBy: 'C', verifiedWith: 'D', verified: true },
    { signedBy: 'D', verifiedWith: 'C', verified: true },
  ]);
  expect(checks[0]!.kid).toBe(checks[1]!.kid);
  expect(await c.stop()).toEqual({ code: 0, signal: null });
  expect(await d.stop()).toEqual({ code: 0, signal: null });
}, 60_000);

test('SIGTERM on PostgreSQL: both nodes drain and exit 0', async () => {
  expect(await a.stop()).toEqual({ code: 0, signal: null });
  expect(await b.stop()).toEqual({ code: 0, signal: null });
}, 30_000);
