// The provider driven by a real, certified relying-party library
// (openid-client v6) exactly as any client application would use it:
// discovery, the code flow with PKCE + state + nonce, ID token validation,
// userinfo, refresh-token rotation, introspection, revocation,
// client_credentials, a public client, and tokens for our API (RFC 8707).
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, authorize } from './helpers/user-agent.js';

const REDIRECT_URI = 'http://127.0.0.1:9999/cb';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

type Registered = Awaited<ReturnType<TestServer['client']>>;
type User = Awaited<ReturnType<TestServer['user']>>;

/**
 * What an RP does at start-up: discovery, with the auth method it was
 * registered with. (Given only a secret, openid-client would use
 * client_secret_post; our clients are registered client_secret_basic and the
 * server rightly holds them to it, so the method is named here.)
 */
function relyingParty(c: Registered): Promise<client.Configuration> {
  const auth = c.client_secret ? client.ClientSecretBasic(c.client_secret) : client.None();
  return client.discovery(new URL(server.issuer), c.client_id, c.client_secret, auth, {
    execute: [client.allowInsecureRequests],
  });
}

interface FlowOptions {
  scope: string;
  /** Extra authorization request parameters (prompt, max_age, ...). */
  params?: Record<string, string>;
  /** Extra token endpoint parameters (resource, ...). */
  tokenParams?: Record<string, string>;
  maxAge?: number;
}

/** The code flow with PKCE S256, state and (with openid) nonce; the person signs in and allows. */
async function codeFlow(config: client.Configuration, user: User, opts: FlowOptions) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const code_challenge = await client.calculatePKCECodeChallenge(pkceCodeVerifier);
  const expectedState = client.randomState();
  const oidc = opts.scope.split(' ').includes('openid');
  const expectedNonce = oidc ? client.randomNonce() : undefined;
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: opts.scope,
    code_challenge,
    code_challenge_method: 'S256',
    state: expectedState,
    ...(expectedNonce ? { nonce: expectedNonce } : {}),
    ...opts.params,
  });
  const ua = new UserAgent(server.issuer);
  const { callback, shown } = await authorize(ua, url.href, {
    username: user.username,
    password: user.password,
    consent: 'allow',
  });
  const tokens = await client.authorizationCodeGrant(
    config,
    callback,
    { pkceCodeVerifier, expectedState, expectedNonce, idTokenExpected: oidc, maxAge: opts.maxAge },
    opts.tokenParams,
  );
  return { tokens, shown, callback, expectedNonce, ua };
}

/** Asserts the promise rejects with an OAuth error response carrying `error`. */
async function expectOAuthError(promise: Promise<unknown>, error: string, status = 400) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(client.ResponseBodyError);
  expect((err as client.ResponseBodyError).error).toBe(error);
  expect((err as client.ResponseBodyError).status).toBe(status);
}

