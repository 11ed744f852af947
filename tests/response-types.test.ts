// Which response types the provider offers (src/oidc/configuration.ts,
// responseTypes). By default only `code`: no token ever leaves the
// authorization endpoint (RFC 9700 §2.1.2, OAuth 2.1). IMPLICIT_AND_HYBRID=true
// adds OpenID Connect's implicit and hybrid types for the conformance plans
// that test them; then they work end to end, through our own sign-in and
// consent pages, with a certified relying party (openid-client) and jose.
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createHash } from 'node:crypto';
import { ClientError } from '../src/clients/clients.js';
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, authorize } from './helpers/user-agent.js';

const REDIRECT_URI = 'http://127.0.0.1:9999/cb';
// OpenID Connect Dynamic Client Registration §2: a web client of the implicit
// grant (hybrid too) registers https redirect URIs only; the library holds
// every client to it. The user agent stops at the client, so nothing listens there.
const HTTPS_REDIRECT_URI = 'https://rp.example/cb';
const IAT = 'initial-access-token-for-response-types';
const IMPLICIT_AND_HYBRID = [
  'code',
  'code id_token',
  'code id_token token',
  'code token',
  'id_token',
  'id_token token',
];
const FRONT_CHANNEL = ['code id_token', 'code token', 'code id_token token', 'id_token', 'id_token token'];
const WELL_KNOWN = ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'];

type Registered = Awaited<ReturnType<TestServer['client']>>;

async function discoveryDocuments(server: TestServer): Promise<Record<string, unknown>[]> {
  return Promise.all(
    WELL_KNOWN.map(async (path) => {
      const res = await fetch(`${server.issuer}${path}`);
      expect(res.status).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    }),
  );
}

/** A dynamic registration (RFC 7591) with the server's initial access token. */
const register = (server: TestServer, metadata: Record<string, unknown>) =>
  fetch(`${server.issuer}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${IAT}` },
    body: JSON.stringify({ client_name: 'RP', redirect_uris: [HTTPS_REDIRECT_URI], ...metadata }),
  });

/** An authorization request URL, as a client would build it by hand. */
const authorizationUrl = (server: TestServer, c: Registered, params: Record<string, string>) =>
  `${server.issuer}/oauth/authorize?${new URLSearchParams({ client_id: c.client_id, redirect_uri: c.redirect_uris![0]!, scope: 'openid profile', state: 'st4te', nonce: 'n0nce', ...params })}`;

/** The parameters of an authorization response: the fragment when there is one (OAuth 2.0 Multiple Response Types §5), else the query. */
const responseParams = (callback: URL) => new URLSearchParams(callback.hash ? callback.hash.slice(1) : callback.search);

/** OpenID Connect Core §3.3.2.11: left half of the SHA-256 of the ASCII value, base64url (RS256/ES256/PS256). */
const leftHalfHash = (value: string) => {
  const digest = createHash('sha256').update(value, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
};

describe('by default: the code flow only', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ REGISTRATION_ENABLED: 'true', REGISTRATION_INITIAL_ACCESS_TOKEN: IAT });
  });
  afterAll(() => server.close());

  test('both discovery documents advertise response type `code` only, and no implicit grant (RFC 9700 §2.1.2, RFC 8414 §2)', async () => {
    for (const doc of await discoveryDocuments(server)) {
      expect(doc.response_types_supported).toEqual(['code']);
      expect(doc.grant_types_supported).toEqual(['authorization_code', 'refresh_token', 'client_credentials']);
      expect(doc.grant_types_supported).not.toContain('implicit');
    }
  });

  test.each([...FRONT_CHANNEL, 'token', 'none'])(
    'response_type=%s comes back to the redirect URI as unsupported_response_type (RFC 6749 §4.1.2.1)',
    async (responseType) => {
      const c = await server.client();
      // No sign-in, no consent: the request is refused before anyone is asked.
      const ua = new UserAgent(server.issuer);
      const step = await ua.navigate(authorizationUrl(server, c, { response_type: responseType }));
      expect(step).toHaveProperty('redirect');
      const callback = new URL((step as { redirect: string }).redirect);
      expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
      const params = responseParams(callback);
      expect(params.get('error')).toBe('unsupported_response_type');
      expect(params.get('state')).toBe('st4te');
      expect(params.get('iss')).toBe(server.issuer);
      for (const leaked of ['code', 'id_token', 'access_token']) expect(params.has(leaked)).toBe(false);
    },
  );

  test("the client service (the CLI's) refuses a client asking for an implicit or hybrid response type, naming what is offered", async () => {
    for (const responseTypes of [['code id_token'], ['id_token'], ['code', 'id_token token']]) {
      const err = await server.client({ responseTypes }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ClientError);
      expect((err as Error).message).toMatch(
        /^response type '.+' is not offered by this server; it offers 'code' \(IMPLICIT_AND_HYBRID=true adds it\)$/,
      );
    }
    await expect(server.client({ responseTypes: ['code bogus'] })).rejects.toThrow(
      "response type 'code bogus' is not offered by this server; it offers 'code'",
    );
    expect(await server.prepared.database.db.oidcClient.count({ where: { metadata: { contains: 'id_token' } } })).toBe(
      0,
    );
  });

  test('dynamic registration refuses them with invalid_client_metadata (RFC 7591 §3.2.2)', async () => {
    for (const response_types of [['code id_token'], ['id_token'], ['id_token token']]) {
      const res = await register(server, { response_types });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: 'invalid_client_metadata',
        error_description: "response_types can only contain 'code'",
      });
    }
    // Asking for the implicit grant by name is refused as well.
    const res = await register(server, { grant_types: ['implicit'], response_types: ['code'] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_client_metadata');
  });
});

