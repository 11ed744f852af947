// POST at the authorization endpoint (OpenID Connect Core 1.0 §3.1.2.1:
// "MUST support the use of the HTTP GET and POST methods", POST as
// application/x-www-form-urlencoded) and at the logout endpoint
// (RP-Initiated Logout 1.0 §2: the same). Both are answered by
// src/oidc/post-as-get-shim.ts with 303 See Other to the same endpoint, the
// form's fields as the query, so the library handles the GET it always has.
// Over real HTTP with the tests' user agent; tests/browser.test.ts shows the
// same in Chromium from another site.
import * as client from 'openid-client';
import { ROUTES } from '../src/routes.js';
import { MAX_QUERY_BYTES } from '../src/oidc/post-as-get-shim.js';
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, authorize, findForm, isPage, type Page } from './helpers/user-agent.js';
import { STACK, basic } from './helpers/http.js';

const REDIRECT = 'http://127.0.0.1:9999/cb';
const LOGGED_OUT = 'http://127.0.0.1:9999/logged-out';
const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

type Client = Awaited<ReturnType<TestServer['client']>>;
type User = Awaited<ReturnType<TestServer['user']>>;

let server: TestServer;
let rp: Client;
beforeAll(async () => {
  server = await startServer();
  rp = await server.client({ name: 'Form poster', redirectUris: [REDIRECT], postLogoutRedirectUris: [LOGGED_OUT] });
});
afterAll(() => server.close());

const at = (path: string) => `${server.issuer}${path}`;

function authParams(params: Record<string, string> = {}): Record<string, string> {
  return {
    response_type: 'code',
    client_id: rp.client_id,
    redirect_uri: REDIRECT,
    scope: 'openid profile',
    state: 'posted-state',
    ...params,
  };
}
const authUrl = (params: Record<string, string> = {}) =>
  `${at(ROUTES.oauth.authorization)}?${new URLSearchParams(authParams(params))}`;