describe('discovery (OpenID Connect Discovery 1.0, RFC 8414)', () => {
  test('the OIDC document and /.well-known/oauth-authorization-server name the same issuer exactly and the same endpoints (RFC 8414 §3)', async () => {
    const oidcDoc = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    const res = await fetch(`${server.issuer}/.well-known/oauth-authorization-server`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const oauthDoc = (await res.json()) as Record<string, unknown>;

    expect(oidcDoc.issuer).toBe(server.issuer);
    expect(oauthDoc.issuer).toBe(oidcDoc.issuer);
    const endpoints = [
      'authorization_endpoint',
      'token_endpoint',
      'userinfo_endpoint',
      'jwks_uri',
      'introspection_endpoint',
      'revocation_endpoint',
      'end_session_endpoint',
    ];
    for (const name of endpoints) {
      expect(oidcDoc[name]).toEqual(expect.stringMatching(new RegExp(`^${server.issuer}/`)));
      expect([name, oauthDoc[name]]).toEqual([name, oidcDoc[name]]);
    }
    expect(oauthDoc.grant_types_supported).toEqual(oidcDoc.grant_types_supported);
    expect(oauthDoc.response_types_supported).toEqual(oidcDoc.response_types_supported);
    // RFC 7636 / RFC 9700: S256 only, `plain` not offered.
    expect(oidcDoc.code_challenge_methods_supported).toEqual(['S256']);
    expect(oauthDoc.code_challenge_methods_supported).toEqual(['S256']);
    // RFC 9207: the iss parameter is announced (openid-client then requires it).
    expect(oidcDoc.authorization_response_iss_parameter_supported).toBe(true);
  });

  test('openid-client discovers the provider through both well-known documents with the same metadata', async () => {
    const c = await server.client();
    const viaOidc = await relyingParty(c);
    const viaOAuth = await client.discovery(
      new URL(server.issuer),
      c.client_id,
      c.client_secret,
      client.ClientSecretBasic(c.client_secret!),
      {
        execute: [client.allowInsecureRequests],
        algorithm: 'oauth2',
      },
    );
    const a = viaOidc.serverMetadata();
    const b = viaOAuth.serverMetadata();
    expect(a.issuer).toBe(server.issuer);
    expect(b.issuer).toBe(a.issuer);
    expect(b.token_endpoint).toBe(a.token_endpoint);
    expect(b.authorization_endpoint).toBe(a.authorization_endpoint);
    expect(b.jwks_uri).toBe(a.jwks_uri);
    // The JWKS the RP would verify ID tokens with is reachable and public-only.
    const jwks = (await (await fetch(a.jwks_uri!)).json()) as { keys: object[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d');
  });
});

describe('authorization code flow (OIDC Core §3.1, RFC 7636)', () => {
  test('code flow with PKCE S256, state and nonce; the ID token validates and carries sub, aud, nonce and auth_time when max_age is used (OIDC Core §3.1.3.7)', async () => {
    const c = await server.client();
    const user = await server.user();
    const config = await relyingParty(c);
    const before = Math.floor(Date.now() / 1000);
    const { tokens, shown, callback, expectedNonce } = await codeFlow(config, user, {
      scope: 'openid profile',
      params: { max_age: '300' },
      maxAge: 300,
    });
    expect(shown).toEqual(['login', 'consent']);
    // RFC 9207: the issuer is in the authorization response.
    expect(callback.searchParams.get('iss')).toBe(server.issuer);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.access_token).toEqual(expect.any(String));
    expect(tokens.id_token).toEqual(expect.any(String));

    const idt = tokens.claims()!;
    expect(idt.iss).toBe(server.issuer);
    expect(idt.sub).toBe(user.id);
    expect(idt.aud).toBe(c.client_id);
    expect(idt.nonce).toBe(expectedNonce);
    expect(typeof idt.auth_time).toBe('number');
    expect(idt.auth_time!).toBeGreaterThanOrEqual(before - 1);
    expect(idt.auth_time!).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 1);
    expect(idt.exp).toBeGreaterThan(idt.iat);

    // The signature verifies with a key from the published jwks_uri (OIDC Core §3.1.3.7 step 6).
    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token!, jwks, {
      issuer: server.issuer,
      audience: c.client_id,
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.sub).toBe(user.id);
  });

  test('userinfo by GET with the token in the Authorization header returns the profile claims for the same sub (OIDC Core §5.3)', async () => {
    const c = await server.client();
    const user = await server.user();
    const config = await relyingParty(c);
    const { tokens } = await codeFlow(config, user, { scope: 'openid profile' });
    const info = await client.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub);
    expect(info).toEqual({ sub: user.id, name: user.username, preferred_username: user.username });
  });

  test('userinfo by POST with the token in the form body (RFC 6750 §2.2, OIDC Core §5.3.1)', async () => {
    const c = await server.client();
    const user = await server.user();
    const config = await relyingParty(c);
    const { tokens } = await codeFlow(config, user, { scope: 'openid profile' });
    const res = await fetch(config.serverMetadata().userinfo_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ access_token: tokens.access_token }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sub: user.id, name: user.username, preferred_username: user.username });
  });

  test('offline_access with prompt=consent yields a refresh token; each refresh rotates it; reusing an old one fails with invalid_grant and revokes the grant, so the newest one fails too (RFC 9700 §4.14.2)', async () => {
    const c = await server.client({ grantTypes: ['authorization_code', 'refresh_token'] });
    const user = await server.user();
    const config = await relyingParty(c);
    const { tokens } = await codeFlow(config, user, {
      scope: 'openid offline_access profile',
      params: { prompt: 'consent' },
    });
    const rt0 = tokens.refresh_token;
    expect(rt0).toEqual(expect.any(String));
    expect(tokens.scope!.split(' ').sort()).toEqual(['offline_access', 'openid', 'profile']);

    const r1 = await client.refreshTokenGrant(config, rt0!);
    expect(r1.refresh_token).toEqual(expect.any(String));
    expect(r1.refresh_token).not.toBe(rt0);
    expect(r1.access_token).not.toBe(tokens.access_token);
    // A refreshed ID token is about the same person (OIDC Core §12.2).
    expect(r1.claims()?.sub).toBe(user.id);

    const r2 = await client.refreshTokenGrant(config, r1.refresh_token!);
    expect(r2.refresh_token).toEqual(expect.any(String));
    expect(new Set([rt0, r1.refresh_token, r2.refresh_token]).size).toBe(3);
    expect((await client.tokenIntrospection(config, r2.access_token)).active).toBe(true);

    // Reuse of a rotated-out token: refused, and the whole grant is revoked.
    await expectOAuthError(client.refreshTokenGrant(config, r1.refresh_token!), 'invalid_grant');
    await expectOAuthError(client.refreshTokenGrant(config, r2.refresh_token!), 'invalid_grant');
    expect(await client.tokenIntrospection(config, r2.access_token)).toEqual({ active: false });
  });

  test('introspection of the access and refresh tokens: active, with the right sub, client_id, scope and expiry (RFC 7662 §2.2)', async () => {
    const c = await server.client();
    const user = await server.user();
    const config = await relyingParty(c);
    const { tokens } = await codeFlow(config, user, {
      scope: 'openid offline_access profile',
      params: { prompt: 'consent' },
    });
    const now = Math.floor(Date.now() / 1000);

    const at = await client.tokenIntrospection(config, tokens.access_token, { token_type_hint: 'access_token' });
    expect(at).toMatchObject({
      active: true,
      sub: user.id,
      client_id: c.client_id,
      scope: 'openid offline_access profile',
      token_type: 'Bearer',
      iss: server.issuer,
    });
    expect(at.iat).toBeGreaterThanOrEqual(now - 5);
    expect(at.iat).toBeLessThanOrEqual(now + 1);
    expect(at.exp! - at.iat!).toBe(server.config.ttl.accessToken);

    const rt = await client.tokenIntrospection(config, tokens.refresh_token!, { token_type_hint: 'refresh_token' });
    expect(rt).toMatchObject({
      active: true,
      sub: user.id,
      client_id: c.client_id,
      scope: 'openid offline_access profile',
      iss: server.issuer,
    });
    expect(rt.exp! - rt.iat!).toBe(server.config.ttl.refreshToken);
  });

  test('after revocation of the access token, introspection answers {active:false} and nothing else (RFC 7009 §2.2, RFC 7662 §2.2)', async () => {
    const c = await server.client();
    const user = await server.user();
    const config = await relyingParty(c);
    const { tokens } = await codeFlow(config, user, { scope: 'openid profile' });
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
    await client.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' });
    const after = await client.tokenIntrospection(config, tokens.access_token);
    expect(after).toEqual({ active: false });
    expect(Object.keys(after)).toEqual(['active']);
    // The RP's token no longer opens userinfo either.
    await expect(client.fetchUserInfo(config, tokens.access_token, user.id)).rejects.toThrow();
  });

  test('revoking the refresh token makes it and the access tokens of its grant inactive (RFC 7009 §2.1)', async () => {
    const c = await server.client();
    const user = await server.user();
    const config = await relyingParty(c);
    const { tokens } = await codeFlow(config, user, {
      scope: 'openid offline_access profile',
      params: { prompt: 'consent' },
    });
    await client.tokenRevocation(config, tokens.refresh_token!, { token_type_hint: 'refresh_token' });
    expect(await client.tokenIntrospection(config, tokens.refresh_token!)).toEqual({ active: false });
    expect(await client.tokenIntrospection(config, tokens.access_token)).toEqual({ active: false });
    await expectOAuthError(client.refreshTokenGrant(config, tokens.refresh_token!), 'invalid_grant');
  });

  test('revoking an unknown token answers 200 (RFC 7009 §2.2)', async () => {
    const c = await server.client();
    const config = await relyingParty(c);
    await expect(client.tokenRevocation(config, `no-such-token-${client.randomState()}`)).resolves.toBeUndefined();
  });
});

