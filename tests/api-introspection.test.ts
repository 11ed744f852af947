// The resource API as a process of its own (`src/api/main.ts`, what
// `npm run start:api` runs): it checks tokens over RFC 7662 introspection at
// the provider with its own resource-server credentials, and shares the
// provider's database. Real tokens from the seed's code flow; real processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, authorize } from './helpers/user-agent.js';
import {
  STACK,
  basic,
  buy,
  call,
  expectBought,
  expectEnvelopeError,
  expectInvalidToken,
  expectTs,
  seedTokens,
  type Json,
} from './helpers/http.js';
import { freePort } from './helpers/processes.js';

type Registered = Awaited<ReturnType<TestServer['client']>>;

const REDIRECT_URI = 'http://127.0.0.1:9999/cb';

interface ApiProcess {
  base: string;
  child: ChildProcess;
  output: () => string;
}

let server: TestServer;
let rs: Registered;
let api: ApiProcess;
let wrongApi: ApiProcess;

/** Starts `tsx src/api/main.ts` against the test server's database and issuer; resolves once /healthz answers 200. */
async function startApi(env: Record<string, string>): Promise<ApiProcess> {
  const port = await freePort();
  const child = spawn('node_modules/.bin/tsx', ['src/api/main.ts'], {
    cwd: process.cwd(),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: 'test',
      DATABASE_URL: server.config.databaseUrl,
      DATA_DIR: server.dir,
      ISSUER: server.issuer,
      API_PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`API process exited with ${child.exitCode}: ${output}`);
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.status === 200) return { base, child, output: () => output };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`API process did not become healthy: ${output}`);
}