/** One raw request, redirects not followed. */
async function raw(
  method: string,
  url: string,
  init: { headers?: Record<string, string>; body?: string | Uint8Array | URLSearchParams } = {},
) {
  const res = await fetch(url, {
    method,
    redirect: 'manual',
    headers: { ...BROWSER, ...init.headers },
    body: init.body,
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function exchange(code: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(at(ROUTES.oauth.token), {
    method: 'POST',
    headers: {
      ...FORM,
      authorization: basic(rp),
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Our error page (not the library's, not a framework's), showing `error`, with no insides. */
function expectErrorPage(res: { status: number; headers: Headers; text: string }, status: number, description: RegExp) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  expect(res.headers.get('location')).toBeNull();
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.text).toMatch(/<html lang="en">/);
  expect(res.text).toContain('<h1>Something went wrong</h1>');
  expect(res.text).toContain('<code>invalid_request</code>');
  expect(res.text).toMatch(description);
  expect(res.text).not.toMatch(STACK);
}

describe('POST /oauth/authorize (OIDC Core §3.1.2.1, Form Serialization)', () => {
  test('answers 303 See Other to the same endpoint, with exactly the form fields as the query', async () => {
    const form = new URLSearchParams(authParams({ nonce: 'n 1', claims: '{"id_token":{"email":null}}' }));
    const res = await raw('POST', at(ROUTES.oauth.authorization), { headers: FORM, body: form });
    expect(res.status).toBe(303);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const location = new URL(res.headers.get('location')!, server.issuer);
    expect(location.origin).toBe(server.issuer);
    expect(location.pathname).toBe(ROUTES.oauth.authorization);
    expect([...location.searchParams]).toEqual([...form]);
  });

  test('a person signs in and allows, ends at the redirect URI with a code and state; the code redeems', async () => {
    const user = await server.user();
    const ua = new UserAgent(server.issuer, BROWSER);
    const { callback, shown } = await authorize(ua, authUrl(), { ...user, consent: 'allow', post: true });
    expect(shown).toEqual(['login', 'consent']);
    expect(callback.origin + callback.pathname).toBe(REDIRECT);
    expect(callback.searchParams.get('state')).toBe('posted-state');
    expect(callback.searchParams.get('iss')).toBe(server.issuer);
    const tokens = await exchange(callback.searchParams.get('code')!);
    expect(tokens.status).toBe(200);
    expect(tokens.body).toMatchObject({
      token_type: 'Bearer',
      access_token: expect.any(String),
      id_token: expect.any(String),
    });
  });

  test('with an existing session: straight to the redirect URI with a code, no page shown', async () => {
    const user = await server.user();
    const ua = new UserAgent(server.issuer, BROWSER);
    await authorize(ua, authUrl({ state: 'first' }), { ...user, consent: 'allow' });
    const { callback, shown } = await authorize(ua, authUrl({ state: 'second' }), { post: true });
    expect(shown).toEqual([]);
    expect(callback.searchParams.get('state')).toBe('second');
    expect((await exchange(callback.searchParams.get('code')!)).status).toBe(200);
  });

  test("openid-client's own request (PKCE, nonce), posted: the ID token validates", async () => {
    const user = await server.user();
    const config = await client.discovery(
      new URL(server.issuer),
      rp.client_id,
      rp.client_secret,
      client.ClientSecretBasic(rp.client_secret!),
      {
        execute: [client.allowInsecureRequests],
      },
    );
    const pkceCodeVerifier = client.randomPKCECodeVerifier();
    const expectedNonce = client.randomNonce();
    const expectedState = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile',
      state: expectedState,
      nonce: expectedNonce,
      code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
      code_challenge_method: 'S256',
    });
    const { callback } = await authorize(new UserAgent(server.issuer, BROWSER), url.href, {
      ...user,
      consent: 'allow',
      post: true,
    });
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier,
      expectedNonce,
      expectedState,
      idTokenExpected: true,
    });
    expect(tokens.claims()?.sub).toBe(user.id);
  });

  test('a pushed request (RFC 9126): POST client_id + request_uri completes the flow', async () => {
    const par = await fetch(at(ROUTES.oauth.pushed_authorization_request), {
      method: 'POST',
      headers: { ...FORM, authorization: basic(rp) },
      body: new URLSearchParams(authParams({ state: 'pushed' })),
    });
    expect(par.status).toBe(201);
    const { request_uri } = (await par.json()) as { request_uri: string };
    const user = await server.user();
    const { callback } = await authorize(
      new UserAgent(server.issuer, BROWSER),
      `${at(ROUTES.oauth.authorization)}?${new URLSearchParams({ client_id: rp.client_id, request_uri })}`,
      { ...user, consent: 'allow', post: true },
    );
    expect(callback.searchParams.get('state')).toBe('pushed');
    expect((await exchange(callback.searchParams.get('code')!)).status).toBe(200);
  });

  test("`request` is passed on untouched: the answer is the library's, as for the same GET", async () => {
    // Request objects are not enabled here (request_not_supported, OIDC Core §6.3).
    const params = authParams({ request: 'eyJhbGciOiJub25lIn0.eyJzdGF0ZSI6Ing.' });
    const viaGet = await raw('GET', authUrl(params));
    const posted = await raw('POST', at(ROUTES.oauth.authorization), {
      headers: FORM,
      body: new URLSearchParams(params),
    });
    expect(posted.status).toBe(303);
    const viaPost = await raw('GET', new URL(posted.headers.get('location')!, server.issuer).href);
    expect(viaPost.status).toBe(viaGet.status);
    const back = new URL(viaPost.headers.get('location')!);
    expect(back.searchParams.get('error')).toBe(new URL(viaGet.headers.get('location')!).searchParams.get('error'));
    expect(back.searchParams.get('error')).toBe('request_not_supported');
  });

  test('a trailing slash and other letter case reach the same endpoint, as they do for GET', async () => {
    for (const path of [`${ROUTES.oauth.authorization}/`, ROUTES.oauth.authorization.toUpperCase()]) {
      const res = await raw('POST', at(path), { headers: FORM, body: 'client_id=x' });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe(`${ROUTES.oauth.authorization}?client_id=x`);
    }
  });

  test('fields also in the query are merged when distinct; a field in both is refused (400 invalid_request)', async () => {
    const merged = await raw('POST', `${at(ROUTES.oauth.authorization)}?ui_locales=en`, {
      headers: FORM,
      body: 'client_id=x&scope=openid',
    });
    expect(merged.status).toBe(303);
    expect(merged.headers.get('location')).toBe(`${ROUTES.oauth.authorization}?ui_locales=en&client_id=x&scope=openid`);

    const both = await raw('POST', `${at(ROUTES.oauth.authorization)}?${new URLSearchParams({ state: 'q' })}`, {
      headers: FORM,
      body: new URLSearchParams(authParams({ state: 'b' })),
    });
    expectErrorPage(both, 400, /given in both the query and the body/);
  });

  test('a field repeated in the body is refused by the library, as the same GET is (RFC 6749 §3.1)', async () => {
    const body = `${new URLSearchParams(authParams())}&scope=openid`;
    const posted = await raw('POST', at(ROUTES.oauth.authorization), { headers: FORM, body });
    expect(posted.status).toBe(303);
    const res = await raw('GET', new URL(posted.headers.get('location')!, server.issuer).href);
    const viaGet = await raw('GET', `${at(ROUTES.oauth.authorization)}?${body}`);
    expect(res.status).toBe(viaGet.status);
    const error = res.headers.get('location')
      ? new URL(res.headers.get('location')!).searchParams.get('error')
      : /<code>(\w+)<\/code>/.exec(res.text)?.[1];
    expect(error).toBe('invalid_request');
  });

  test('wrong content types are refused with 415 invalid_request on our error page, never a 500', async () => {
    const body = new URLSearchParams(authParams()).toString();
    for (const headers of [
      { 'content-type': 'application/json' },
      { 'content-type': 'text/plain' },
      { 'content-type': 'multipart/form-data; boundary=x' },
      { 'content-type': 'application/x-www-form-urlencoded; charset=utf-16' },
      { 'content-type': ';;;=' },
      { ...FORM, 'content-encoding': 'gzip' },
    ]) {
      expectErrorPage(
        await raw('POST', at(ROUTES.oauth.authorization), { headers, body }),
        415,
        /application\/x-www-form-urlencoded|content-encoding/,
      );
    }
    // No content type with a body is not a form either; no body at all is an empty form.
    expectErrorPage(
      await raw('POST', at(ROUTES.oauth.authorization), { body: new TextEncoder().encode(body) }),
      415,
      /x-www-form-urlencoded/,
    );
    const empty = await raw('POST', at(ROUTES.oauth.authorization));
    expect(empty.status).toBe(303);
    expect(empty.headers.get('location')).toBe(ROUTES.oauth.authorization);
  });

  test(`bodies over ${MAX_QUERY_BYTES} bytes, or that re-encode to a longer query, are refused with 413 invalid_request`, async () => {
    const big = new URLSearchParams(authParams({ login_hint: 'a'.repeat(MAX_QUERY_BYTES) }));
    expectErrorPage(await raw('POST', at(ROUTES.oauth.authorization), { headers: FORM, body: big }), 413, /too large/);
    // 100 KB, announced by Content-Length.
    expectErrorPage(
      await raw('POST', at(ROUTES.oauth.authorization), { headers: FORM, body: `state=${'a'.repeat(100 * 1024)}` }),
      413,
      /too large/,
    );
    // 100 KB, chunked: no Content-Length to go by, refused while it streams in.
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 100; i++) controller.enqueue(new TextEncoder().encode(i ? 'a'.repeat(1024) : 'state='));
        controller.close();
      },
    });
    const streamed = await fetch(at(ROUTES.oauth.authorization), {
      method: 'POST',
      headers: { ...BROWSER, ...FORM },
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    expectErrorPage(
      { status: streamed.status, headers: streamed.headers, text: await streamed.text() },
      413,
      /too large/,
    );
    // Raw UTF-8 in a body is legal and three times as long percent-encoded in a URL.
    const raw3 = `${new URLSearchParams(authParams())}&login_hint=${'é'.repeat(1500)}`;
    expect(Buffer.byteLength(raw3)).toBeLessThan(MAX_QUERY_BYTES);
    expectErrorPage(
      await raw('POST', at(ROUTES.oauth.authorization), { headers: FORM, body: raw3 }),
      413,
      /push it first \(PAR\)/,
    );
    // Just under the limit is fine, and the redirected GET is within Node's header limit.
    const fits = new URLSearchParams(authParams({ login_hint: 'a'.repeat(MAX_QUERY_BYTES - 300) }));
    const ok = await raw('POST', at(ROUTES.oauth.authorization), { headers: FORM, body: fits });
    expect(ok.status).toBe(303);
    const followed = await raw('GET', new URL(ok.headers.get('location')!, server.issuer).href);
    expect(followed.status).toBe(303); // to the login page
    expect(followed.headers.get('location')).toMatch(/^\/interaction\//);
  });

  test('GET, HEAD and POST are allowed, anything else is 405 naming them (RFC 9110 §15.5.6)', async () => {
    for (const path of [ROUTES.oauth.authorization, ROUTES.oauth.end_session]) {
      const put = await raw('PUT', at(path), { headers: FORM, body: 'a=b' });
      expect(put.status).toBe(405);
      expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
      expect(JSON.parse(put.text)).toEqual({
        error: 'invalid_request',
        error_description: 'method not allowed; allowed: GET, HEAD, POST',
      });
      expect((await raw('HEAD', at(path))).status).not.toBe(405);
    }
  });
});

