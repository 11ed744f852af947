// A bounded burst of malformed and hostile requests at every endpoint we
// serve: /oauth/* (authorize, token, userinfo, jwks, introspect, revoke,
// logout, par), /interaction/*, /healthz and /.well-known/*. Whatever arrives,
// the server answers as a client error, says nothing about its insides, keeps
// the OAuth error shape on its JSON endpoints (RFC 6749 §5.2), and is still
// healthy and correct afterwards.
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, authorize, findForm, isPage, type Page } from './helpers/user-agent.js';
import { STACK, basic } from './helpers/http.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const REDIRECT = 'http://127.0.0.1:9999/cb';
const LOGGED_OUT = 'http://127.0.0.1:9999/logged-out';
const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

type Client = Awaited<ReturnType<TestServer['client']>>;
type User = Awaited<ReturnType<TestServer['user']>>;

// Created before the burst; must work exactly as before once it is over.
let client: Client;
let user: User;
let countsBefore: { accounts: number; clients: number };
// A person half-way through signing in while the burst goes on; their
// interaction (uid, cookies, CSRF token) is a target too.
let person: UserAgent;
let loginPage: Page;
let uid: string;
let csrf: string;

const cookieHeader = (ua: UserAgent) => [...ua.cookies].map(([k, v]) => `${k}=${v}`).join('; ');

beforeAll(async () => {
  client = await server.client({
    name: 'Before the burst',
    redirectUris: [REDIRECT],
    postLogoutRedirectUris: [LOGGED_OUT],
  });
  user = await server.user({ email: 'before@example.com' });
  countsBefore = { accounts: await server.prepared.accounts.count(), clients: await server.prepared.clients.count() };

  person = new UserAgent(server.issuer, BROWSER);
  const step = await person.navigate(authorizeUrl({ state: 'in-flight' }));
  if (!isPage(step)) throw new Error('expected the login page');
  loginPage = step;
  uid = /\/interaction\/([\w-]+)$/.exec(loginPage.url)![1]!;
  csrf = findForm(loginPage.html, '/login').hidden.csrf!;
});

function authorizeUrl(params: Record<string, string> = {}): string {
  return `${server.issuer}/oauth/authorize?${new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    scope: 'openid profile email',
    ...params,
  })}`;
}

// ---------------------------------------------------------------------------
// The endpoints, and what a well-behaved answer from each looks like.

interface Endpoint {
  path: () => string;
  /** The method a legitimate caller uses. */
  method: 'GET' | 'POST';
  /** A JSON API: its errors are RFC 6749 §5.2 objects. */
  json: boolean;
  /** Send the in-flight person's cookies along (interaction pages). */
  withPersonCookies?: boolean;
}

const ENDPOINTS: Record<string, Endpoint> = {
  authorize: { path: () => '/oauth/authorize', method: 'GET', json: false },
  'authorize (POST)': { path: () => '/oauth/authorize', method: 'POST', json: false },
  token: { path: () => '/oauth/token', method: 'POST', json: true },
  userinfo: { path: () => '/oauth/userinfo', method: 'GET', json: true },
  'userinfo (POST)': { path: () => '/oauth/userinfo', method: 'POST', json: true },
  jwks: { path: () => '/oauth/jwks', method: 'GET', json: true },
  introspect: { path: () => '/oauth/introspect', method: 'POST', json: true },
  revoke: { path: () => '/oauth/revoke', method: 'POST', json: true },
  par: { path: () => '/oauth/par', method: 'POST', json: true },
  logout: { path: () => '/oauth/logout', method: 'GET', json: false },
  'logout (POST)': { path: () => '/oauth/logout', method: 'POST', json: false },
  'logout confirm': { path: () => '/oauth/logout/confirm', method: 'POST', json: false },
  interaction: { path: () => `/interaction/${uid}`, method: 'GET', json: false, withPersonCookies: true },
  'interaction login': {
    path: () => `/interaction/${uid}/login`,
    method: 'POST',
    json: false,
    withPersonCookies: true,
  },
  'interaction confirm': {
    path: () => `/interaction/${uid}/confirm`,
    method: 'POST',
    json: false,
    withPersonCookies: true,
  },
  'interaction abort': {
    path: () => `/interaction/${uid}/abort`,
    method: 'POST',
    json: false,
    withPersonCookies: true,
  },
  'unknown interaction': { path: () => '/interaction/no-such-uid/login', method: 'POST', json: false },
  healthz: { path: () => '/healthz', method: 'GET', json: true },
  'openid-configuration': { path: () => '/.well-known/openid-configuration', method: 'GET', json: true },
  'oauth-authorization-server': { path: () => '/.well-known/oauth-authorization-server', method: 'GET', json: true },
};
// Routes nobody serves, in the JSON areas; only the wrong-method test uses them.
const UNKNOWN: Record<string, Endpoint> = {
  'unknown /oauth route': { path: () => '/oauth/no-such-endpoint', method: 'GET', json: true },
  'unknown .well-known': { path: () => '/.well-known/no-such-document', method: 'GET', json: true },
};

