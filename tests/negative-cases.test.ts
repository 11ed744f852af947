// What a client observes when something is wrong: each case with the exact
// error shape the spec prescribes (status code and `error` value), over real
// HTTP against the real application.
import { createHash, randomBytes } from 'node:crypto';
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, authorize } from './helpers/user-agent.js';
import { basic } from './helpers/http.js';
import { travel } from './helpers/clock.js';

const CB = 'http://127.0.0.1:9999/cb';
const CB2 = 'http://127.0.0.1:9999/other-cb';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

type Registered = Awaited<ReturnType<TestServer['client']>>;
type User = Awaited<ReturnType<TestServer['user']>>;

interface JsonResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** POSTs a form to one of the provider's endpoints, as a confidential client authenticating with Basic. */
async function post(
  srv: TestServer,
  path: string,
  c: Registered | undefined,
  form: string | URLSearchParams,
  secret?: string,
): Promise<JsonResponse> {
  const res = await fetch(`${srv.issuer}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(c ? { authorization: basic(c, secret ?? c.client_secret) } : {}),
    },
    body: form.toString(),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const token = (c: Registered, form: Record<string, string> | string, srv = server, secret?: string) =>
  post(srv, '/oauth/token', c, typeof form === 'string' ? form : new URLSearchParams(form), secret);
const introspect = (c: Registered, tok: string) =>
  post(server, '/oauth/introspect', c, new URLSearchParams({ token: tok }));

/** RFC 6749 §5.2: status, exactly this `error`, and nothing but error / error_description. */
function expectTokenError(res: JsonResponse, status: number, error: string) {
  expect({ status: res.status, error: res.body.error }).toEqual({ status, error });
  expect(Object.keys(res.body).filter((k) => k !== 'error' && k !== 'error_description')).toEqual([]);
  expect(res.headers.get('cache-control')).toBe('no-store');
}

const pkcePair = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

interface CodeOptions {
  scope?: string;
  redirectUri?: string;
  challenge?: string;
  extra?: Record<string, string>;
  srv?: TestServer;
}

/** A person signs in and allows; returns the code the client got at its redirect URI. */
async function getCode(c: Registered, user: User, opts: CodeOptions = {}) {
  const srv = opts.srv ?? server;
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: c.client_id,
    redirect_uri: opts.redirectUri ?? CB,
    scope: opts.scope ?? 'profile',
    state: `st-${randomBytes(6).toString('hex')}`,
    ...(opts.challenge ? { code_challenge: opts.challenge, code_challenge_method: 'S256' } : {}),
    ...opts.extra,
  });
  const { callback } = await authorize(new UserAgent(srv.issuer), `${srv.issuer}/oauth/authorize?${q}`, {
    username: user.username,
    password: user.password,
    consent: 'allow',
  });
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code at ${callback.href}`);
  return { code, callback };
}

/** One authorization request without following anything: what the browser is told to do. */
async function authorizeOnce(params: Record<string, string>, ua = new UserAgent(server.issuer)) {
  const res = await ua.request(`${server.issuer}/oauth/authorize?${new URLSearchParams(params)}`);
  return { status: res.status, location: res.headers.get('location'), html: await res.text() };
}

