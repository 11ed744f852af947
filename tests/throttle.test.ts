// Brute-force throttling: failed sign-ins per username and per IP, failed
// client authentications per (client, IP); counters in the database, so a
// second node sees them too.
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, isPage, type Page } from './helpers/user-agent.js';
import { basic } from './helpers/http.js';

const LIMITS = {
  LOGIN_MAX_FAILURES_PER_USER: '3',
  LOGIN_MAX_FAILURES_PER_IP: '40',
  CLIENT_AUTH_MAX_FAILURES: '3',
  THROTTLE_WINDOW: '60',
};

// The per-IP counters (LOGIN_MAX_FAILURES_PER_IP, CLIENT_AUTH_MAX_FAILURES_PER_IP)
// would otherwise add up over every test of this file, all from 127.0.0.1, so
// a test's outcome would depend on how many failed before it. With TRUST_PROXY
// the app takes the client address from X-Forwarded-For (as behind a real
// proxy), and each test signs in from an address of its own (RFC 5737
// documentation range).
const PROXIED = { ...LIMITS, TRUST_PROXY: 'true' };
let addresses = 0;
const nextAddress = () => `203.0.113.${++addresses}`;
let ip: string;
beforeEach(() => {
  ip = nextAddress();
});

let server: TestServer;
beforeAll(async () => {
  server = await startServer(PROXIED);
});
afterAll(() => server.close());

async function loginPage(client: { client_id: string }): Promise<{ ua: UserAgent; page: Page }> {
  const ua = new UserAgent(server.issuer, { 'x-forwarded-for': ip });
  const page = await ua.navigate(
    `${server.issuer}/oauth/authorize?response_type=code&client_id=${client.client_id}&scope=profile&state=s`,
  );
  if (!isPage(page)) throw new Error('expected the login page');
  return { ua, page };
}

/** One sign-in attempt; `signedIn` when it got past the login page (to consent or back to the client). */
async function attempt(client: { client_id: string }, username: string, password: string) {
  const { ua, page } = await loginPage(client);
  const result = await ua.submit(page, '/login', { username, password });
  if (!isPage(result)) return { status: 302, html: '', signedIn: true };
  return { status: result.status, html: result.html, signedIn: result.html.includes('/confirm"') };
}

const message = (html: string) => /<p class="error" role="alert">([^<]*)<\/p>/.exec(html)?.[1];

test('after 3 wrong passwords the username is refused with 429 and a clear message, even with the right password', async () => {
  const client = await server.client();
  const user = await server.user();
  for (let i = 0; i < 3; i++) expect((await attempt(client, user.username, 'wrong password')).status).toBe(401);
  const blocked = await attempt(client, user.username, user.password);
  expect(blocked.status).toBe(429);
  expect(message(blocked.html)).toBe('Too many failed sign-ins. Try again in 1 minutes.');
});

test('an unknown username is throttled exactly like a known one: same statuses, same words', async () => {
  const client = await server.client();
  const user = await server.user();
  const known: [number, string | undefined][] = [];
  const unknown: [number, string | undefined][] = [];
  for (let i = 0; i < 4; i++) {
    const k = await attempt(client, user.username, 'wrong password');
    known.push([k.status, message(k.html)]);
    const u = await attempt(client, `nobody-${user.username}`, 'wrong password');
    unknown.push([u.status, message(u.html)]);
  }
  expect(unknown).toEqual(known);
  expect(known.map(([s]) => s)).toEqual([401, 401, 401, 429]);
});

test('one throttled username does not lock out another, and a success clears the count', async () => {
  const client = await server.client();
  const alice = await server.user();
  const bob = await server.user();
  for (let i = 0; i < 3; i++) await attempt(client, alice.username, 'wrong password');
  expect((await attempt(client, alice.username, alice.password)).status).toBe(429);
  expect((await attempt(client, bob.username, bob.password)).signedIn).toBe(true);

  const carol = await server.user();
  for (let i = 0; i < 2; i++) await attempt(client, carol.username, 'wrong password');
  expect((await attempt(client, carol.username, carol.password)).signedIn).toBe(true);
  for (let i = 0; i < 2; i++) await attempt(client, carol.username, 'wrong password');
  expect((await attempt(client, carol.username, carol.password)).signedIn).toBe(true);
});

