// Signing keys as a relying party sees them: the JWKS at /oauth/jwks, ID
// tokens that verify against it, and rotations that a running server follows
// within KEY_REFRESH_INTERVAL (1 s here), with no restart, keeping old tokens
// valid. The server runs on a database of this file's own, so that it can be
// restarted on the same keys (the helper's close() removes only its own dir).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { rotateSigningKeys } from '../src/oidc/keys.js';
import { keyRetention } from '../src/oidc/provider.js';
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, authorize, isPage } from './helpers/user-agent.js';
import type { Json } from './helpers/http.js';
import { cli, waitFor } from './helpers/processes.js';
import { basic } from './helpers/http.js';
import { testDatabase, type TestDatabase } from './helpers/database.js';

const INTERVAL = 1; // KEY_REFRESH_INTERVAL, seconds
// The next tick reads a change at most INTERVAL after it; the rest is polling and a loaded machine.
const WITHIN_MS = INTERVAL * 1000 + 1500;

const dir = mkdtempSync(join(tmpdir(), 'oidc-keys-'));
// DATABASE_URL is set in beforeAll (a PostgreSQL database is made, not named).
const dbEnv = { DATABASE_URL: '', DATA_DIR: dir, KEY_REFRESH_INTERVAL: String(INTERVAL) };
let database: TestDatabase | undefined;

let server: TestServer;
let client: { client_id: string; client_secret?: string };
let user: { id: string; username: string; password: string };