describe('token endpoint: client authentication and grant validation (RFC 6749 §5.2)', () => {
  test('wrong client secret → 401 invalid_client with a Basic WWW-Authenticate challenge (RFC 6749 §5.2)', async () => {
    const c = await server.client();
    const user = await server.user();
    const { code } = await getCode(c, user);
    const res = await token(c, { grant_type: 'authorization_code', code, redirect_uri: CB }, server, 'not-the-secret');
    expectTokenError(res, 401, 'invalid_client');
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    // The code was not burnt by the failed attempt: the real client still redeems it.
    expect((await token(c, { grant_type: 'authorization_code', code, redirect_uri: CB })).status).toBe(200);
  });

  test('reused authorization code → invalid_grant, and the access token issued from its first use becomes inactive (RFC 6749 §4.1.2, §10.5)', async () => {
    const c = await server.client();
    const user = await server.user();
    const { code } = await getCode(c, user);
    const first = await token(c, { grant_type: 'authorization_code', code, redirect_uri: CB });
    expect(first.status).toBe(200);
    const accessToken = first.body.access_token as string;
    expect((await introspect(c, accessToken)).body.active).toBe(true);

    const second = await token(c, { grant_type: 'authorization_code', code, redirect_uri: CB });
    expectTokenError(second, 400, 'invalid_grant');
    const after = await introspect(c, accessToken);
    expect(after.status).toBe(200);
    expect(after.body).toEqual({ active: false });
  });

  test('a code presented by another client → invalid_grant (RFC 6749 §4.1.3: "issued to another client")', async () => {
    const owner = await server.client();
    const thief = await server.client();
    const user = await server.user();
    const { code } = await getCode(owner, user);
    expectTokenError(
      await token(thief, { grant_type: 'authorization_code', code, redirect_uri: CB }),
      400,
      'invalid_grant',
    );
  });

  test('redirect_uri at the token endpoint differing from the authorization request → invalid_grant (RFC 6749 §4.1.3)', async () => {
    const c = await server.client({ redirectUris: [CB, CB2] });
    const user = await server.user();
    const { code } = await getCode(c, user, { redirectUri: CB });
    // CB2 is registered for the client, but the code was issued for CB.
    expectTokenError(
      await token(c, { grant_type: 'authorization_code', code, redirect_uri: CB2 }),
      400,
      'invalid_grant',
    );
  });

  test('PKCE code_verifier that does not match the code_challenge → invalid_grant (RFC 7636 §4.6)', async () => {
    const c = await server.client();
    const user = await server.user();
    const { challenge } = pkcePair();
    const { code } = await getCode(c, user, { challenge });
    const res = await token(c, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: CB,
      code_verifier: pkcePair().verifier,
    });
    expectTokenError(res, 400, 'invalid_grant');
  });

  test('PKCE used at authorization but code_verifier omitted at the token endpoint → invalid_grant (RFC 7636 §4.6, RFC 9700 §4.8.2)', async () => {
    const c = await server.client();
    const user = await server.user();
    const { code } = await getCode(c, user, { challenge: pkcePair().challenge });
    expectTokenError(
      await token(c, { grant_type: 'authorization_code', code, redirect_uri: CB }),
      400,
      'invalid_grant',
    );
  });

  test('expired authorization code → invalid_grant (RFC 6749 §4.1.2 short lifetime, §5.2)', async () => {
    const short = await startServer({ AUTHORIZATION_CODE_TTL: '1' });
    try {
      expect(short.config.ttl.authorizationCode).toBe(1);
      const c = await short.client();
      const user = await short.user();
      const { code } = await getCode(c, user, { srv: short });
      travel(2.1);
      expectTokenError(
        await token(c, { grant_type: 'authorization_code', code, redirect_uri: CB }, short),
        400,
        'invalid_grant',
      );
    } finally {
      await short.close();
    }
  });

  test('refresh token reused after rotation → invalid_grant (RFC 9700 §4.14.2)', async () => {
    const c = await server.client({ grantTypes: ['authorization_code', 'refresh_token'] });
    const user = await server.user();
    const { code } = await getCode(c, user, {
      scope: 'openid offline_access',
      extra: { prompt: 'consent', nonce: 'n-1' },
    });
    const issued = await token(c, { grant_type: 'authorization_code', code, redirect_uri: CB });
    expect(issued.status).toBe(200);
    const rt0 = issued.body.refresh_token as string;
    expect(rt0).toEqual(expect.any(String));
    const rotated = await token(c, { grant_type: 'refresh_token', refresh_token: rt0 });
    expect(rotated.status).toBe(200);
    expect(rotated.body.refresh_token).not.toBe(rt0);

    expectTokenError(await token(c, { grant_type: 'refresh_token', refresh_token: rt0 }), 400, 'invalid_grant');
    // Reuse detection revokes the grant: the rotated token is dead too.
    expectTokenError(
      await token(c, { grant_type: 'refresh_token', refresh_token: rotated.body.refresh_token as string }),
      400,
      'invalid_grant',
    );
  });

  test('a token request with a duplicated parameter → 400 invalid_request (RFC 6749 §3.2: parameters MUST NOT be included more than once)', async () => {
    const c = await server.client();
    const user = await server.user();
    const { code } = await getCode(c, user);
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CB });
    form.append('code', code);
    expectTokenError(await token(c, form.toString()), 400, 'invalid_request');
    const dupGrantType = new URLSearchParams({ grant_type: 'client_credentials' });
    dupGrantType.append('grant_type', 'client_credentials');
    expectTokenError(await token(c, dupGrantType.toString()), 400, 'invalid_request');
  });

  test('an unsupported grant_type → 400 unsupported_grant_type (RFC 6749 §5.2)', async () => {
    const c = await server.client();
    expectTokenError(
      await token(c, { grant_type: 'password', username: 'someone', password: 'something' }),
      400,
      'unsupported_grant_type',
    );
    expectTokenError(await token(c, { grant_type: 'urn:example:made-up' }), 400, 'unsupported_grant_type');
  });

  test('GET on the token endpoint is refused as a client error, never a 500 (RFC 6749 §3.2: POST only)', async () => {
    const c = await server.client();
    const res = await fetch(`${server.issuer}/oauth/token?grant_type=client_credentials`, {
      headers: { authorization: basic(c) },
    });
    await res.arrayBuffer();
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });
});