const ccToken = (issuer: string, id: string, secret: string) =>
  fetch(`${issuer}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: basic({ client_id: id }, secret),
      'content-type': 'application/x-www-form-urlencoded',
      'x-forwarded-for': ip,
    },
    body: 'grant_type=client_credentials',
  });

test('after 3 failed client authentications the client is refused with 429 and Retry-After; other clients are not', async () => {
  const client = await server.client({ grantTypes: ['client_credentials'], redirectUris: [] });
  const other = await server.client({ grantTypes: ['client_credentials'], redirectUris: [] });
  for (let i = 0; i < 3; i++) expect((await ccToken(server.issuer, client.client_id, 'wrong')).status).toBe(401);
  const blocked = await ccToken(server.issuer, client.client_id, client.client_secret!);
  expect(blocked.status).toBe(429);
  expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(await blocked.json()).toEqual({
    error: 'invalid_client',
    error_description: expect.stringMatching(/^too many failed client authentications; retry in \d+ seconds$/),
  });
  expect((await ccToken(server.issuer, other.client_id, other.client_secret!)).status).toBe(200);
});

test('the counters live in the database: a second node refuses the same username', async () => {
  const client = await server.client();
  const user = await server.user();
  for (let i = 0; i < 3; i++) await attempt(client, user.username, 'wrong password');
  // Same database and same secrets, as two nodes of one deployment.
  const second = await startServer({ ...PROXIED, DATABASE_URL: server.config.databaseUrl, DATA_DIR: server.dir });
  try {
    expect((await attempt(client, user.username, user.password)).status).toBe(429);
    const ua = new UserAgent(second.issuer, { 'x-forwarded-for': ip });
    const page = await ua.navigate(
      `${second.issuer}/oauth/authorize?response_type=code&client_id=${client.client_id}&scope=profile&state=s`,
    );
    if (!isPage(page)) throw new Error('expected the login page');
    const result = await ua.submit(page, '/login', { username: user.username, password: user.password });
    expect(isPage(result) && result.status).toBe(429);
  } finally {
    await second.close();
  }
});

test('too many failures from one IP are refused whatever the username (per-IP limit)', async () => {
  const fresh = await startServer({ ...PROXIED, LOGIN_MAX_FAILURES_PER_USER: '100', LOGIN_MAX_FAILURES_PER_IP: '12' });
  try {
    const client = await fresh.client();
    const user = await fresh.user();
    const ua = new UserAgent(fresh.issuer, { 'x-forwarded-for': ip });
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) {
      const page = await ua.navigate(
        `${fresh.issuer}/oauth/authorize?response_type=code&client_id=${client.client_id}&scope=profile&state=s`,
      );
      if (!isPage(page)) throw new Error('expected the login page');
      const result = await ua.submit(page, '/login', { username: `someone${i}`, password: 'wrong password' });
      statuses.push(isPage(result) ? result.status : 302);
    }
    expect(statuses.slice(0, 12).every((s) => s === 401)).toBe(true);
    expect(statuses[12]).toBe(429);
    const page = await ua.navigate(
      `${fresh.issuer}/oauth/authorize?response_type=code&client_id=${client.client_id}&scope=profile&state=s`,
    );
    if (!isPage(page)) throw new Error('expected the login page');
    const result = await ua.submit(page, '/login', { username: user.username, password: user.password });
    expect(isPage(result) && result.status).toBe(429);

    // The count is the address's, not the server's: the same person from another address signs in.
    const elsewhere = new UserAgent(fresh.issuer, { 'x-forwarded-for': nextAddress() });
    const again = await elsewhere.navigate(
      `${fresh.issuer}/oauth/authorize?response_type=code&client_id=${client.client_id}&scope=profile&state=s`,
    );
    if (!isPage(again)) throw new Error('expected the login page');
    const signedIn = await elsewhere.submit(again, '/login', { username: user.username, password: user.password });
    expect(isPage(signedIn) && signedIn.html.includes('/confirm"')).toBe(true);
  } finally {
    await fresh.close();
  }
});

test('parallel attempts cannot slip under the limit: of 20 at once, only 3 get a password check', async () => {
  const client = await server.client();
  const user = await server.user();
  const pages = await Promise.all(Array.from({ length: 20 }, () => loginPage(client)));
  const results = await Promise.all(
    pages.map(({ ua, page }) => ua.submit(page, '/login', { username: user.username, password: 'wrong password' })),
  );
  const statuses = results.map((r) => (isPage(r) ? r.status : 302)).sort();
  expect(statuses.filter((s) => s === 401)).toHaveLength(3);
  expect(statuses.filter((s) => s === 429)).toHaveLength(17);
});

test('client_secret_post failures count against the IP: past its limit even the right secret is refused', async () => {
  const fresh = await startServer({ ...LIMITS, CLIENT_AUTH_MAX_FAILURES_PER_IP: '5' });
  try {
    const client = await fresh.client({
      grantTypes: ['client_credentials'],
      redirectUris: [],
      authMethod: 'client_secret_post',
    });
    const post = (secret: string) =>
      fetch(`${fresh.issuer}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: client.client_id,
          client_secret: secret,
        }),
      });
    for (let i = 0; i < 5; i++) expect((await post('wrong')).status).toBe(401);
    const blocked = await post(client.client_secret!);
    expect(blocked.status).toBe(429);
    expect(((await blocked.json()) as { error: string }).error).toBe('invalid_client');
  } finally {
    await fresh.close();
  }
});