describe('client_credentials (RFC 6749 §4.4)', () => {
  test('a client registered for client_credentials only gets an API token, active at introspection with its client_id, no sub', async () => {
    const c = await server.client({ grantTypes: ['client_credentials'], redirectUris: [] });
    const config = await relyingParty(c);
    const tokens = await client.clientCredentialsGrant(config, { scope: 'buy' });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.scope).toBe('buy');
    expect(tokens.refresh_token).toBeUndefined();
    expect(tokens.id_token).toBeUndefined();
    // README: CLIENT_CREDENTIALS_TTL is the lifetime of client-credentials tokens.
    expect(tokens.expires_in).toBe(server.config.ttl.clientCredentials);

    const info = await client.tokenIntrospection(config, tokens.access_token);
    expect(info).toMatchObject({ active: true, client_id: c.client_id, scope: 'buy', aud: server.config.apiResource });
    expect(info.sub).toBeUndefined();
  });

  test('a client registered for client_credentials only, presenting another grant type → unauthorized_client (RFC 6749 §5.2)', async () => {
    const c = await server.client({ grantTypes: ['client_credentials'], redirectUris: [] });
    const config = await relyingParty(c);
    await expectOAuthError(
      client.genericGrantRequest(config, 'authorization_code', { code: 'x', redirect_uri: REDIRECT_URI }),
      'unauthorized_client',
    );
  });
});