describe('POST /oauth/logout (RP-Initiated Logout 1.0 §2)', () => {
  async function signedIn(ua: UserAgent, user: User): Promise<string> {
    const { callback } = await authorize(ua, authUrl(), { ...user, consent: 'allow' });
    return String((await exchange(callback.searchParams.get('code')!)).body.id_token);
  }

  test('id_token_hint, post_logout_redirect_uri and state as form fields: confirmation, "yes", back with state, session gone', async () => {
    const ua = new UserAgent(server.issuer, BROWSER);
    const idToken = await signedIn(ua, await server.user());

    const form = new URLSearchParams({
      id_token_hint: idToken,
      post_logout_redirect_uri: LOGGED_OUT,
      state: 'bye-post',
    });
    const confirm = await ua.navigate(at(ROUTES.oauth.end_session), { method: 'POST', body: form });
    if (!isPage(confirm)) throw new Error(`expected the confirmation page, was sent to ${confirm.redirect}`);
    expect(confirm.status).toBe(200);
    expect(new URL(confirm.url).pathname).toBe(ROUTES.oauth.end_session);
    expect(confirm.html).toContain('<h1>Sign out</h1>');
    // The library's own form and anti-CSRF field, posting to its confirm route (which the shim leaves alone).
    const { action, hidden } = findForm(confirm.html, `${ROUTES.oauth.end_session}/confirm`);
    expect(hidden.xsrf).toBeTruthy();
    expect(new URL(action, server.issuer).pathname).toBe(`${ROUTES.oauth.end_session}/confirm`);

    const done = await ua.submit(confirm as Page, `${ROUTES.oauth.end_session}/confirm`, { logout: 'yes' });
    if (isPage(done)) throw new Error(`expected the post-logout redirect, got a page at ${done.url}`);
    const back = new URL(done.redirect);
    expect(back.origin + back.pathname).toBe(LOGGED_OUT);
    expect(back.searchParams.get('state')).toBe('bye-post');

    const silent = await ua.navigate(authUrl({ prompt: 'none', state: 'after' }));
    expect(isPage(silent) ? undefined : new URL(silent.redirect).searchParams.get('error')).toBe('login_required');
  });

  test('the confirm route still needs its xsrf field: a POST without it signs nobody out', async () => {
    const ua = new UserAgent(server.issuer, BROWSER);
    await signedIn(ua, await server.user());
    const forged = await ua.request(`${ROUTES.oauth.end_session}/confirm`, {
      method: 'POST',
      body: new URLSearchParams({ logout: 'yes' }),
    });
    expect(forged.status).toBe(400);
    expect(forged.headers.get('location')).toBeNull();
    const silent = await ua.navigate(authUrl({ prompt: 'none' }));
    expect(isPage(silent) ? undefined : new URL(silent.redirect).searchParams.get('code')).toBeTruthy();
  });

  test('an unregistered post_logout_redirect_uri, posted, is not redirected to', async () => {
    const ua = new UserAgent(server.issuer, BROWSER);
    const idToken = await signedIn(ua, await server.user());
    const step = await ua.navigate(at(ROUTES.oauth.end_session), {
      method: 'POST',
      body: new URLSearchParams({
        id_token_hint: idToken,
        post_logout_redirect_uri: 'https://evil.example/after',
        state: 's',
      }),
    });
    if (!isPage(step)) throw new Error(`was sent to ${step.redirect}`);
    expect(step.status).toBe(400);
    expect(step.html).toContain('<code>invalid_request</code>');
    expect(step.html).not.toContain('op.logoutForm');
  });

  test('a wrong content type is refused with 415, a form too large for a URL with 413, on our error page', async () => {
    expectErrorPage(
      await raw('POST', at(ROUTES.oauth.end_session), {
        headers: { 'content-type': 'application/json' },
        body: '{"state":"x"}',
      }),
      415,
      /x-www-form-urlencoded/,
    );
    const tooLong = await raw('POST', at(ROUTES.oauth.end_session), {
      headers: FORM,
      body: `state=${'é'.repeat(1500)}`,
    });
    expectErrorPage(tooLong, 413, /request too large/);
    expect(tooLong.text).not.toContain('PAR');
  });
});