describe('IMPLICIT_AND_HYBRID=true', () => {
  let server: TestServer;
  let jwks: ReturnType<typeof createRemoteJWKSet>;
  beforeAll(async () => {
    server = await startServer({
      IMPLICIT_AND_HYBRID: 'true',
      REGISTRATION_ENABLED: 'true',
      REGISTRATION_INITIAL_ACCESS_TOKEN: IAT,
    });
    jwks = createRemoteJWKSet(new URL(`${server.issuer}/oauth/jwks`));
  });
  afterAll(() => server.close());

  /** A relying party configured from discovery, as openid-client is used. */
  const relyingParty = (c: Registered, use: (config: client.Configuration) => void) =>
    client.discovery(new URL(server.issuer), c.client_id, c.client_secret, client.ClientSecretBasic(c.client_secret!), {
      execute: [client.allowInsecureRequests, use],
    });

  /** Verifies an ID token as any RP must (OpenID Connect Core §3.1.3.7 / §3.2.2.11): signature against /oauth/jwks, iss, aud, nonce. */
  async function verifyIdToken(idToken: string, c: Registered, nonce: string) {
    const { payload, protectedHeader } = await jwtVerify(idToken, jwks, {
      issuer: server.issuer,
      audience: c.client_id,
    });
    expect(payload.nonce).toBe(nonce);
    expect(protectedHeader.alg).toMatch(/^(RS|PS|ES)256$/);
    return payload;
  }

  test('both discovery documents list the implicit and hybrid response types and the implicit grant', async () => {
    for (const doc of await discoveryDocuments(server)) {
      expect([...(doc.response_types_supported as string[])].sort()).toEqual(IMPLICIT_AND_HYBRID);
      expect(doc.grant_types_supported).toEqual(
        expect.arrayContaining(['authorization_code', 'implicit', 'refresh_token']),
      );
      // Fragment encoding is how these responses travel (OAuth 2.0 Multiple Response Types §5).
      expect(doc.response_modes_supported).toEqual(expect.arrayContaining(['fragment', 'form_post']));
    }
  });

  test('the client service registers a hybrid client, with the implicit grant its response types need', async () => {
    const c = await server.client({ responseTypes: ['code', 'code id_token'], redirectUris: [HTTPS_REDIRECT_URI] });
    expect(c.response_types).toEqual(['code', 'code id_token']);
    expect(c.grant_types).toEqual(['authorization_code', 'refresh_token', 'implicit']);
  });

  test('dynamic registration accepts them (RFC 7591, OpenID Connect Dynamic Client Registration §2)', async () => {
    const res = await register(server, {
      response_types: ['code id_token', 'id_token'],
      grant_types: ['authorization_code', 'implicit'],
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({
      response_types: ['code id_token', 'id_token'],
      grant_types: ['authorization_code', 'implicit'],
    });
  });

  test('hybrid `code id_token` (OpenID Connect Core §3.3): sign-in, consent, an ID token in the fragment that verifies, and a code that redeems', async () => {
    const c = await server.client({ responseTypes: ['code id_token'], redirectUris: [HTTPS_REDIRECT_URI] });
    const user = await server.user();
    const config = await relyingParty(c, client.useCodeIdTokenResponseType);
    const nonce = client.randomNonce();
    const state = client.randomState();
    const pkceCodeVerifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: HTTPS_REDIRECT_URI,
      scope: 'openid profile',
      nonce,
      state,
      code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
      code_challenge_method: 'S256',
    });
    expect(url.searchParams.get('response_type')).toBe('code id_token');

    const { callback, shown } = await authorize(new UserAgent(server.issuer), url.href, { ...user, consent: 'allow' });
    expect(shown).toEqual(['login', 'consent']);
    // The default response mode of a hybrid type is the fragment: nothing in the query, where logs and Referer would see it.
    expect(callback.search).toBe('');
    const params = responseParams(callback);
    expect(params.get('state')).toBe(state);
    const code = params.get('code')!;
    const idToken = params.get('id_token')!;
    expect(code).toBeTruthy();
    expect(params.has('access_token')).toBe(false);

    const front = await verifyIdToken(idToken, c, nonce);
    // §3.3.2.11: c_hash binds the code to this ID token.
    expect(front.c_hash).toBe(leftHalfHash(code));
    expect(front.sub).toBe(user.id);

    // openid-client validates the fragment response (the ID token included) and redeems the code.
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.claims()).toMatchObject({ sub: user.id, nonce });
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, user.id);
    expect(userinfo).toMatchObject({ sub: user.id, preferred_username: user.username });
  });

  test('implicit `id_token` (OpenID Connect Core §3.2): sign-in, consent, and an ID token in the fragment that verifies', async () => {
    const c = await server.client({ responseTypes: ['id_token'], redirectUris: [HTTPS_REDIRECT_URI] });
    expect(c.grant_types).toEqual(['implicit']);
    const user = await server.user();
    const config = await relyingParty(c, client.useIdTokenResponseType);
    const nonce = client.randomNonce();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: HTTPS_REDIRECT_URI,
      scope: 'openid profile',
      nonce,
      state,
    });
    expect(url.searchParams.get('response_type')).toBe('id_token');

    const { callback, shown } = await authorize(new UserAgent(server.issuer), url.href, { ...user, consent: 'allow' });
    expect(shown).toEqual(['login', 'consent']);
    expect(callback.search).toBe('');
    const params = responseParams(callback);
    expect([...params.keys()].sort()).toEqual(['id_token', 'state'].concat(params.has('iss') ? ['iss'] : []).sort());

    const payload = await verifyIdToken(params.get('id_token')!, c, nonce);
    // With no access token to fetch them with, the claims of the granted scopes are in the ID token itself (Core §5.4).
    expect(payload).toMatchObject({ sub: user.id, preferred_username: user.username });
    expect(payload.at_hash).toBeUndefined();
    const claims = await client.implicitAuthentication(config, callback, nonce, { expectedState: state });
    expect(claims.sub).toBe(user.id);
  });

  test.each(['id_token token', 'code id_token token', 'code token'])(
    "`%s`: the access token from the fragment is a UserInfo token (Core §3.2.2.5) that also works at /api, like the code flow's",
    async (responseType) => {
      const c = await server.client({ responseTypes: [responseType], redirectUris: [HTTPS_REDIRECT_URI] });
      const user = await server.user();
      const { callback } = await authorize(
        new UserAgent(server.issuer),
        authorizationUrl(server, c, { response_type: responseType, scope: 'openid profile buy' }),
        { ...user, consent: 'allow' },
      );
      expect(callback.search).toBe('');
      const params = responseParams(callback);
      expect(params.get('token_type')).toBe('Bearer');
      expect(params.get('scope')).toBe('openid profile buy');
      const accessToken = params.get('access_token')!;
      if (responseType.includes('id_token')) {
        // §3.2.2.10 / §3.3.2.11: at_hash binds the access token to the ID token.
        const payload = await verifyIdToken(params.get('id_token')!, c, 'n0nce');
        expect(payload.at_hash).toBe(leftHalfHash(accessToken));
      }
      const bearer = { authorization: `Bearer ${accessToken}` };
      const userinfo = await fetch(`${server.issuer}/oauth/userinfo`, { headers: bearer });
      expect(userinfo.status).toBe(200);
      expect(await userinfo.json()).toMatchObject({ sub: user.id, preferred_username: user.username });
      const me = await fetch(`${server.issuer}/api/me`, { headers: bearer });
      expect(me.status).toBe(200);
      expect(await me.json()).toMatchObject({ success: true, username: user.username });
    },
  );

  test('a client registered for `code` only is still refused `code id_token`: its registration limits it (the library answers invalid_request)', async () => {
    const c = await server.client();
    const step = await new UserAgent(server.issuer).navigate(
      authorizationUrl(server, c, { response_type: 'code id_token' }),
    );
    const params = responseParams(new URL((step as { redirect: string }).redirect));
    expect(params.get('error')).toBe('invalid_request');
    expect(params.get('error_description')).toBe('requested response_type is not allowed for this client');
    expect(params.has('code')).toBe(false);
    expect(params.has('id_token')).toBe(false);
  });
});