beforeAll(async () => {
  database = await testDatabase(dir, 'keys.db');
  dbEnv.DATABASE_URL = database.url;
  server = await startServer(dbEnv);
  client = await server.client();
  user = await server.user();
});
afterAll(async () => {
  await server.close();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

async function jwks(issuer: string): Promise<JWK[]> {
  const res = await fetch(`${issuer}/oauth/jwks`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/(jwk-set\+)?json/);
  return ((await res.json()) as { keys: JWK[] }).keys;
}

/** Signs in through the code flow with `openid` and returns the ID token from the token endpoint. */
async function idToken(srv: TestServer): Promise<string> {
  const ua = new UserAgent(srv.issuer);
  const url = `${srv.issuer}/oauth/authorize?response_type=code&client_id=${client.client_id}&scope=openid profile&state=s1&nonce=n-${Date.now()}`;
  const { callback } = await authorize(ua, url, { username: user.username, password: user.password, consent: 'allow' });
  const code = callback.searchParams.get('code');
  expect(code).toBeTruthy();
  const res = await fetch(`${srv.issuer}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: basic(client),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: code! }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { id_token?: string };
  expect(body.id_token).toEqual(expect.any(String));
  return body.id_token!;
}

const verify = (token: string, jwksIssuer: string, tokenIssuer: string) =>
  jwtVerify(token, createRemoteJWKSet(new URL(`${jwksIssuer}/oauth/jwks`)), {
    issuer: tokenIssuer,
    audience: client.client_id,
  });

test('/oauth/jwks publishes public keys only: an RS256 and an ES256 signing key, each with a kid', async () => {
  const keys = await jwks(server.issuer);
  expect(keys.length).toBeGreaterThanOrEqual(2);
  for (const key of keys) {
    for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member);
    expect(key.kid).toMatch(/\S/);
    expect(key.use).toBe('sig');
  }
  expect(new Set(keys.map((k) => k.kid)).size).toBe(keys.length);
  expect(keys).toContainEqual(expect.objectContaining({ alg: 'RS256', kty: 'RSA', n: expect.any(String), e: 'AQAB' }));
  expect(keys).toContainEqual(
    expect.objectContaining({ alg: 'ES256', kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String) }),
  );
});

test('discovery names the JWKS, and an ID token verifies against it with jose', async () => {
  const discovery = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<
    string,
    unknown
  >;
  expect(discovery.jwks_uri).toBe(`${server.issuer}/oauth/jwks`);
  expect(discovery.id_token_signing_alg_values_supported).toEqual(expect.arrayContaining(['RS256', 'ES256']));

  const token = await idToken(server);
  const header = decodeProtectedHeader(token);
  expect(header.alg).toBe('RS256');
  const kids = (await jwks(server.issuer)).map((k) => k.kid);
  expect(kids).toContain(header.kid);

  const { payload, protectedHeader } = await verify(token, server.issuer, server.issuer);
  expect(protectedHeader.kid).toBe(header.kid);
  expect(payload.sub).toBe(user.id);
  expect(payload.aud).toBe(client.client_id);
});

test('signing keys are stored sealed: no row of the SigningKey table holds a private or public key member in clear', async () => {
  const rows =
    await server.prepared.database.db.$queryRawUnsafe<Record<string, unknown>[]>('SELECT * FROM "SigningKey"');
  const published = await jwks(server.issuer);
  expect(rows.length).toBeGreaterThanOrEqual(2);
  expect(rows.map((r) => r.kid).sort()).toEqual(published.map((k) => k.kid).sort());
  // The public halves from the JWKS: a plaintext JWK in the row would contain them.
  const publicValues = published.flatMap((k) => [k.n, k.x, k.y]).filter((v): v is string => typeof v === 'string');
  for (const row of rows) {
    for (const value of Object.values(row)) {
      if (typeof value !== 'string') continue;
      expect(value).not.toContain('"d":');
      expect(value).not.toContain('"kty"');
      for (const pub of publicValues) expect(value).not.toContain(pub);
    }
  }
});

test('a restart serves the same keys: they come from the database, not from the process', async () => {
  const before = (await jwks(server.issuer)).map((k) => k.kid).sort();
  const token = await idToken(server);
  const oldIssuer = server.issuer;
  await server.close();
  server = await startServer(dbEnv);
  expect(server.issuer).not.toBe(oldIssuer); // another port; the keys come from the database
  expect((await jwks(server.issuer)).map((k) => k.kid).sort()).toEqual(before);
  expect(decodeProtectedHeader(await idToken(server)).kid).toBe(decodeProtectedHeader(token).kid);
});

test('one node: keys:rotate reaches the running server within KEY_REFRESH_INTERVAL; the JWKS has the new and the old keys, new ID tokens use the new key, old ones still verify', async () => {
  const oldKids = (await jwks(server.issuer)).map((k) => k.kid!).sort();
  const oldToken = await idToken(server);
  const oldKid = decodeProtectedHeader(oldToken).kid;
  expect(oldKids).toContain(oldKid);

  // The command line, as an operator runs it, on the server's database.
  const rotation: Json = await cli('keys:rotate', ['--now'], dbEnv);
  expect([...rotation.retired].sort()).toEqual(oldKids);
  expect(rotation.created).toHaveLength(2);
  expect(rotation.deleted).toEqual([]);
  expect(rotation.next).toMatch(/within 1 s .*no restart/);
  const { activatedAt } = (await server.prepared.database.db.signingKey.findUnique({
    where: { kid: rotation.created[0] },
  }))!;

  const expected = [...rotation.created, ...oldKids].sort();
  await waitFor(
    'the new keys in the JWKS',
    async () =>
      (await jwks(server.issuer))
        .map((k) => k.kid)
        .sort()
        .join() === expected.join(),
    WITHIN_MS,
  );
  // From the moment the keys were stored, not from the CLI's answer.
  expect(Date.now() - activatedAt!.getTime()).toBeLessThanOrEqual(WITHIN_MS);
  const keys = await jwks(server.issuer);
  for (const key of keys) for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member);
  const newRsaKid = keys.find((k) => k.alg === 'RS256' && rotation.created.includes(k.kid!))?.kid;
  expect(newRsaKid).toEqual(expect.any(String));

  // Published and signing at once: one node cannot be asked by a client that has not seen its JWKS.
  const newToken = await idToken(server);
  expect(decodeProtectedHeader(newToken).kid).toBe(newRsaKid);
  await expect(verify(newToken, server.issuer, server.issuer)).resolves.toMatchObject({ payload: { sub: user.id } });
  // The token signed before the rotation, checked against the same server's JWKS now.
  await expect(verify(oldToken, server.issuer, server.issuer)).resolves.toMatchObject({
    protectedHeader: { kid: oldKid },
    payload: { sub: user.id },
  });
});

test('a sign-in begun before a key change finishes after it, and its ID token carries the new key', async () => {
  const ua = new UserAgent(server.issuer);
  const login = await ua.navigate(
    `${server.issuer}/oauth/authorize?response_type=code&client_id=${client.client_id}&scope=openid&state=s2&nonce=n-${Date.now()}`,
  );
  if (!isPage(login) || !login.html.includes('/login"')) throw new Error('expected the login page');

  const before = server.prepared.provider.current;
  const rotation = await rotateSigningKeys(
    server.prepared.database.db,
    server.prepared.box,
    keyRetention(server.config),
  );
  await waitFor('the server to take the new keys', async () => server.prepared.provider.current !== before, WITHIN_MS);

  // The interaction, its cookies and the session outlive the provider instance that started them.
  let step = await ua.submit(login, '/login', { username: user.username, password: user.password });
  if (isPage(step) && step.html.includes('/confirm"')) step = await ua.submit(step, '/confirm');
  if (isPage(step)) throw new Error(`unexpected page ${step.status} ${step.url}`);
  const code = new URL(step.redirect).searchParams.get('code');
  expect(code).toBeTruthy();
  const res = await fetch(`${server.issuer}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic(client), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: code! }),
  });
  expect(res.status).toBe(200);
  const { id_token } = (await res.json()) as { id_token: string };
  expect(rotation.created).toContain(decodeProtectedHeader(id_token).kid);
});