interface Probe {
  method?: string;
  /** Appended to the endpoint's path: a query string or extra path. */
  suffix?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | FormData | URLSearchParams;
  /** Replace the person's cookies by these. */
  cookie?: string;
  /** A browser's Accept header instead of fetch's "*∕*". */
  browser?: boolean;
}

interface Outcome {
  label: string;
  status: number;
  problems: string[];
}

// Stack frames, file paths and exception names (STACK, the one pattern every
// test uses), and database internals: none of it may reach a caller.
const LEAKS: [string, RegExp][] = [
  ['stack trace or internal path', STACK],
  ['database internals', /prisma|SQLITE_|sqlite3?\b|PrismaClient/i],
];
// RFC 6749 §5.2: error and error_description are limited to %x20-21 / %x23-5B / %x5D-7E.
const ERROR_CHARS = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;
const XSS = '"><script>alert(1)</script>';

async function send(name: string, probe: Probe): Promise<Outcome> {
  const ep = ENDPOINTS[name] ?? UNKNOWN[name]!;
  const method = probe.method ?? ep.method;
  // Pages get a browser's Accept header when the probe asks; APIs always get
  // what an OAuth client library sends ("*/*"), because the library answers
  // errors as HTML to whoever prefers HTML.
  const headers: Record<string, string> = { ...(probe.browser && !ep.json ? BROWSER : {}), ...probe.headers };
  const cookie = probe.cookie ?? (ep.withPersonCookies ? cookieHeader(person) : undefined);
  if (cookie) headers.cookie = cookie;
  const url = `${server.issuer}${ep.path()}${probe.suffix ?? ''}`;
  const label = `${method} ${ep.path()}${(probe.suffix ?? '').slice(0, 60)}`;
  let res = await fetch(url, {
    method,
    headers,
    body: method === 'GET' || method === 'HEAD' ? undefined : probe.body,
    redirect: 'manual',
  });
  const problems: string[] = [];
  // src/oidc/post-as-get-shim.ts answers a form POST at the authorization and
  // logout endpoints with 303 to that same endpoint, the fields as its query
  // (OIDC Core §3.1.2.1, RP-Initiated Logout §2). That hop must lead nowhere
  // else and carry nothing injected; then the GET it leads to is judged below.
  const hop = method === 'POST' && res.status === 303 ? new URL(res.headers.get('location') ?? '', url) : undefined;
  if (hop && hop.origin === server.issuer && hop.pathname === ep.path()) {
    for (const [header, value] of res.headers) {
      if (/injected/i.test(header) || (header === 'set-cookie' && /injected/i.test(value)))
        problems.push(`injected header on the 303: ${header}: ${value}`);
    }
    await res.arrayBuffer();
    res = await fetch(hop, { headers, redirect: 'manual' });
  }
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';

  if (res.status >= 500) problems.push(`status ${res.status}`);
  for (const [what, re] of LEAKS) {
    if (re.test(text)) problems.push(`body shows ${what}: ${text.slice(0, 200)}`);
  }
  if (server.dir && text.includes(server.dir)) problems.push('body shows the data directory');
  if (/html/.test(type) && text.includes('<script>alert(1)')) problems.push('HTML echoes a script tag unescaped');
  // A page a person sees for an error is ours (the layout sets <html lang>), not a bare library or framework page.
  if (/html/.test(type) && res.status >= 400 && !/<html lang="(en|zh-TW)">/.test(text))
    problems.push(`HTML error is not our error page: ${text.slice(0, 120)}`);
  for (const [header, value] of res.headers) {
    if (/injected/i.test(header) || (header === 'set-cookie' && /injected/i.test(value)))
      problems.push(`injected header: ${header}: ${value}`);
  }
  const location = res.headers.get('location');
  if (location && /evil\.example/.test(location)) problems.push(`redirects to an unregistered URI: ${location}`);

  // Node's own HTTP server answers 431 (request headers over its 16 KB limit)
  // before the application sees the request, with no body.
  const answeredByApp = res.status !== 431;
  const isJsonBody = /^application\/json/.test(type);
  if (res.status >= 400 && answeredByApp && (ep.json || isJsonBody)) {
    if (!isJsonBody) {
      problems.push(`JSON endpoint answered ${res.status} with ${type || 'no content type'}: ${text.slice(0, 120)}`);
    } else {
      try {
        const body = JSON.parse(text) as Record<string, unknown>;
        const extra = Object.keys(body).filter((k) => !['error', 'error_description', 'error_uri'].includes(k));
        if (typeof body.error !== 'string' || !body.error || !ERROR_CHARS.test(body.error))
          problems.push(`bad "error": ${text.slice(0, 200)}`);
        if (
          body.error_description !== undefined &&
          (typeof body.error_description !== 'string' || !ERROR_CHARS.test(body.error_description))
        ) {
          problems.push(
            `bad "error_description" (RFC 6749 §5.2 character set): ${JSON.stringify(body.error_description)}`,
          );
        }
        if (extra.length) problems.push(`extra members ${extra.join(', ')}`);
      } catch {
        problems.push(`unparseable JSON: ${text.slice(0, 120)}`);
      }
    }
  }
  return { label, status: res.status, problems };
}

