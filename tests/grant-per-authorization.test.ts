// One token family per authorization, consent still remembered: the same
// person signs in to the same client in two browsers (two UserAgents, two
// cookie jars), and what one browser's app does to its tokens (RFC 7009
// revocation, RFC 9700 §4.14.2 refresh-token replay) ends that
// authorization's tokens only. Over real HTTP against the in-process app.
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, authorize, isPage, type Page } from './helpers/user-agent.js';
import { call, postForm, type Json } from './helpers/http.js';
import type { Registered } from './helpers/processes.js';
import { travel } from './helpers/clock.js';

type User = Awaited<ReturnType<TestServer['user']>>;

const REDIRECT = 'http://127.0.0.1:9999/cb';
const LOGGED_OUT = 'http://127.0.0.1:9999/logged-out';
const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const browser = () => new UserAgent(server.issuer, BROWSER);

/** A confidential web app (client_secret_basic), allowed authorization_code and refresh_token. */
async function newClient(): Promise<Registered> {
  const c = await server.client({ redirectUris: [REDIRECT], postLogoutRedirectUris: [LOGGED_OUT] });
  return { client_id: c.client_id, client_secret: c.client_secret! };
}

let counter = 0;
function authUrl(c: Registered, scope: string, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: c.client_id,
    redirect_uri: REDIRECT,
    scope,
    state: `s-${++counter}`,
    ...extra,
  });
  return `${server.issuer}/oauth/authorize?${params}`;
}

interface Tokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
}

async function exchange(c: Registered, code: string): Promise<Tokens> {
  const res = await postForm(`${server.issuer}/oauth/token`, c, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
  });
  expect(res.status).toBe(200);
  return res.body;
}

// An app that keeps signing-in (offline_access, hence a refresh token; the
// library only grants it with prompt=consent, OIDC Core §11).
const OFFLINE = 'openid offline_access profile';

/** One authorization in `ua`, to its tokens; `shown` is the pages the person met on the way. */
async function signIn(ua: UserAgent, c: Registered, u: User, scope = OFFLINE): Promise<Tokens & { shown: string[] }> {
  const extra: Record<string, string> = scope.includes('offline_access') ? { prompt: 'consent' } : {};
  const { callback, shown } = await authorize(ua, authUrl(c, scope, extra), { ...u, consent: 'allow' });
  const code = callback.searchParams.get('code');
  expect(code).toBeTruthy();
  return { ...(await exchange(c, code!)), shown };
}

const introspect = async (c: Registered, token: string): Promise<Json> =>
  (await postForm(`${server.issuer}/oauth/introspect`, c, { token })).body;
const revoke = (c: Registered, token: string, hint: 'access_token' | 'refresh_token') =>
  postForm(`${server.issuer}/oauth/revoke`, c, { token, token_type_hint: hint });
const refresh = (c: Registered, refreshToken: string) =>
  postForm(`${server.issuer}/oauth/token`, c, { grant_type: 'refresh_token', refresh_token: refreshToken });
const me = async (token: string) => (await call(server.issuer, '/api/me', { token })).status;

/** Everything a user would see of a token family still working: introspection, the API, a refresh. */
async function expectActive(c: Registered, t: Tokens): Promise<Tokens> {
  expect((await introspect(c, t.access_token)).active).toBe(true);
  expect(await me(t.access_token)).toBe(200);
  const res = await refresh(c, t.refresh_token!);
  expect(res.status).toBe(200);
  expect((await introspect(c, res.body.access_token)).active).toBe(true);
  return res.body;
}

