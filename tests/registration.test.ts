// Dynamic client registration (RFC 7591) and its management (RFC 7592):
// off by default; when on, only with the initial access token.
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, authorize } from './helpers/user-agent.js';
import { basic } from './helpers/http.js';

const IAT = 'initial-access-token-for-tests-123';
const metadata = {
  client_name: 'Registered app',
  redirect_uris: ['http://127.0.0.1:9999/cb'],
  token_endpoint_auth_method: 'client_secret_basic',
};
const register = (issuer: string, body: unknown, token?: string) =>
  fetch(`${issuer}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

describe('off (the default)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  test('no registration endpoint in discovery, and none at /oauth/register', async () => {
    const discovery = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(discovery.registration_endpoint).toBeUndefined();
    const res = await register(server.issuer, metadata, IAT);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'invalid_request', error_description: 'unknown endpoint' });
  });
});

describe('on, with an initial access token', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ REGISTRATION_ENABLED: 'true', REGISTRATION_INITIAL_ACCESS_TOKEN: IAT });
  });
  afterAll(() => server.close());

  test('discovery names the registration endpoint', async () => {
    const discovery = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(discovery.registration_endpoint).toBe(`${server.issuer}/oauth/register`);
  });

  test('without the initial access token, or with a wrong one, registration is refused (RFC 7591 §3, RFC 6750 §3.1)', async () => {
    for (const token of [undefined, 'wrong-token-wrong-token']) {
      const res = await register(server.issuer, metadata, token);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_token');
    }
  });

  test('invalid metadata is refused with invalid_redirect_uri / invalid_client_metadata (RFC 7591 §3.2.2)', async () => {
    const bad = await register(server.issuer, { ...metadata, redirect_uris: ['not a url'] }, IAT);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('invalid_redirect_uri');
    const worse = await register(server.issuer, { ...metadata, token_endpoint_auth_method: 'nonsense' }, IAT);
    expect(worse.status).toBe(400);
    expect(((await worse.json()) as { error: string }).error).toBe('invalid_client_metadata');
  });

  test('a registered client gets its credentials once, is stored encrypted, and completes the code flow', async () => {
    const res = await register(server.issuer, metadata, IAT);
    expect(res.status).toBe(201);
    const client = (await res.json()) as Record<string, string>;
    expect(client).toMatchObject({
      client_name: 'Registered app',
      client_id: expect.any(String),
      client_secret: expect.any(String),
      registration_access_token: expect.any(String),
      registration_client_uri: expect.stringContaining('/oauth/register/'),
    });
    const row = await server.prepared.database.db.oidcClient.findUnique({ where: { clientId: client.client_id } });
    expect(row!.metadata).not.toContain(client.client_secret!);
    expect(row!.secretEncrypted).not.toContain(client.client_secret!);

    const user = await server.user();
    const { callback } = await authorize(
      new UserAgent(server.issuer),
      `${server.issuer}/oauth/authorize?response_type=code&client_id=${client.client_id}&scope=profile&state=s`,
      { ...user, consent: 'allow' },
    );
    const token = await fetch(`${server.issuer}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: basic({ client_id: client.client_id!, client_secret: client.client_secret }),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: callback.searchParams.get('code')! }),
    });
    expect(token.status).toBe(200);
  });

  test("a registered client with no grants is not a resource server: it cannot introspect other clients' tokens (RFC 7662 §2.2)", async () => {
    const owner = await server.client({ grantTypes: ['client_credentials'], redirectUris: [] });
    const issued = await fetch(`${server.issuer}/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic(owner), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'buy' }),
    });
    const { access_token } = (await issued.json()) as { access_token: string };
    const introspect = async (id: string, secret: string) =>
      (
        await fetch(`${server.issuer}/oauth/introspect`, {
          method: 'POST',
          headers: {
            authorization: basic({ client_id: id }, secret),
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({ token: access_token }),
        })
      ).json();

    const registered = (await (
      await register(
        server.issuer,
        { client_name: 'sneaky', grant_types: [], response_types: [], redirect_uris: [] },
        IAT,
      )
    ).json()) as Record<string, string>;
    expect(await introspect(registered.client_id!, registered.client_secret!)).toEqual({ active: false });

    const api = await server.client({ resourceServer: true, redirectUris: [] });
    expect(await introspect(api.client_id, api.client_secret!)).toMatchObject({
      active: true,
      client_id: owner.client_id,
    });
  });

  test('RFC 7592: read with the registration access token, delete, and the client is gone', async () => {
    const client = (await (await register(server.issuer, metadata, IAT)).json()) as Record<string, string>;
    const auth = { authorization: `Bearer ${client.registration_access_token}` };
    const read = await fetch(client.registration_client_uri!, { headers: auth });
    expect(read.status).toBe(200);
    expect(((await read.json()) as Record<string, string>).client_id).toBe(client.client_id);
    expect(
      (await fetch(client.registration_client_uri!, { headers: { authorization: 'Bearer nope-nope-nope' } })).status,
    ).toBe(401);
    const del = await fetch(client.registration_client_uri!, { method: 'DELETE', headers: auth });
    expect(del.status).toBe(204);
    expect(await server.prepared.clients.find(client.client_id!)).toBeUndefined();
  });
});