describe('public client (RFC 7636, RFC 9700 §2.1.1)', () => {
  test('a public client (token_endpoint_auth_method none) completes the code flow with PKCE and no secret', async () => {
    const c = await server.client({ authMethod: 'none' });
    expect(c.client_secret).toBeUndefined();
    const user = await server.user();
    const config = await relyingParty(c);
    const { tokens } = await codeFlow(config, user, { scope: 'openid profile' });
    expect(tokens.claims()!.sub).toBe(user.id);
    expect(tokens.claims()!.aud).toBe(c.client_id);
  });

  test('a public client without code_challenge gets error=invalid_request at its redirect URI, with state', async () => {
    const c = await server.client({ authMethod: 'none' });
    const config = await relyingParty(c);
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      state,
      nonce: client.randomNonce(),
    });
    const ua = new UserAgent(server.issuer);
    const res = await ua.request(url.href);
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(REDIRECT_URI);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);
    expect(location.searchParams.get('state')).toBe(state);
    expect(location.searchParams.get('iss')).toBe(server.issuer);
    expect(location.searchParams.get('code')).toBeNull();
  });

  test('a public client whose code_verifier does not match gets invalid_grant (RFC 7636 §4.6)', async () => {
    const c = await server.client({ authMethod: 'none' });
    const user = await server.user();
    const config = await relyingParty(c);
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 's1',
    });
    const { callback } = await authorize(new UserAgent(server.issuer), url.href, {
      username: user.username,
      password: user.password,
      consent: 'allow',
    });
    await expectOAuthError(
      client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: 's1',
      }),
      'invalid_grant',
    );
  });
});