/** Sends each probe to each endpoint; returns only what went wrong. */
async function burst(names: string[], probes: (name: string, ep: Endpoint) => Probe[]): Promise<string[]> {
  const failures: string[] = [];
  for (const name of names) {
    for (const probe of probes(name, ENDPOINTS[name] ?? UNKNOWN[name]!)) {
      const out = await send(name, probe);
      for (const p of out.problems) failures.push(`${out.label} -> ${out.status}: ${p}`);
    }
  }
  return failures;
}

const ALL = Object.keys(ENDPOINTS);
/** The endpoints a body is sent to (the others are GET-only). */
const POSTS = ALL.filter((name) => ENDPOINTS[name]!.method === 'POST');
/** Body probes only for endpoints that take a body. */
const ifPost = (ep: Endpoint, probes: Probe[]): Probe[] => (ep.method === 'POST' ? probes : []);
const form = { 'content-type': 'application/x-www-form-urlencoded' };
const big = (n: number) => 'A'.repeat(n);

// ---------------------------------------------------------------------------

/** Control characters, NUL, quotes, markup and unicode in the query and the body of every endpoint. */
async function garbageBurst(): Promise<string[]> {
  const garbage = new URLSearchParams({
    client_id: `\u0000\u0001${XSS}'; DROP TABLE Account;--`,
    redirect_uri: 'javascript:alert(1)',
    response_type: 'code id_token token none \u202e',
    scope: `openid ${'x'.repeat(300)} \uFFFF`,
    grant_type: '../../etc/passwd',
    code: '{"$ne":null}',
    token: '\u0000',
    state: XSS,
    nonce: '\uD83D\uDE00'.repeat(50),
    claims: '{"userinfo":{"email":{"essential":true}',
    request: 'not.a.jwt',
    request_uri: 'urn:ietf:params:oauth:request_uri:nope',
    max_age: '-1',
    prompt: 'none login consent select_account',
    ui_locales: XSS,
    login_hint: XSS,
    id_token_hint: 'a.b.c',
    post_logout_redirect_uri: 'https://evil.example/',
    xsrf: XSS,
    csrf: XSS,
    username: XSS,
    password: '\u0000',
    resource: 'file:///etc/passwd',
  });
  return burst(ALL, (_name, ep) => [
    { suffix: `?${garbage}` },
    { suffix: `?${garbage}`, browser: true },
    ...ifPost(ep, [
      { body: garbage.toString(), headers: form },
      { body: garbage.toString(), headers: form, browser: true },
    ]),
  ]);
}