describe('authorization endpoint: errors (RFC 6749 §3.1.2.4, §4.1.2.1; OIDC Core §3.1.2.6)', () => {
  test('two registered redirect URIs and none in the request → no redirect: an error page, HTTP 400, invalid_request shown (RFC 6749 §3.1.2.3, §3.1.2.4)', async () => {
    const c = await server.client({ redirectUris: [CB, CB2] });
    const res = await authorizeOnce({ response_type: 'code', client_id: c.client_id, scope: 'profile', state: 'xyz' });
    expect(res.status).toBe(400);
    expect(res.location).toBeNull();
    expect(res.html).toContain('<code>invalid_request</code>');
  });

  test('an unregistered redirect_uri → no redirect to it: an error page, HTTP 400 (RFC 6749 §3.1.2.4, RFC 9700 §4.1.3)', async () => {
    const c = await server.client({ redirectUris: [CB, CB2] });
    const evil = 'https://attacker.example/cb';
    const res = await authorizeOnce({
      response_type: 'code',
      client_id: c.client_id,
      redirect_uri: evil,
      scope: 'profile',
      state: 'xyz',
    });
    expect(res.status).toBe(400);
    expect(res.location).toBeNull();
    expect(res.html).toContain('<code>invalid_redirect_uri</code>');
    // Near-misses are not registered URIs either (exact matching, RFC 9700 §2.1).
    for (const near of [`${CB}/`, `${CB}?x=1`, CB.replace('127.0.0.1', 'localhost')]) {
      const r = await authorizeOnce({
        response_type: 'code',
        client_id: c.client_id,
        redirect_uri: near,
        scope: 'profile',
      });
      expect([near, r.status, r.location]).toEqual([near, 400, null]);
    }
  });

  test('an unknown client_id with a redirect_uri → no redirect (RFC 9700 §4.11 open redirector)', async () => {
    const res = await authorizeOnce({
      response_type: 'code',
      client_id: 'no-such-client',
      redirect_uri: 'https://attacker.example/cb',
      scope: 'profile',
    });
    expect(res.status).toBe(400);
    expect(res.location).toBeNull();
    expect(res.html).toContain('<code>invalid_client</code>');
  });

  test('a client registered with scope "openid profile" asking for email → error=invalid_scope at the redirect URI, state echoed (RFC 6749 §4.1.2.1)', async () => {
    const c = await server.client({ scope: 'openid profile' });
    const res = await authorizeOnce({
      response_type: 'code',
      client_id: c.client_id,
      redirect_uri: CB,
      scope: 'openid email',
      state: 'scope-state',
      nonce: 'n',
    });
    expect(res.status).toBe(303);
    const loc = new URL(res.location!);
    expect(loc.origin + loc.pathname).toBe(CB);
    expect(loc.searchParams.get('error')).toBe('invalid_scope');
    expect(loc.searchParams.get('state')).toBe('scope-state');
    expect(loc.searchParams.get('iss')).toBe(server.issuer);
    expect(loc.searchParams.get('code')).toBeNull();
  });

  test('prompt=none without a session → error=login_required at the redirect URI with state echoed (OIDC Core §3.1.2.6)', async () => {
    const c = await server.client();
    const res = await authorizeOnce({
      response_type: 'code',
      client_id: c.client_id,
      redirect_uri: CB,
      scope: 'openid profile',
      prompt: 'none',
      state: 'none-state',
      nonce: 'n',
    });
    expect(res.status).toBe(303);
    const loc = new URL(res.location!);
    expect(loc.origin + loc.pathname).toBe(CB);
    expect(loc.searchParams.get('error')).toBe('login_required');
    expect(loc.searchParams.get('state')).toBe('none-state');
    expect(loc.searchParams.get('iss')).toBe(server.issuer);
    expect(loc.searchParams.get('code')).toBeNull();
  });

  test('an unknown scope value is ignored: the flow succeeds and the granted scope excludes it (RFC 6749 §3.3)', async () => {
    const c = await server.client();
    const user = await server.user();
    const { code } = await getCode(c, user, { scope: 'profile nonsense' });
    const res = await token(c, { grant_type: 'authorization_code', code, redirect_uri: CB });
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('profile');
    const info = await introspect(c, res.body.access_token as string);
    expect(info.body).toMatchObject({ active: true, scope: 'profile' });
  });
});