async function expectEnded(c: Registered, t: Tokens) {
  // RFC 7662 §2.2: an inactive token answers {active:false} and nothing else.
  expect(await introspect(c, t.access_token)).toEqual({ active: false });
  expect(await me(t.access_token)).toBe(401);
  expect(await introspect(c, t.refresh_token!)).toEqual({ active: false });
  const res = await refresh(c, t.refresh_token!);
  expect({ status: res.status, error: res.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
}

describe('remembered consent across sessions', () => {
  test('the second browser signs in without a consent page; a new scope asks for that one only', async () => {
    const c = await newClient();
    const u = await server.user();
    const a = await authorize(browser(), authUrl(c, 'openid profile'), { ...u, consent: 'allow' });
    expect(a.shown).toEqual(['login', 'consent']);

    const b = browser();
    const second = await authorize(b, authUrl(c, 'openid profile'), u);
    expect(second.shown).toEqual(['login']);
    const tokens = await exchange(c, second.callback.searchParams.get('code')!);
    expect((await introspect(c, tokens.access_token)).scope).toBe('openid profile');

    // One more scope: the consent page lists only the new one.
    const consent = (await b.navigate(authUrl(c, 'openid profile email'))) as Page;
    expect(isPage(consent) && consent.html.includes('/confirm"')).toBe(true);
    expect(consent.html).toContain('Read your e-mail address');
    expect(consent.html).not.toContain('Know who you are');
    expect(isPage(await b.submit(consent, '/confirm'))).toBe(false);

    // And it is remembered too (merged with what was allowed before), in a third browser.
    const third = await authorize(browser(), authUrl(c, 'openid profile email'), u);
    expect(third.shown).toEqual(['login']);
    const widened = await exchange(c, third.callback.searchParams.get('code')!);
    expect((await introspect(c, widened.access_token)).scope).toBe('openid profile email');
  });

  test('a remembered consent releases what this request asks for, not everything allowed before', async () => {
    const c = await newClient();
    const u = await server.user();
    await authorize(browser(), authUrl(c, 'openid profile email'), { ...u, consent: 'allow' });
    const { callback, shown } = await authorize(browser(), authUrl(c, 'openid email'), u);
    expect(shown).toEqual(['login']);
    const tokens = await exchange(c, callback.searchParams.get('code')!);
    expect((await introspect(c, tokens.access_token)).scope).toBe('openid email');
  });

  test('consent is per account: another person at the same client is asked', async () => {
    const c = await newClient();
    await authorize(browser(), authUrl(c, 'openid profile'), { ...(await server.user()), consent: 'allow' });
    const other = await authorize(browser(), authUrl(c, 'openid profile'), {
      ...(await server.user()),
      consent: 'allow',
    });
    expect(other.shown).toEqual(['login', 'consent']);
  });
});

describe('revocation and reuse detection end one authorization (two browsers, same person and client)', () => {
  let c: Registered;
  let u: User;
  let a: Tokens;
  let b: Tokens;
  beforeEach(async () => {
    c = await newClient();
    u = await server.user();
    a = await signIn(browser(), c, u);
    b = await signIn(browser(), c, u);
  });

  test("revoking A's refresh token (RFC 7009) ends A's access and refresh tokens (§2.1) and leaves B's working", async () => {
    const res = await revoke(c, a.refresh_token!, 'refresh_token');
    expect(res.status).toBe(200);
    await expectEnded(c, a);
    await expectActive(c, b);
  });

  test("replaying A's used refresh token (RFC 9700 §4.14.2) ends A's token family and leaves B's working", async () => {
    const rotated = await refresh(c, a.refresh_token!);
    expect(rotated.status).toBe(200);
    expect(rotated.body.refresh_token).not.toBe(a.refresh_token);

    const replay = await refresh(c, a.refresh_token!);
    expect({ status: replay.status, error: replay.body.error }).toEqual({ status: 400, error: 'invalid_grant' });

    await expectEnded(c, rotated.body);
    expect(await introspect(c, a.access_token)).toEqual({ active: false });
    await expectActive(c, b);
  });

  test("revoking A's access token alone ends it and, with it, A's refresh token; B's keep working", async () => {
    // What holds in oidc-provider 9: revokeGrantPolicy keeps the grant for an
    // access token (the library default), but lib/helpers/revoke.js still
    // revokes every token issued from that grant, refresh tokens included
    // (RFC 7009 §2.1 allows it: the server "MAY" revoke them too).
    const res = await revoke(c, a.access_token, 'access_token');
    expect(res.status).toBe(200);
    await expectEnded(c, a);
    await expectActive(c, b);
  });
});

describe('several authorizations in one browser session', () => {
  test('two authorizations of the same client in one session get two grants: revoking one leaves the other', async () => {
    const c = await newClient();
    const u = await server.user();
    const ua = browser();
    const first = await signIn(ua, c, u);
    expect(first.shown).toEqual(['login', 'consent']);
    // Same session: no login; prompt=consent (offline_access) shows the page again.
    const second = await signIn(ua, c, u);
    expect(second.shown).toEqual(['consent']);

    expect((await revoke(c, second.refresh_token!, 'refresh_token')).status).toBe(200);
    await expectEnded(c, second);
    await expectActive(c, first);
  });

  test('a session-bound token (no offline_access) ends when a newer authorization of the same client takes the session', async () => {
    // The library binds such tokens to the session's current grant for the
    // client (lib/models/token_helpers.js checkSessionBinding); each
    // authorization now has its own grant, so the newer one replaces it.
    const c = await newClient();
    const u = await server.user();
    const ua = browser();
    const first = await signIn(ua, c, u, 'openid profile');
    expect(first.refresh_token).toBeUndefined();
    expect(await me(first.access_token)).toBe(200);
    const second = await signIn(ua, c, u, 'openid profile');
    expect(second.shown).toEqual([]);
    expect(await me(second.access_token)).toBe(200);
    expect(await introspect(c, first.access_token)).toEqual({ active: false });
    expect(await me(first.access_token)).toBe(401);
  });
});

describe('signing out (OpenID Connect RP-Initiated Logout 1.0)', () => {
  async function logout(ua: UserAgent, idToken: string) {
    const confirm = (await ua.navigate(
      `/oauth/logout?${new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: LOGGED_OUT })}`,
    )) as Page;
    expect(isPage(confirm)).toBe(true);
    const done = await ua.submit(confirm, '/oauth/logout/confirm', { logout: 'yes' });
    expect(isPage(done)).toBe(false);
  }

  test("ends the browser's session-bound tokens (expiresWithSession), not the other browser's", async () => {
    const c = await newClient();
    const u = await server.user();
    const uaA = browser();
    const a = await signIn(uaA, c, u, 'openid profile');
    const b = await signIn(browser(), c, u, 'openid profile');
    await logout(uaA, a.id_token!);
    expect(await introspect(c, a.access_token)).toEqual({ active: false });
    expect(await me(a.access_token)).toBe(401);
    expect((await introspect(c, b.access_token)).active).toBe(true);
    expect(await me(b.access_token)).toBe(200);
  });

  test('leaves offline_access tokens working: they outlive the session by design (OIDC Core §11)', async () => {
    const c = await newClient();
    const u = await server.user();
    const ua = browser();
    const a = await signIn(ua, c, u);
    await logout(ua, a.id_token!);
    await expectActive(c, a);
  });
});

describe('how long consent is remembered (GRANT_TTL)', () => {
  let short: TestServer;
  beforeAll(async () => {
    short = await startServer({ GRANT_TTL: '2' });
  });
  afterAll(() => short.close());

  test('after GRANT_TTL since it was last given, consent is asked again, for everything, and what was forgotten stays forgotten', async () => {
    const c = await short.client({ redirectUris: [REDIRECT] });
    const u = await short.user();
    const url = (scope: string) =>
      `${short.issuer}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: c.client_id, redirect_uri: REDIRECT, scope })}`;
    const ua = () => new UserAgent(short.issuer, BROWSER);
    expect((await authorize(ua(), url('openid profile'), { ...u, consent: 'allow' })).shown).toEqual([
      'login',
      'consent',
    ]);
    expect((await authorize(ua(), url('openid profile'), u)).shown).toEqual(['login']);

    travel(2.1);
    // Forgotten: asked again, and a new consent starts afresh rather than widening the old one.
    expect((await authorize(ua(), url('openid email'), { ...u, consent: 'allow' })).shown).toEqual([
      'login',
      'consent',
    ]);
    expect((await authorize(ua(), url('openid email'), u)).shown).toEqual(['login']);
    expect((await authorize(ua(), url('openid profile'), { ...u, consent: 'allow' })).shown).toEqual([
      'login',
      'consent',
    ]);
  });
});

describe('a login prompt in the middle of an authorization', () => {
  const grants = () => server.prepared.database.db.oidcArtifact.count({ where: { model: 'Grant' } });

  test('prompt=login with remembered consent: one new grant, not an orphan besides it', async () => {
    const c = await newClient();
    const u = await server.user();
    const ua = browser();
    await authorize(ua, authUrl(c, 'openid profile'), { ...u, consent: 'allow' });
    const before = await grants();
    const { shown, callback } = await authorize(ua, authUrl(c, 'openid profile', { prompt: 'login' }), u);
    expect(shown).toEqual(['login']);
    expect(await grants()).toBe(before + 1);
    const tokens = await exchange(c, callback.searchParams.get('code')!);
    expect(await me(tokens.access_token)).toBe(200);
  });

  test("another person signing in at the login prompt gets their own consent page and grant, never the first one's (no 500)", async () => {
    const c = await newClient();
    const first = await server.user();
    const second = await server.user();
    const ua = browser();
    // offline_access: the session's grant for this client then survives the
    // sign-out below (persistsLogout), so the interaction's grant still exists.
    await signIn(ua, c, first);

    const login = (await ua.navigate(authUrl(c, 'openid profile', { prompt: 'login' }))) as Page;
    expect(login.html).toContain('/login"');
    // The library signs the first person out before it resumes (lib/actions/authorization/resume.js):
    // an auto-submitted form to the logout confirmation.
    let step = await ua.submit(login, '/login', { username: second.username, password: second.password });
    expect(isPage(step) && step.status).toBe(200);
    step = await ua.submit(step as Page, '/oauth/logout/confirm');
    expect(isPage(step) && (step as Page).html).toContain('/confirm"');
    const done = await ua.submit(step as Page, '/confirm');
    expect(isPage(done)).toBe(false);
    const tokens = await exchange(c, new URL((done as { redirect: string }).redirect).searchParams.get('code')!);
    expect((await introspect(c, tokens.access_token)).sub).toBe(second.id);
  });
});