describe('a burst of malformed requests', () => {
  test('garbage parameters (control characters, NUL, quotes, markup, unicode) in query and body', async () => {
    expect(await garbageBurst()).toEqual([]);
  });

  test("the same garbage with this client's real client_id and redirect_uri (past the client checks)", async () => {
    const params = (extra: Record<string, string>) =>
      new URLSearchParams({
        client_id: client.client_id,
        redirect_uri: REDIRECT,
        response_type: 'code',
        scope: 'openid',
        ...extra,
      }).toString();
    const cases: Record<string, string>[] = [
      { claims: '{"userinfo":' },
      { claims: '[1,2,3]' },
      { request: 'eyJhbGciOiJub25lIn0.e30.' },
      { request: 'garbage' },
      { max_age: 'NaN' },
      { prompt: 'none login' },
      { prompt: 'bogus' },
      { response_mode: 'web_message' },
      { response_type: 'token' },
      { code_challenge: 'short', code_challenge_method: 'plain' },
      { resource: 'https://not-our-api.example/' },
      { resource: 'not a uri' },
      { scope: `openid ${'s '.repeat(2000)}` },
      { ui_locales: '%ff %fe zz-ZZ' },
      { login_hint: XSS },
      { state: XSS, nonce: XSS },
    ];
    const failures = await burst(['authorize', 'authorize (POST)', 'par'], (name) =>
      cases.flatMap((c): Probe[] =>
        name === 'authorize'
          ? [{ suffix: `?${params(c)}`, browser: true }, { suffix: `?${params(c)}` }]
          : [
              {
                body: params(c),
                headers: { ...form, ...(name === 'par' ? { authorization: basic(client) } : {}) },
                browser: name !== 'par',
              },
            ],
      ),
    );
    expect(failures).toEqual([]);

    // The login page escapes a hostile login_hint instead of echoing markup.
    const ua = new UserAgent(server.issuer, BROWSER);
    const step = await ua.navigate(authorizeUrl({ login_hint: XSS }));
    expect(isPage(step)).toBe(true);
    expect((step as Page).status).toBe(200);
    expect((step as Page).html).not.toContain('<script>alert(1)');
    expect((step as Page).html).toContain('&lt;script&gt;');
  });

  test('oversized parameters: a >100 KB query string and >100 KB bodies', async () => {
    const hugeValue = big(110 * 1024);
    const failures = await burst(ALL, (_name, ep) => [
      { suffix: `?state=${hugeValue}` }, // over Node's header limit: 431 before the app
      { suffix: `?state=${big(10 * 1024)}&login_hint=${big(4 * 1024)}`, browser: true }, // large, but reaches the app
      ...ifPost(ep, [
        { headers: form, body: `client_id=${hugeValue}&grant_type=authorization_code&token=${hugeValue}` },
        { headers: { ...form, authorization: basic(client) }, body: `code=${hugeValue}&grant_type=authorization_code` },
        { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ x: hugeValue }) },
        { headers: form, body: `csrf=${csrf}&username=${big(12 * 1024)}&password=${big(12 * 1024)}` },
      ]),
    ]);
    expect(failures).toEqual([]);
  });

  test('a 100 KB multipart body to the token endpoint is refused with 413 invalid_request (src/oidc/multipart-token-shim.ts)', async () => {
    const body = new FormData();
    body.append('grant_type', 'authorization_code');
    body.append('code', big(100 * 1024));
    const res = await fetch(`${server.issuer}/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic(client) },
      body,
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: 'invalid_request', error_description: 'request body too large' });
  });

  test('duplicate parameters, in the query, in the body, and in both', async () => {
    const dup =
      `client_id=${client.client_id}&client_id=other&redirect_uri=${encodeURIComponent(REDIRECT)}&redirect_uri=https%3A%2F%2Fevil.example%2F` +
      '&response_type=code&response_type=code&scope=openid&scope=profile&state=1&state=2&grant_type=authorization_code&grant_type=refresh_token' +
      `&code=a&code=b&token=a&token=b&xsrf=a&xsrf=b&csrf=${csrf}&csrf=${csrf}&username=${user.username}&username=x&password=${encodeURIComponent(user.password)}&password=y` +
      `&post_logout_redirect_uri=${encodeURIComponent(LOGGED_OUT)}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F`;
    const failures = await burst(ALL, (_name, ep) => [
      { suffix: `?${dup}` },
      { suffix: `?${dup}`, browser: true },
      ...ifPost(ep, [
        { headers: form, body: dup },
        { headers: { ...form, authorization: basic(client) }, suffix: `?${dup}`, body: dup, browser: true },
      ]),
    ]);
    expect(failures).toEqual([]);

    // Duplicates are refused (OIDC Core §3.1.2.1 / RFC 6749 §3.1: parameters MUST NOT be included more than once).
    const token = await fetch(`${server.issuer}/oauth/token`, {
      method: 'POST',
      headers: { ...form, authorization: basic(client) },
      body: 'grant_type=authorization_code&grant_type=refresh_token&code=x',
    });
    expect(token.status).toBe(400);
    expect(((await token.json()) as { error: string }).error).toBe('invalid_request');
  });

  // A JSON endpoint answers every error as RFC 6749 §5.2 JSON, whatever the
  // method; HTTP (RFC 9110 §15.5.6) would make a wrong method 405 with Allow.
  test('wrong methods on every endpoint, and unknown routes under /oauth/ and /.well-known/', async () => {
    const failures = await burst([...ALL, ...Object.keys(UNKNOWN)], (name, ep) => [
      ...(name in UNKNOWN ? [{}] : []),
      // Mangled paths below a JSON endpoint are unknown routes in a JSON area too.
      ...(ep.json ? [{ suffix: '/%ff%fe' }, { suffix: '%zz' }, { suffix: '/..%2f..%2f..%2fetc%2fpasswd' }] : []),
      { method: ep.method === 'GET' ? 'POST' : 'GET', headers: form, body: ep.method === 'GET' ? 'a=b' : undefined },
      { method: 'PUT', headers: form, body: 'a=b' },
      { method: 'DELETE' },
      { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{}' },
      { method: 'OPTIONS' },
      { method: 'PROPFIND' },
    ]);
    expect(failures).toEqual([]);
  });

  test('wrong and broken content types', async () => {
    const failures = await burst(POSTS, () =>
      [
        { 'content-type': 'application/json' },
        { 'content-type': 'text/plain' },
        { 'content-type': 'application/xml' },
        { 'content-type': 'application/x-www-form-urlencoded; charset=bogus-charset' },
        { 'content-type': 'application/x-www-form-urlencoded; charset=utf-16' },
        { 'content-type': ';;;=' },
        { 'content-type': 'multipart/form-data' },
      ].map((headers) => ({ headers, body: 'grant_type=client_credentials&token=abc' })),
    );
    expect(failures).toEqual([]);
  });

  // RFC 9110 §15.5.16: an unsupported content coding is 415; a body that does
  // not decode under its declared coding is the client's error (400), never a 500.
  test('a body with an unknown Content-Encoding, or a corrupt gzip/deflate/br body, is a 4xx and never a 500', async () => {
    const failures = await burst(POSTS, () =>
      ['gzip', 'deflate', 'br', 'x-nonsense', 'gzip, x-nonsense'].map((coding) => ({
        headers: { ...form, 'content-encoding': coding },
        body: `csrf=${csrf}&grant_type=client_credentials&token=abc`,
      })),
    );
    expect(failures).toEqual([]);
  });

  test('invalid UTF-8 and broken percent-encoding in the path, the query and the body', async () => {
    const bad = 'client_id=%ff%fe&state=%zz&redirect_uri=%E0%A4%A&scope=%C0%AF&token=%&code=%%41&username=%ff&csrf=%00';
    const rawBytes = Buffer.concat([
      Buffer.from('grant_type=authorization_code&code='),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]),
      Buffer.from('&csrf='),
      Buffer.from([0xc0, 0xaf]),
    ]);
    const failures = await burst(ALL, (_name, ep) => [
      { suffix: `?${bad}` },
      { suffix: `?${bad}`, browser: true },
      ...ifPost(ep, [
        { headers: form, body: bad },
        { headers: form, body: rawBytes },
        {
          headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
          body: rawBytes,
          browser: true,
        },
      ]),
      // Mangled paths; on the JSON endpoints they are unknown routes, tested below.
      ...(ep.json ? [] : [{ suffix: '/%ff%fe' }, { suffix: '%zz' }, { suffix: '/..%2f..%2f..%2fetc%2fpasswd' }]),
    ]);
    expect(failures).toEqual([]);

    // Malformed escapes in the interaction uid itself, and a Basic credential that is not form-urlencoded (RFC 6749 §2.3.1).
    const extra: Outcome[] = [];
    for (const suffix of ['%ff%fe', '%zz', '%00', '%E0%A4%A', '..%2F..%2Fpackage.json']) {
      const res = await fetch(`${server.issuer}/interaction/${suffix}`, { headers: BROWSER });
      const text = await res.text();
      extra.push({
        label: `GET /interaction/${suffix}`,
        status: res.status,
        problems: LEAKS.filter(([, re]) => re.test(text)).map(([w]) => w),
      });
      const post = await fetch(`${server.issuer}/interaction/${suffix}/login`, {
        method: 'POST',
        headers: form,
        body: 'csrf=x',
      });
      const ptext = await post.text();
      extra.push({
        label: `POST /interaction/${suffix}/login`,
        status: post.status,
        problems: LEAKS.filter(([, re]) => re.test(ptext)).map(([w]) => w),
      });
    }
    for (const credentials of ['%zz:secret', `${client.client_id}:%ff%fe`, '\u00ff\u00fe:x', ':', 'no-colon-at-all']) {
      const res = await fetch(`${server.issuer}/oauth/token`, {
        method: 'POST',
        headers: { ...form, authorization: `Basic ${Buffer.from(credentials, 'latin1').toString('base64')}` },
        body: 'grant_type=client_credentials',
      });
      const text = await res.text();
      extra.push({
        label: `token with Basic ${credentials}`,
        status: res.status,
        problems: LEAKS.filter(([, re]) => re.test(text)).map(([w]) => w),
      });
      // RFC 6749 §5.2: a malformed credential is invalid_request (400), a wrong one invalid_client (401).
      expect([400, 401]).toContain(res.status);
      expect(['invalid_request', 'invalid_client']).toContain((JSON.parse(text) as { error: string }).error);
    }
    expect(extra.filter((o) => o.status >= 500 || o.problems.length)).toEqual([]);
  });

  test('broken JSON bodies', async () => {
    const failures = await burst(POSTS, () =>
      ['{"grant_type":', '{"a":1}}', '\u0000\u0001', '[]', 'null', `{"${big(5000)}": ${'['.repeat(5000)}`].map(
        (body) => ({
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        }),
      ),
    );
    expect(failures).toEqual([]);
  });

  test('broken multipart bodies', async () => {
    const mp = (boundary: string | null) => ({
      'content-type': boundary === null ? 'multipart/form-data' : `multipart/form-data; boundary=${boundary}`,
    });
    const bodies: Probe[] = [
      {
        headers: mp('xyz'),
        body: '--xyz\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nauthorization_code',
      },
      {
        headers: mp('xyz'),
        body: '--abc\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nx\r\n--abc--\r\n',
      },
      { headers: mp(null), body: '--xyz\r\n\r\n' },
      { headers: mp('xyz'), body: '--xyz\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--xyz--\r\n' },
      {
        headers: mp('xyz'),
        body: '--xyz\r\nContent-Disposition: form-data; name="grant_type"\r\nContent-Type: text/plain; charset=utf-16\r\n\r\n\xff\xfe\r\n--xyz--\r\n',
      },
      { headers: mp(big(300)), body: 'garbage' },
      { headers: mp('xyz'), body: `--xyz\r\n${'X-Header: y\r\n'.repeat(2000)}\r\n\r\n--xyz--\r\n` },
      { headers: mp('xyz'), body: Buffer.from([0x2d, 0x2d, 0x78, 0x79, 0x7a, 0x0d, 0x0a, 0xff, 0xfe, 0x00]) },
    ];
    const failures = await burst(POSTS, () => bodies);
    expect(failures).toEqual([]);
  });

  // RFC 6749 §5.2: error_description "MUST NOT include characters outside the
  // set %x20-21 / %x23-5B / %x5D-7E" (no double quote, no backslash).
  test('a multipart body with a file part is refused with invalid_request, its error_description in the RFC 6749 §5.2 character set', async () => {
    const failures: string[] = [];
    for (const path of ['/oauth/token', '/oauth/introspect', '/oauth/revoke', '/oauth/par']) {
      const body = new FormData();
      body.append('grant_type', 'client_credentials');
      body.append('token', new Blob(['x']), 'token.txt');
      const res = await fetch(`${server.issuer}${path}`, {
        method: 'POST',
        headers: { authorization: basic(client) },
        body,
      });
      const out = (await res.json()) as { error?: string; error_description?: string };
      if (res.status !== 400 || out.error !== 'invalid_request')
        failures.push(`${path}: ${res.status} ${JSON.stringify(out)}`);
      if (!ERROR_CHARS.test(out.error_description ?? ''))
        failures.push(`${path}: error_description ${JSON.stringify(out.error_description)}`);
    }
    expect(failures).toEqual([]);
  });

  test('header injection attempts in state, redirect_uri and post_logout_redirect_uri', async () => {
    const crlf = '\r\nX-Injected: 1\r\nSet-Cookie: injected=1';
    const failures = await burst(['authorize', 'authorize (POST)', 'logout', 'logout (POST)', 'par'], (name) => {
      const params = (
        [
          { state: crlf },
          { state: `ok${crlf}`, redirect_uri: REDIRECT },
          { redirect_uri: `${REDIRECT}${crlf}` },
          { redirect_uri: `${REDIRECT}?x=1%0d%0aX-Injected:%201` },
          { redirect_uri: `https://evil.example/${crlf}` },
          { post_logout_redirect_uri: `${LOGGED_OUT}${crlf}`, state: crlf },
          { post_logout_redirect_uri: 'https://evil.example/', state: 'x' },
          { post_logout_redirect_uri: `${LOGGED_OUT}@evil.example` },
          { redirect_uri: `${REDIRECT}@evil.example` },
          { redirect_uri: `${REDIRECT}/../../evil` },
          { redirect_uri: 'http://127.0.0.1:9999/cb#frag' },
        ] as Record<string, string>[]
      ).map((p) =>
        new URLSearchParams({
          client_id: client.client_id,
          response_type: 'code',
          scope: 'openid',
          redirect_uri: REDIRECT,
          ...p,
        }).toString(),
      );
      return params.flatMap((q): Probe[] =>
        name.endsWith('(POST)') || name === 'par'
          ? [
              {
                headers: { ...form, ...(name === 'par' ? { authorization: basic(client) } : {}) },
                body: q,
                browser: true,
              },
            ]
          : [{ suffix: `?${q}`, browser: true }, { suffix: `?${q}` }],
      );
    });
    expect(failures).toEqual([]);

    // A state with CR/LF in it goes back to the client percent-encoded in the Location, never as raw header lines.
    const res = await fetch(authorizeUrl({ prompt: 'none', state: `s${crlf}` }), { redirect: 'manual' });
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(REDIRECT);
    expect(location.searchParams.get('state')).toBe(`s${crlf}`);
    expect(res.headers.get('x-injected')).toBeNull();
  });

  test('very long, malformed and forged cookies', async () => {
    const long = `_session=${big(7000)}; _session.sig=${big(27)}; _interaction=${big(3000)}; _interaction_csrf=${big(2000)}; junk=${'%ff'.repeat(500)}`;
    const failures = await burst(ALL, (name) => [
      { cookie: long },
      { cookie: long, browser: true },
      { cookie: `${big(20 * 1024)}=x` }, // over Node's header limit
      { cookie: '_session=%ff%zz; _session.sig=%%; =; ;;; _interaction=\u00ff; _interaction.sig=' },
      {
        cookie: `_session=../../../etc/passwd; _session.sig=x; ${cookieHeader(person).replace(/_interaction_csrf=[^;]*/, '_interaction_csrf=forged')}`,
      },
      ...(name.startsWith('interaction')
        ? [
            {
              cookie: `${cookieHeader(person)}; ${big(6000)}=${big(6000)}`,
              headers: form,
              body: `csrf=${csrf}&username=x&password=y`,
            },
          ]
        : []),
    ]);
    expect(failures).toEqual([]);
  });

  test('hostile credentials at the token, userinfo, introspection and revocation endpoints', async () => {
    const auths = [
      'Basic',
      'Basic !!!not-base64!!!',
      `Basic ${big(12 * 1024)}`,
      'Bearer',
      'Bearer a b c',
      `Bearer ${big(12 * 1024)}`,
      `Bearer ${XSS}`,
      'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
      'Digest username="x"',
      basic(client, 'wrong'),
    ];
    const failures = await burst(['token', 'userinfo', 'userinfo (POST)', 'introspect', 'revoke', 'par'], (name) =>
      auths.flatMap((authorization) => [
        {
          headers: { ...form, authorization },
          body: name.startsWith('userinfo') ? undefined : 'grant_type=client_credentials&token=x',
        },
        {
          headers: { ...form, authorization },
          body: `access_token=x&client_id=${client.client_id}&client_secret=x`,
          method: 'POST',
        },
      ]),
    );
    expect(failures).toEqual([]);

    // RFC 6750 §3.1: a malformed token is invalid_token with a Bearer challenge.
    const res = await fetch(`${server.issuer}/oauth/userinfo`, { headers: { authorization: `Bearer ${XSS}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
  });
});

describe('after the burst', () => {
  // Run alone, these would check a server that saw no burst at all: the
  // garbage burst is sent again first, so they always follow one.
  beforeAll(async () => {
    expect(await garbageBurst()).toEqual([]);
  });

  test('/healthz is 200', async () => {
    const res = await fetch(`${server.issuer}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  test('the person who was signing in during the burst finishes their sign-in', async () => {
    const step = await person.submit(loginPage, '/login', { username: user.username, password: user.password });
    expect(isPage(step)).toBe(true);
    const consent = step as Page;
    expect(consent.html).toContain('/confirm"');
    const done = await person.submit(consent, '/confirm');
    expect(isPage(done)).toBe(false);
    const callback = new URL((done as { redirect: string }).redirect);
    expect(callback.searchParams.get('state')).toBe('in-flight');
    expect(callback.searchParams.get('code')).toBeTruthy();
  });

  test('the client and account created before the burst still do a full code flow: token, id_token, userinfo, refresh', async () => {
    const ua = new UserAgent(server.issuer, BROWSER);
    const { callback, shown } = await authorize(
      ua,
      authorizeUrl({ scope: 'openid profile email offline_access', prompt: 'consent', state: 'after', nonce: 'n' }),
      {
        ...user,
        consent: 'allow',
      },
    );
    expect(shown).toEqual(['login', 'consent']);
    expect(callback.searchParams.get('state')).toBe('after');

    const tokenRes = await fetch(`${server.issuer}/oauth/token`, {
      method: 'POST',
      headers: { ...form, authorization: basic(client) },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        redirect_uri: REDIRECT,
      }),
    });
    expect(tokenRes.status).toBe(200);
    const tokens = (await tokenRes.json()) as { access_token: string; id_token: string; refresh_token: string };
    const idClaims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1]!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(idClaims).toMatchObject({ sub: user.id, aud: client.client_id, iss: server.issuer, nonce: 'n' });

    // OIDC Core §5.3: the account's claims, as stored before the burst.
    const info = await fetch(`${server.issuer}/oauth/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({
      sub: user.id,
      preferred_username: user.username,
      email: 'before@example.com',
    });

    const refreshed = await fetch(`${server.issuer}/oauth/token`, {
      method: 'POST',
      headers: { ...form, authorization: basic(client) },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
    });
    expect(refreshed.status).toBe(200);
    expect(((await refreshed.json()) as { access_token?: string }).access_token).toBeTruthy();

    // The stored client kept its registration: a wrong secret and an unregistered redirect_uri are still refused.
    const wrongSecret = await fetch(`${server.issuer}/oauth/token`, {
      method: 'POST',
      headers: { ...form, authorization: basic({ client_id: client.client_id, client_secret: 'wrong' }) },
      body: 'grant_type=refresh_token&refresh_token=x',
    });
    expect(wrongSecret.status).toBe(401);
    const evil = await fetch(authorizeUrl({ redirect_uri: 'https://evil.example/cb' }), {
      redirect: 'manual',
      headers: BROWSER,
    });
    expect(evil.status).toBe(400);
    expect(evil.headers.get('location')).toBeNull();
  });

  test('the burst stored no accounts or clients, and the account still refuses a wrong password', async () => {
    expect({
      accounts: await server.prepared.accounts.count(),
      clients: await server.prepared.clients.count(),
    }).toEqual(countsBefore);
    const ua = new UserAgent(server.issuer, BROWSER);
    const step = await ua.navigate(authorizeUrl());
    const failed = (await ua.submit(step as Page, '/login', {
      username: user.username,
      password: `${user.password}x`,
    })) as Page;
    expect(failed.status).toBe(401);
    expect(failed.html).toContain('Wrong username or password.');
  });
});