describe('an OIDC client asking for the API scopes (RFC 8707; README, "Tokens for the API")', () => {
  /** What the RP sees at the API: the HTTP status of GET /api/me (needs `profile`). */
  const apiMe = async (config: client.Configuration, accessToken: string) =>
    (await client.fetchProtectedResource(config, accessToken, new URL(`${server.issuer}/api/me`), 'GET')).status;

  test('openid profile buy buy_history, no resource at the token endpoint: a UserInfo token (no audience) carrying the granted scopes, good at userinfo and at /api', async () => {
    const c = await server.client();
    const user = await server.user();
    const config = await relyingParty(c);
    const { tokens } = await codeFlow(config, user, { scope: 'openid profile buy buy_history' });
    expect(tokens.claims()!.sub).toBe(user.id);
    expect(tokens.scope!.split(' ').sort()).toEqual(['buy', 'buy_history', 'openid', 'profile']);

    const info = await client.tokenIntrospection(config, tokens.access_token);
    expect(info).toMatchObject({ active: true, sub: user.id, client_id: c.client_id, token_type: 'Bearer' });
    expect(info.scope!.split(' ').sort()).toEqual(['buy', 'buy_history', 'openid', 'profile']);
    expect(info.aud).toBeUndefined();
    expect(await client.fetchUserInfo(config, tokens.access_token, user.id)).toEqual({
      sub: user.id,
      name: user.username,
      preferred_username: user.username,
    });
    expect(await apiMe(config, tokens.access_token)).toBe(200);
  });

  test('openid profile buy buy_history with resource=<api> at the token endpoint: a token for the API audience with scope "profile buy buy_history", refused at userinfo (RFC 8707 §2.2)', async () => {
    const c = await server.client();
    const user = await server.user();
    const config = await relyingParty(c);
    const { tokens } = await codeFlow(config, user, {
      scope: 'openid profile buy buy_history',
      tokenParams: { resource: server.config.apiResource },
    });
    expect(tokens.claims()!.sub).toBe(user.id);
    expect(tokens.scope).toBe('profile buy buy_history');
    expect(tokens.expires_in).toBe(server.config.ttl.accessToken);

    const info = await client.tokenIntrospection(config, tokens.access_token);
    expect(info).toMatchObject({
      active: true,
      sub: user.id,
      client_id: c.client_id,
      scope: 'profile buy buy_history',
      aud: server.config.apiResource,
      token_type: 'Bearer',
    });
    expect(await apiMe(config, tokens.access_token)).toBe(200);
    // An API token is not a UserInfo token: it lacks `openid`, so the
    // challenge is RFC 6750 §3.1 insufficient_scope, 403, naming the scope.
    const err = await client.fetchUserInfo(config, tokens.access_token, user.id).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(client.WWWAuthenticateChallengeError);
    const challenge = err as client.WWWAuthenticateChallengeError;
    expect(challenge.response.status).toBe(403);
    expect(challenge.cause[0]?.scheme).toBe('bearer');
    expect(challenge.cause[0]?.parameters).toMatchObject({ error: 'insufficient_scope', scope: 'openid' });
  });

  test('with offline_access, the client switches by refresh between an API token (resource=<api>) and a UserInfo token (no resource)', async () => {
    const c = await server.client();
    const user = await server.user();
    const config = await relyingParty(c);
    const api = server.config.apiResource;
    const { tokens } = await codeFlow(config, user, {
      scope: 'openid offline_access profile buy buy_history',
      params: { prompt: 'consent' },
      tokenParams: { resource: api },
    });
    expect(tokens.scope).toBe('profile buy buy_history');
    expect(await client.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: true, aud: api });

    const userinfo = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(userinfo.scope!.split(' ').sort()).toEqual(['buy', 'buy_history', 'offline_access', 'openid', 'profile']);
    expect((await client.tokenIntrospection(config, userinfo.access_token)).aud).toBeUndefined();
    expect(await client.fetchUserInfo(config, userinfo.access_token, user.id)).toMatchObject({ sub: user.id });

    const again = await client.refreshTokenGrant(config, userinfo.refresh_token!, { resource: api });
    expect(again.scope).toBe('profile buy buy_history');
    expect(await client.tokenIntrospection(config, again.access_token)).toMatchObject({
      active: true,
      aud: api,
      scope: 'profile buy buy_history',
    });
  });

  test('a client registered with scope "openid profile buy" gets exactly those: UserInfo token "openid profile buy", API token "profile buy" (README; RFC 6749 §3.3)', async () => {
    const c = await server.client({ scope: 'openid profile buy' });
    const user = await server.user();
    const config = await relyingParty(c);
    const plain = await codeFlow(config, user, { scope: 'openid profile buy' });
    expect(plain.tokens.scope!.split(' ').sort()).toEqual(['buy', 'openid', 'profile']);

    const forApi = await codeFlow(config, user, {
      scope: 'openid profile buy',
      tokenParams: { resource: server.config.apiResource },
    });
    expect(forApi.tokens.scope).toBe('profile buy');
    expect(await client.tokenIntrospection(config, forApi.tokens.access_token)).toMatchObject({
      active: true,
      scope: 'profile buy',
      aud: server.config.apiResource,
    });
  });

  test('the same client asking also for buy_history gets error=invalid_scope at its redirect URI, which openid-client reports (RFC 6749 §4.1.2.1)', async () => {
    const c = await server.client({ scope: 'openid profile buy' });
    const user = await server.user();
    const config = await relyingParty(c);
    const err = await codeFlow(config, user, { scope: 'openid profile buy buy_history' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(client.AuthorizationResponseError);
    expect((err as client.AuthorizationResponseError).error).toBe('invalid_scope');
  });

  test('a resource the server does not know is refused with invalid_target (RFC 8707 §2)', async () => {
    const c = await server.client();
    const user = await server.user();
    const config = await relyingParty(c);
    await expectOAuthError(
      codeFlow(config, user, {
        scope: 'openid profile buy',
        tokenParams: { resource: 'https://elsewhere.example/api' },
      }),
      'invalid_target',
    );
  });
});
