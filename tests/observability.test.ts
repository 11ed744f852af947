// What an operator sees: a request id per request, JSON logs without any
// secret in them, Prometheus metrics; and the security headers every answer carries.
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, authorize } from './helpers/user-agent.js';
import { STACK, basic } from './helpers/http.js';
import { ROUTES } from '../src/routes.js';
import { createApp } from '../src/app.js';

const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';
let server: TestServer;
beforeAll(async () => {
  server = await startServer({ LOG_LEVEL: 'debug', METRICS_TOKEN });
});
afterAll(() => server.close());

const form = (issuer: string, path: string, auth: string, body: Record<string, string>) =>
  fetch(`${issuer}${path}`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body),
  });

/** A whole day of a client's life, returning every secret value that crossed the wire. */
async function busyDay(): Promise<string[]> {
  const client = await server.client({ grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'] });
  const user = await server.user({ password: 'log-scan passphrase 42' });
  await server.prepared.shop.putItem({
    itemId: 'ITEM_LOG',
    name: 'x',
    imgUrl: 'https://img.example.com/x.png',
    amount: 1,
  });
  const ua = new UserAgent(server.issuer);
  // A wrong password first, then the right one.
  const first = await ua.navigate(
    `${server.issuer}/oauth/authorize?response_type=code&client_id=${client.client_id}&scope=openid profile buy offline_access&prompt=consent&state=st4te-log&nonce=n0nce-log&redirect_uri=${encodeURIComponent('http://127.0.0.1:9999/cb')}`,
  );
  if (!('html' in first)) throw new Error('expected the login page');
  await ua.submit(first, '/login', { username: user.username, password: 'the wrong passphrase' });
  const { callback } = await authorize(
    ua,
    `${server.issuer}/oauth/authorize?response_type=code&client_id=${client.client_id}&scope=openid profile buy offline_access&prompt=consent&state=st4te-log&nonce=n0nce-log&redirect_uri=${encodeURIComponent('http://127.0.0.1:9999/cb')}`,
    { username: user.username, password: user.password, consent: 'allow' },
  );
  const code = callback.searchParams.get('code')!;
  const auth = basic(client);
  const tokens = (await (
    await form(server.issuer, '/oauth/token', auth, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: 'http://127.0.0.1:9999/cb',
    })
  ).json()) as Record<string, string>;
  await form(server.issuer, '/oauth/token', basic(client, 'not-the-secret'), { grant_type: 'client_credentials' });
  const cc = (await (
    await form(server.issuer, '/oauth/token', auth, { grant_type: 'client_credentials', scope: 'buy' })
  ).json()) as Record<string, string>;
  const refreshed = (await (
    await form(server.issuer, '/oauth/token', auth, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
    })
  ).json()) as Record<string, string>;
  await form(server.issuer, '/oauth/introspect', auth, { token: refreshed.access_token! });
  await fetch(`${server.issuer}/oauth/userinfo`, { headers: { authorization: `Bearer ${refreshed.access_token}` } });
  await fetch(`${server.issuer}/api/me`, { headers: { authorization: `Bearer ${refreshed.access_token}` } });
  await fetch(`${server.issuer}/api/items/buy`, {
    method: 'POST',
    headers: { authorization: `Bearer ${refreshed.access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ item_id: 'ITEM_LOG', tx_id: 'tx-log-1', buy_at: '2023-09-01 13:22:22' }),
  });
  await form(server.issuer, '/oauth/revoke', auth, { token: refreshed.refresh_token! });
  await fetch(`${server.issuer}/api/me`, { headers: { authorization: `Bearer ${refreshed.access_token}` } });
  return [
    user.password,
    'the wrong passphrase',
    client.client_secret!,
    code,
    tokens.access_token!,
    tokens.refresh_token!,
    tokens.id_token!,
    cc.access_token!,
    refreshed.access_token!,
    refreshed.refresh_token!,
    refreshed.id_token!,
    ...[...ua.cookies.values()],
  ];
}

test('no password, secret, code, token or cookie ever appears in a log line', async () => {
  const secrets = await busyDay();
  expect(secrets.every((s) => typeof s === 'string' && s.length >= 16)).toBe(true);
  expect(server.logs.length).toBeGreaterThanOrEqual(15);
  const leaks = server.logs.flatMap((line) =>
    secrets.filter((s) => line.includes(s)).map((s) => `${s.slice(0, 6)}… in ${line.slice(0, 200)}`),
  );
  expect(leaks).toEqual([]);
  // Neither do the fragments a careless log would keep: query strings and Authorization headers.
  expect(server.logs.filter((l) => /code=|state=st4te|Bearer |Basic /.test(l))).toEqual([]);
});

test('every request gets an id, echoed as X-Request-Id and found in its log line', async () => {
  const res = await fetch(`${server.issuer}/healthz`, { headers: { 'x-request-id': 'client-chosen-id' } });
  const id = res.headers.get('x-request-id')!;
  // Not behind a trusted proxy: a client's id is not taken as ours.
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  const line = server.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.reqId === id);
  expect(line).toMatchObject({ msg: 'request', method: 'GET', route: '/healthz', status: 200 });
});

test('/metrics needs its token, then shows requests, tokens by grant, and failures', async () => {
  expect((await fetch(`${server.issuer}/metrics`)).status).toBe(401);
  await busyDay();
  const res = await fetch(`${server.issuer}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const text = await res.text();
  expect(text).toMatch(/^http_requests_total\{method="POST",route="\/oauth\/token",status="200"\} \d+$/m);
  expect(text).toMatch(
    /^http_request_duration_seconds_bucket\{le="0.1",method="GET",route="\/api\/me",status="200"\} \d+$/m,
  );
  expect(text).toMatch(/^http_requests_total\{method="GET",route="\/interaction\/:uid",status="200"\} \d+$/m);
  expect(text).toMatch(/^oauth_tokens_issued_total\{grant_type="authorization_code"\} [1-9]\d*$/m);
  expect(text).toMatch(/^oauth_tokens_issued_total\{grant_type="client_credentials"\} [1-9]\d*$/m);
  expect(text).toMatch(/^oauth_tokens_issued_total\{grant_type="refresh_token"\} [1-9]\d*$/m);
  expect(text).toMatch(/^login_failures_total\{reason="bad_credentials"\} [1-9]\d*$/m);
  expect(text).toMatch(/^client_auth_failures_total [1-9]\d*$/m);
  // Ids in paths are folded into templates: no raw interaction uid as a label.
  expect(text).not.toMatch(/route="\/interaction\/[\w-]{20,}/);
});

test('HTML pages carry a CSP without inline script, frame-ancestors none, nosniff, no-referrer and no-store', async () => {
  const client = await server.client();
  const ua = new UserAgent(server.issuer);
  const page = await ua.navigate(
    `${server.issuer}/oauth/authorize?response_type=code&client_id=${client.client_id}&scope=profile&state=s`,
  );
  if (!('html' in page)) throw new Error('expected the login page');
  const csp = page.headers.get('content-security-policy')!;
  expect(csp).toMatch(/script-src 'self'(;|$)/);
  expect(csp).not.toContain('unsafe-inline');
  expect(csp).toContain("frame-ancestors 'none'");
  expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  expect(page.headers.get('x-frame-options')).toBe('DENY');
  expect(page.headers.get('cache-control')).toBe('no-store');
  // Over plain http there is no HSTS (it is only meaningful over TLS).
  expect(page.headers.get('strict-transport-security')).toBeNull();
});

test('the redirect that carries a code, and API answers, are no-store with the same headers', async () => {
  const client = await server.client();
  const user = await server.user();
  const ua = new UserAgent(server.issuer);
  const url = `${server.issuer}/oauth/authorize?response_type=code&client_id=${client.client_id}&scope=profile&state=s`;
  await authorize(ua, url, { ...user, consent: 'allow' });
  const again = await ua.request(url);
  expect(again.status).toBe(303);
  expect(again.headers.get('location')).toMatch(/[?&]code=/);
  expect(again.headers.get('cache-control')).toBe('no-store');
  const api = await fetch(`${server.issuer}/api/items`);
  expect(api.headers.get('cache-control')).toBe('no-store');
  expect(api.headers.get('x-content-type-options')).toBe('nosniff');
  expect(api.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
});

test('response_mode=form_post still works under the CSP: the library allows exactly its own script by hash', async () => {
  const client = await server.client();
  const user = await server.user();
  const ua = new UserAgent(server.issuer);
  const url = `${server.issuer}/oauth/authorize?response_type=code&response_mode=form_post&client_id=${client.client_id}&scope=profile&state=s`;
  await authorize(ua, url, { ...user, consent: 'allow' }).catch(() => undefined);
  const res = await ua.request(url);
  const html = await res.text();
  expect(html).toMatch(/<form[^>]+method="post"[^>]+action="http:\/\/127\.0\.0\.1:9999\/cb"/);
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256').update(script).digest('base64');
  expect(res.headers.get('content-security-policy')).toContain(`'sha256-${hash}'`);
});

test('STACK, the leak pattern every test applies to bodies, matches real stack traces and no page, document or token the server sends', async () => {
  const thrown = [new TypeError('boom'), new Error('x'), new RangeError('y')].map((e) => e.stack!);
  for (const stack of thrown) expect(stack).toMatch(STACK);
  expect(`failed: ${process.cwd()}/data/app.db`).toMatch(STACK);

  const client = await server.client({ grantTypes: ['authorization_code', 'client_credentials'] });
  const user = await server.user();
  await server.prepared.shop.putItem({
    itemId: 'ITEM_STACK',
    name: '品項',
    imgUrl: 'https://img.example.com/img/item.png',
    amount: 1,
  });
  const ua = new UserAgent(server.issuer);
  const authUrl = `${server.issuer}${ROUTES.oauth.authorization}?response_type=code&client_id=${client.client_id}&scope=openid profile buy&state=s&nonce=n&redirect_uri=${encodeURIComponent('http://127.0.0.1:9999/cb')}`;
  const login = await ua.navigate(authUrl);
  const { callback } = await authorize(new UserAgent(server.issuer), authUrl, {
    username: user.username,
    password: user.password,
    consent: 'allow',
  });
  const tokens = await form(server.issuer, ROUTES.oauth.token, basic(client), {
    grant_type: 'authorization_code',
    code: callback.searchParams.get('code')!,
    redirect_uri: 'http://127.0.0.1:9999/cb',
  });
  const bodies = [
    'html' in login ? login.html : '',
    await tokens.text(),
    ...(await Promise.all(
      [
        ROUTES.openidConfiguration,
        ROUTES.oauth.jwks,
        ROUTES.apiItems,
        ROUTES.healthz,
        `${ROUTES.interaction}/unknown`,
        `${ROUTES.oauth.authorization}?client_id=nope`,
        ROUTES.demoCallback,
      ].map(async (path) => (await fetch(`${server.issuer}${path}`)).text()),
    )),
    await (
      await fetch(`${server.issuer}${ROUTES.metrics}`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    ).text(),
  ];
  expect(bodies.filter((b) => b.length > 0)).toHaveLength(bodies.length);
  expect(bodies.filter((b) => STACK.test(b))).toEqual([]);
});

test('a second app on the same services counts each token once: the provider events are wired once per node', async () => {
  // Another mount of the same node's services (src/compose.ts wires the provider's events, not createApp).
  createApp(server.prepared);
  const client = await server.client({ grantTypes: ['client_credentials'], redirectUris: [] });
  const issued = async () => {
    const res = await fetch(`${server.issuer}${ROUTES.metrics}`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    const line = (await res.text()).match(/^oauth_tokens_issued_total\{grant_type="client_credentials"\} (\d+)$/m);
    return Number(line?.[1] ?? 0);
  };
  const before = await issued();
  const res = await form(server.issuer, ROUTES.oauth.token, basic(client), { grant_type: 'client_credentials' });
  expect(res.status).toBe(200);
  expect(await issued()).toBe(before + 1);
});