describe('introspection: inactive answers are {active:false} and nothing else (RFC 7662 §2.2)', () => {
  test('a revoked access token → {active:false} exactly (RFC 7009 §2.2, RFC 7662 §2.2)', async () => {
    const c = await server.client();
    const user = await server.user();
    const { code } = await getCode(c, user);
    const { body } = await token(c, { grant_type: 'authorization_code', code, redirect_uri: CB });
    const accessToken = body.access_token as string;
    const revoked = await post(
      server,
      '/oauth/revoke',
      c,
      new URLSearchParams({ token: accessToken, token_type_hint: 'access_token' }),
    );
    expect(revoked.status).toBe(200);
    const res = await introspect(c, accessToken);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ active: false });
  });

  test('an unknown token → {active:false} exactly', async () => {
    const c = await server.client();
    const res = await introspect(c, randomBytes(32).toString('base64url'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ active: false });
  });

  test("another client's token → {active:false} exactly, and revoking it does not work either (RFC 7662 §2.2, RFC 7009 §2.1)", async () => {
    const owner = await server.client();
    const other = await server.client();
    const user = await server.user();
    const { code } = await getCode(owner, user);
    const { body } = await token(owner, { grant_type: 'authorization_code', code, redirect_uri: CB });
    const accessToken = body.access_token as string;
    expect((await introspect(other, accessToken)).body).toEqual({ active: false });
    // RFC 7009 §2.1: "the request is refused and the client is informed of the error".
    const refused = await post(server, '/oauth/revoke', other, new URLSearchParams({ token: accessToken }));
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    expect(refused.body.error).toEqual(expect.any(String));
    expect((await introspect(owner, accessToken)).body).toMatchObject({ active: true });
  });

  test('introspection without any client authentication → invalid_client (RFC 7662 §2.1; RFC 6749 §5.2: "no client authentication included")', async () => {
    const c = await server.client();
    const user = await server.user();
    const { code } = await getCode(c, user);
    const { body } = await token(c, { grant_type: 'authorization_code', code, redirect_uri: CB });
    const res = await post(
      server,
      '/oauth/introspect',
      undefined,
      new URLSearchParams({ token: body.access_token as string }),
    );
    // Nothing about the token leaks to an unauthenticated caller...
    expect(res.body).not.toHaveProperty('active');
    // ...and the refusal is the one §5.2 names. No Authorization header was
    // tried, so 400 and 401 are both allowed (§5.2: 401 MUST only when it was).
    expect([400, 401]).toContain(res.status);
    expect(res.body.error).toBe('invalid_client');
  });
});
