// The seed README's flow (../shared/seed/README.zh-TW.md), byte for byte:
// authorize with no redirect_uri, no PKCE and no openid; exchange the code
// with `curl -u id:secret -F ...` (multipart/form-data).
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, authorize } from './helpers/user-agent.js';
import { basic } from './helpers/http.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

async function seedCode(client: { client_id: string }, user: { username: string; password: string }) {
  const ua = new UserAgent(server.issuer);
  const url = `${server.issuer}/oauth/authorize?response_type=code&client_id=${client.client_id}&scope=profile buy buy_history&state=unique_state_code`;
  return authorize(ua, url, { ...user, consent: 'allow' });
}

/** What `curl -u id:secret -XPOST .../oauth/token -F a=b -F ...` sends. */
function curlF(client: { client_id: string; client_secret?: string }, fields: Record<string, string>) {
  const body = new FormData();
  for (const [k, v] of Object.entries(fields)) body.append(k, v);
  return fetch(`${server.issuer}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic(client) },
    body,
  });
}

test('authorize without redirect_uri, PKCE or openid returns to the one registered redirect_uri with code and state (RFC 6749 §4.1.2)', async () => {
  const client = await server.client({ redirectUris: ['http://127.0.0.1:9999/seed/cb'] });
  const user = await server.user();
  const { callback, shown } = await seedCode(client, user);
  expect(shown).toEqual(['login', 'consent']);
  expect(callback.origin + callback.pathname).toBe('http://127.0.0.1:9999/seed/cb');
  expect(callback.searchParams.get('state')).toBe('unique_state_code');
  expect(callback.searchParams.get('code')).toMatch(/^[\w-]{20,}$/);
  // RFC 9207: the issuer is named in the response.
  expect(callback.searchParams.get('iss')).toBe(server.issuer);
});

test('the seed token request (multipart, Basic auth, extra scope field) returns the seed response shape', async () => {
  const client = await server.client();
  const user = await server.user();
  const { callback } = await seedCode(client, user);
  const res = await curlF(client, {
    grant_type: 'authorization_code',
    scope: 'profile buy buy_history',
    code: callback.searchParams.get('code')!,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const body = (await res.json()) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
  expect(body).toEqual({
    access_token: expect.stringMatching(/^[\w-]{40,}$/),
    expires_in: 864000,
    scope: 'profile buy buy_history',
    token_type: 'Bearer',
  });
});

test('the access token from the seed flow is opaque and active at introspection, for the API audience (RFC 7662, RFC 8707)', async () => {
  const client = await server.client();
  const user = await server.user();
  const { callback } = await seedCode(client, user);
  const { access_token } = (await (
    await curlF(client, { grant_type: 'authorization_code', code: callback.searchParams.get('code')! })
  ).json()) as { access_token: string };
  expect(access_token.split('.')).toHaveLength(1);
  const res = await fetch(`${server.issuer}/oauth/introspect`, {
    method: 'POST',
    headers: { authorization: basic(client), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: access_token }),
  });
  const info = await res.json();
  expect(info).toMatchObject({
    active: true,
    sub: user.id,
    client_id: client.client_id,
    scope: 'profile buy buy_history',
    aud: server.config.apiResource,
    token_type: 'Bearer',
  });
});

test('a multipart token request with a file part is refused with invalid_request, not a crash', async () => {
  const client = await server.client();
  const body = new FormData();
  body.append('grant_type', 'authorization_code');
  body.append('code', new Blob(['x']), 'code.txt');
  const res = await fetch(`${server.issuer}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic(client) },
    body,
  });
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({ error: 'invalid_request', error_description: 'file uploads are not accepted' });
});

test('a broken multipart body is refused with invalid_request', async () => {
  const res = await fetch(`${server.issuer}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
    body: '--xyz\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nauthorization_code', // no closing boundary
  });
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
});
