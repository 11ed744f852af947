// The API's in-process token check reads the access token, its grant, the
// session it is bound to and its account in one statement
// (src/db/queries/token-checks.ts), with no cache. Each of those rows can end
// the token on its own; here each one does, on SQLite and on PostgreSQL, with
// two nodes on one database: what one node does is refused by the other's
// /api/me on the very next request.
import { randomBytes } from 'node:crypto';
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, authorize, isPage, type Page } from './helpers/user-agent.js';
import { call, expectEnvelopeError, expectInvalidToken, postForm, type Json } from './helpers/http.js';
import { bothDatabases } from './helpers/both-databases.js';
import { travel } from './helpers/clock.js';

const REDIRECT = 'http://127.0.0.1:9999/cb';
const LOGGED_OUT = 'http://127.0.0.1:9999/logged-out';
const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
// The grant ends before its access tokens do, so the grant's own expiry can be seen.
const GRANT_TTL = 60;
const ACCESS_TOKEN_TTL = 600;

const { kinds } = bothDatabases('token_check');

interface Tokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
}

describe.each(kinds)('on %s, two nodes sharing the database', (_name, databaseUrl) => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    const env = {
      DATABASE_URL: await databaseUrl(),
      COOKIE_KEYS: randomBytes(32).toString('base64url'),
      SECRET_KEY: randomBytes(32).toString('base64url'),
      GRANT_TTL: String(GRANT_TTL),
      ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL),
    };
    a = await startServer(env);
    b = await startServer(env);
  }, 60_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  let counter = 0;
  async function signIn(ua: UserAgent, c: { client_id: string; client_secret: string }, u: Json, scope: string) {
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: c.client_id,
      redirect_uri: REDIRECT,
      scope,
      state: `s-${++counter}`,
      ...(scope.includes('offline_access') ? { prompt: 'consent' } : {}),
    });
    const { callback } = await authorize(ua, `${a.issuer}/oauth/authorize?${params}`, { ...u, consent: 'allow' });
    const res = await postForm(`${a.issuer}/oauth/token`, c, {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: REDIRECT,
    });
    expect(res.status).toBe(200);
    return res.body as Tokens;
  }

  async function setUp(scope = 'openid profile') {
    const registered = await a.client({ redirectUris: [REDIRECT], postLogoutRedirectUris: [LOGGED_OUT] });
    const c = { client_id: registered.client_id, client_secret: registered.client_secret! };
    const user = await a.user();
    const ua = new UserAgent(a.issuer, BROWSER);
    const tokens = await signIn(ua, c, user, scope);
    return { c, user, ua, tokens };
  }

  const me = (node: TestServer, token: string) => call(node.issuer, '/api/me', { token });

  test('a valid token answers with its own user at either node', async () => {
    const { user, tokens } = await setUp();
    for (const node of [a, b]) {
      const res = await me(node, tokens.access_token);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ success: true, username: user.username, server_id: user.serverId });
    }
  });

  test('signing out at node A ends its session-bound token (no offline_access) at both nodes at once', async () => {
    const { ua, tokens } = await setUp('openid profile');
    expect((await me(b, tokens.access_token)).status).toBe(200);
    const confirm = (await ua.navigate(
      `/oauth/logout?${new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: LOGGED_OUT })}`,
    )) as Page;
    expect(isPage(confirm)).toBe(true);
    expect(isPage(await ua.submit(confirm, '/oauth/logout/confirm', { logout: 'yes' }))).toBe(false);
    expectInvalidToken(await me(b, tokens.access_token));
    expectInvalidToken(await me(a, tokens.access_token));
  });

  test('a session-bound token ends at both nodes at once when a newer authorization of the same client takes its session', async () => {
    // Only the session row says so: the first grant and token rows stay. The
    // library binds a token without offline_access to the session's current
    // grant for its client (lib/models/token_helpers.js checkSessionBinding).
    const { c, user, ua, tokens: first } = await setUp('openid profile');
    expect((await me(b, first.access_token)).status).toBe(200);
    const second = await signIn(ua, c, user, 'openid profile');
    expect((await me(b, second.access_token)).status).toBe(200);
    expectInvalidToken(await me(b, first.access_token));
    expectInvalidToken(await me(a, first.access_token));
  });

  test('replaying a rotated refresh token at node A (RFC 9700 §4.14.2) ends the new access token at node B at once', async () => {
    const { c, tokens } = await setUp('openid offline_access profile');
    const refresh = (token: string) =>
      postForm(`${a.issuer}/oauth/token`, c, { grant_type: 'refresh_token', refresh_token: token });
    const rotated = await refresh(tokens.refresh_token!);
    expect(rotated.status).toBe(200);
    expect((await me(b, rotated.body.access_token)).status).toBe(200);
    const replay = await refresh(tokens.refresh_token!);
    expect({ status: replay.status, error: replay.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
    expectInvalidToken(await me(b, rotated.body.access_token));
    expectInvalidToken(await me(b, tokens.access_token));
  });

  test('an access token whose grant has expired (GRANT_TTL before ACCESS_TOKEN_TTL) → 401 at both nodes', async () => {
    // offline_access: not bound to the session, so only the grant can end it here.
    const { tokens } = await setUp('openid offline_access profile');
    expect((await me(b, tokens.access_token)).status).toBe(200);
    travel(GRANT_TTL + 1);
    expectInvalidToken(await me(a, tokens.access_token));
    expectInvalidToken(await me(b, tokens.access_token));
  });

  test("a deleted account's token → 401 at /api/me at both nodes at once, saying the user no longer exists", async () => {
    const { user, tokens } = await setUp('openid offline_access profile');
    expect((await me(b, tokens.access_token)).status).toBe(200);
    await a.prepared.db.account.delete({ where: { id: user.id } });
    for (const node of [a, b]) {
      const res = await me(node, tokens.access_token);
      expectEnvelopeError(res, 401, /^the token's user no longer exists$/);
      expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    }
  });
});