async function stopApi(p: ApiProcess | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

beforeAll(async () => {
  server = await startServer();
  await server.stockItems();
  rs = await server.client({ resourceServer: true, redirectUris: [] });
  expect(rs.client_secret).toBeTruthy();
  [api, wrongApi] = await Promise.all([
    startApi({
      INTROSPECTION_CLIENT_ID: rs.client_id,
      INTROSPECTION_CLIENT_SECRET: rs.client_secret!,
      INTROSPECTION_CACHE_TTL: '1',
    }),
    startApi({
      INTROSPECTION_CLIENT_ID: rs.client_id,
      INTROSPECTION_CLIENT_SECRET: 'definitely-not-the-secret',
      INTROSPECTION_CACHE_TTL: '1',
    }),
  ]);
}, 45_000);

afterAll(async () => {
  await Promise.all([stopApi(api), stopApi(wrongApi)]);
  await server?.close();
});

// --- helpers ---------------------------------------------------------------

/** The seed's flow for a new client and user: its access token and granted scope. */
async function seedToken(scope: string) {
  const c = await server.client();
  const user = await server.user();
  const body = await seedTokens(server.issuer, c, user, scope);
  return { token: body.access_token as string, scope: body.scope as string, client: c, user };
}

// --- tests ---------------------------------------------------------------------

describe('the API process checks tokens by introspection (RFC 7662)', () => {
  test("a token from the code flow works at /api/me of the API process, with the seed's exact envelope", async () => {
    const { token, user } = await seedToken('profile buy buy_history');
    const res = await call(api.base, '/api/me', { token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      code: 0,
      success: true,
      username: user.username,
      server_id: user.serverId,
      msg: '查詢成功',
      ts: expect.any(Number),
    });
    expectTs(res.body.ts);
  });

  test('no token → 401 with a bare "Bearer" challenge; an unknown token → 401 invalid_token', async () => {
    const none = await call(api.base, '/api/me');
    expectEnvelopeError(none, 401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    for (const path of ['/api/me', '/api/orders'])
      expectInvalidToken(await call(api.base, path, { token: `unknown-${Date.now()}-token` }));
  });

  test('a token revoked at the provider is refused once the cache TTL (1 s) has passed', async () => {
    const { token, client: c } = await seedToken('profile buy_history');
    expect((await call(api.base, '/api/me', { token })).status).toBe(200);
    const revoke = await fetch(`${server.issuer}/oauth/revoke`, {
      method: 'POST',
      headers: { authorization: basic(c), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    });
    expect(revoke.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    expectInvalidToken(await call(api.base, '/api/me', { token }));
    expectInvalidToken(await call(api.base, '/api/orders', { token }));
  });

  test('scopes come through introspection: a "profile" token → 403 insufficient_scope at /api/orders and /api/items/buy', async () => {
    const { token } = await seedToken('profile');
    expect((await call(api.base, '/api/me', { token })).status).toBe(200);
    const orders = await call(api.base, '/api/orders', { token });
    expectEnvelopeError(orders, 403);
    expect(orders.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope", scope="buy_history"');
    const bought = await buy(api.base, token, 'ITEM_001', 'SCOPE-TX');
    expectEnvelopeError(bought, 403);
    expect(bought.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope", scope="buy"');
  });

  test("a client_credentials token (no user) → 401 invalid_token saying it is a client's token, as in-process", async () => {
    const c = await server.client({ grantTypes: ['client_credentials'], redirectUris: [] });
    const res = await fetch(`${server.issuer}/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic(c), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'profile buy buy_history' }),
    });
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as Json;
    const me = await call(api.base, '/api/me', { token: access_token });
    expectInvalidToken(me);
    const said =
      'this token was issued to a client, not a user (client_credentials); GET /api/me needs a token a user authorized';
    expect(me.body.msg).toBe(said);
    expect(me.headers.get('www-authenticate')).toBe(`Bearer error="invalid_token", error_description="${said}"`);
  });

  test("an OpenID Connect client's token (openid profile buy buy_history, no resource) works through introspection as it does in-process", async () => {
    const c = await server.client({ redirectUris: [REDIRECT_URI] });
    const user = await server.user();
    const url = `${server.issuer}/oauth/authorize?response_type=code&client_id=${c.client_id}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&scope=${encodeURIComponent('openid profile buy buy_history')}&state=s-oidc&nonce=n-oidc`;
    const { callback } = await authorize(new UserAgent(server.issuer), url, {
      username: user.username,
      password: user.password,
      consent: 'allow',
    });
    const res = await fetch(`${server.issuer}/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic(c), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        redirect_uri: REDIRECT_URI,
      }),
    });
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as Json;
    expect((await call(server.issuer, '/api/me', { token: access_token })).status).toBe(200);
    const me = await call(api.base, '/api/me', { token: access_token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ code: 0, success: true, username: user.username });
  });
});

describe('purchases and orders through the API process', () => {
  test("a purchase, its replay and a conflicting tx_id; the orders read back in the seed's shape, the same from the provider's in-process /api (one database)", async () => {
    const { token } = await seedToken('profile buy buy_history');
    expectBought(await buy(api.base, token, 'ITEM_001', '20230901120000123456'));
    expectBought(await buy(api.base, token, 'ITEM_001', '20230901120000123456'));
    expectBought(await buy(api.base, token, 'ITEM_002', '20230901120000233441', '2023-09-02T08:00:00+08:00'));
    const conflict = await buy(api.base, token, 'ITEM_002', '20230901120000123456');
    expectEnvelopeError(conflict, 409);
    expectEnvelopeError(await buy(api.base, token, 'NO_SUCH_ITEM', 'T404'), 404);

    const res = await call(api.base, '/api/orders', { token });
    expect(res.status).toBe(200);
    const expected = [
      {
        tx_id: '20230901120000233441',
        item_id: 'ITEM_002',
        item_name: '品項2',
        item_img_url: 'https://img.example.com/img/item_002.png',
        amount: '250',
        buy_at: String(Date.UTC(2023, 8, 2) / 1000),
      },
      {
        tx_id: '20230901120000123456',
        item_id: 'ITEM_001',
        item_name: '品項1',
        item_img_url: 'https://img.example.com/img/item_001.png',
        amount: '100',
        buy_at: '1693574542',
      },
    ];
    expect(res.body).toEqual({
      code: 0,
      success: true,
      msg: '查詢成功',
      ts: expect.any(Number),
      orders: expected,
      next_cursor: null,
    });
    expectTs(res.body.ts);
    expect((await call(server.issuer, '/api/orders', { token })).body.orders).toEqual(expected);

    // Pagination works the same through the API process.
    const first = await call(api.base, '/api/orders?limit=1', { token });
    expect(first.body.orders).toEqual([expected[0]]);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await call(api.base, `/api/orders?limit=1&cursor=${encodeURIComponent(first.body.next_cursor)}`, {
      token,
    });
    expect(second.body).toMatchObject({ orders: [expected[1]], next_cursor: null });
  });

  test('the public catalog is served by the API process too', async () => {
    const res = await call(api.base, '/api/items');
    expect(res.status).toBe(200);
    expect(res.body.items).toContainEqual({
      item_id: 'ITEM_001',
      item_name: '品項1',
      item_img_url: 'https://img.example.com/img/item_001.png',
      amount: '100',
    });
  });
});

describe('the API process with wrong introspection credentials', () => {
  test('a valid token → 503 in the envelope (temporarily unavailable), not 500, no stack trace', async () => {
    const { token } = await seedToken('profile buy buy_history');
    // The token itself is good: the correctly configured API process accepts it.
    expect((await call(api.base, '/api/me', { token })).status).toBe(200);
    for (const path of ['/api/me', '/api/orders']) {
      const res = await call(wrongApi.base, path, { token });
      expectEnvelopeError(res, 503);
      expect(res.body.code).toBe(50301);
      // Not the client's token's fault: no invalid_token challenge.
      expect(res.headers.get('www-authenticate') ?? '').not.toMatch(/invalid_token/);
      expect(res.text).not.toMatch(STACK);
    }
    const purchase = await buy(wrongApi.base, token, 'ITEM_001', 'WRONG-CREDS');
    expectEnvelopeError(purchase, 503);
    // Nothing was bought.
    expect((await call(api.base, '/api/orders', { token })).body.orders).toEqual([]);
  });

  test('an endpoint that needs no token still works there (/api/items), and the process stays up', async () => {
    const res = await call(wrongApi.base, '/api/items');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ code: 0, success: true });
    expect(wrongApi.child.exitCode).toBeNull();
    expect((await fetch(`${wrongApi.base}/healthz`)).status).toBe(200);
  });
});