test('a retired key leaves the JWKS of the running server at the first rotation after its retention has passed', async () => {
  const before = (await jwks(server.issuer)).map((k) => k.kid!);
  const active = (await server.prepared.database.db.signingKey.findMany({ where: { retiredAt: null } }))
    .map((k) => k.kid)
    .sort();
  const retired = before.filter((kid) => !active.includes(kid)).sort();
  expect(retired.length).toBeGreaterThan(0);

  const retention = keyRetention(server.config);
  const later = new Date(Date.now() + (retention + 60) * 1000);
  const rotation = await rotateSigningKeys(server.prepared.database.db, server.prepared.box, retention, later);
  expect([...rotation.deleted].sort()).toEqual(retired);
  expect([...rotation.retired].sort()).toEqual(active);

  const expected = [...rotation.created, ...active].sort().join();
  await waitFor(
    'the JWKS without the deleted keys',
    async () =>
      (await jwks(server.issuer))
        .map((k) => k.kid)
        .sort()
        .join() === expected,
    WITHIN_MS,
  );
});

test('a refresh with nothing changed keeps the provider; a change builds one new provider, once', async () => {
  // Its own server, whose timer never fires during the test: refresh() by hand.
  const quiet = await startServer({ KEY_REFRESH_INTERVAL: '3600' });
  try {
    const first = quiet.prepared.provider.current;
    expect(await quiet.prepared.keyRefresh.refresh()).toBe('unchanged');
    expect(quiet.prepared.provider.current).toBe(first);

    await rotateSigningKeys(quiet.prepared.database.db, quiet.prepared.box, keyRetention(quiet.config));
    expect(await quiet.prepared.keyRefresh.refresh()).toBe('replaced');
    const second = quiet.prepared.provider.current;
    expect(second).not.toBe(first);
    expect(await quiet.prepared.keyRefresh.refresh()).toBe('unchanged');
    expect(quiet.prepared.provider.current).toBe(second);
  } finally {
    await quiet.close();
  }
});

test('a key the server cannot open (sealed with another SECRET_KEY) is logged, and the server keeps signing with the keys it has', async () => {
  const quiet = await startServer({ KEY_REFRESH_INTERVAL: '3600', LOG_LEVEL: 'warn' });
  try {
    const published = (await jwks(quiet.issuer)).map((k) => k.kid).sort();
    await quiet.prepared.database.db.signingKey.create({
      data: { kid: 'foreign', alg: 'RS256', createdAt: new Date(), jwkEncrypted: 'v1.not-sealed-with-our-key' },
    });
    expect(await quiet.prepared.keyRefresh.refresh()).toBe('failed');
    expect((await jwks(quiet.issuer)).map((k) => k.kid).sort()).toEqual(published);
    expect(quiet.logs.map((l) => JSON.parse(l) as { msg: string }).map((l) => l.msg)).toContain(
      'signing keys: cannot use the new keys; keeping the current ones',
    );
  } finally {
    await quiet.close();
  }
});
