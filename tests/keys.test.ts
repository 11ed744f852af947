// Signing keys as a relying party sees them: the JWKS at /oauth/jwks, ID
// tokens that verify against it, and a rotation that keeps old tokens valid.
// The server runs on a database of this file's own, so that it can be
// restarted on the same keys (the helper's close() removes only its own dir).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { activateSigningKeys, rotateSigningKeys, stageSigningKeys } from '../src/oidc/keys.js';
import { keyRetention } from '../src/oidc/provider.js';
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, authorize } from './helpers/user-agent.js';

const dir = mkdtempSync(join(tmpdir(), 'oidc-keys-'));
const dbEnv = { DATABASE_URL: `file:${join(dir, 'keys.db')}`, DATA_DIR: dir };

let server: TestServer;
let client: { client_id: string; client_secret?: string };
let user: { id: string; username: string; password: string };

beforeAll(async () => {
  server = await startServer(dbEnv);
  client = await server.client();
  user = await server.user();
});
afterAll(async () => {
  await server.close();
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
      authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
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
  jwtVerify(token, createRemoteJWKSet(new URL(`${jwksIssuer}/oauth/jwks`)), { issuer: tokenIssuer, audience: client.client_id });

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
  expect(keys).toContainEqual(expect.objectContaining({ alg: 'ES256', kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String) }));
});

test('discovery names the JWKS, and an ID token verifies against it with jose', async () => {
  const discovery = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
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
  const rows = await server.prepared.database.db.$queryRawUnsafe<Record<string, unknown>[]>('SELECT * FROM "SigningKey"');
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

test('after a rotation and a restart the JWKS has the new and the old keys, new ID tokens use the new key, old ones still verify', async () => {
  const oldIssuer = server.issuer;
  const oldKeys = await jwks(oldIssuer);
  const oldKids = oldKeys.map((k) => k.kid!).sort();
  const oldToken = await idToken(server);
  const oldKid = decodeProtectedHeader(oldToken).kid;
  expect(oldKids).toContain(oldKid);

  const rotation = await rotateSigningKeys(server.prepared.database.db, server.prepared.box, keyRetention(server.config));
  expect([...rotation.retired].sort()).toEqual(oldKids);
  expect(rotation.created).toHaveLength(2);
  expect(rotation.deleted).toEqual([]);

  // Restart: a new instance of the app on the same database and DATA_DIR.
  await server.close();
  server = await startServer(dbEnv);
  expect(server.issuer).not.toBe(oldIssuer); // another port; the keys come from the database

  const keys = await jwks(server.issuer);
  expect(keys.map((k) => k.kid).sort()).toEqual([...rotation.created, ...oldKids].sort());
  for (const key of keys) for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member);
  const newRsaKid = keys.find((k) => k.alg === 'RS256' && rotation.created.includes(k.kid!))?.kid;
  expect(newRsaKid).toEqual(expect.any(String));

  const newToken = await idToken(server);
  expect(decodeProtectedHeader(newToken).kid).toBe(newRsaKid);
  await expect(verify(newToken, server.issuer, server.issuer)).resolves.toMatchObject({ payload: { sub: user.id } });

  // The token signed before the rotation, checked against the restarted server's JWKS.
  await expect(verify(oldToken, server.issuer, oldIssuer)).resolves.toMatchObject({ protectedHeader: { kid: oldKid }, payload: { sub: user.id } });
});

test('a retired key leaves the JWKS at the first rotation after its retention has passed', async () => {
  const before = (await jwks(server.issuer)).map((k) => k.kid!);
  const active = (await server.prepared.database.db.signingKey.findMany({ where: { retiredAt: null } })).map((k) => k.kid).sort();
  const retired = before.filter((kid) => !active.includes(kid)).sort();
  expect(retired.length).toBeGreaterThan(0);

  const retention = keyRetention(server.config);
  const later = new Date(Date.now() + (retention + 60) * 1000);
  const rotation = await rotateSigningKeys(server.prepared.database.db, server.prepared.box, retention, later);
  expect([...rotation.deleted].sort()).toEqual(retired);
  expect([...rotation.retired].sort()).toEqual(active);

  await server.close();
  server = await startServer(dbEnv);
  const after = (await jwks(server.issuer)).map((k) => k.kid).sort();
  expect(after).toEqual([...rotation.created, ...active].sort());
});

test('several nodes: a staged key is published everywhere before any node signs with it', async () => {
  const db = server.prepared.database.db;
  const activeRsa = (await db.signingKey.findFirst({ where: { alg: 'RS256', retiredAt: null, activatedAt: { not: null } } }))!.kid;

  const staged = await stageSigningKeys(db, server.prepared.box);
  expect(staged).toHaveLength(2);
  // Rolling restart, one node after the other: both publish the staged keys, both still sign with the active one.
  await server.close();
  server = await startServer(dbEnv);
  const other = await startServer(dbEnv);
  try {
    for (const node of [server, other]) {
      expect((await jwks(node.issuer)).map((k) => k.kid)).toEqual(expect.arrayContaining(staged));
      expect(decodeProtectedHeader(await idToken(node)).kid).toBe(activeRsa);
    }

    const activation = await activateSigningKeys(db, keyRetention(server.config));
    expect(activation.activated.sort()).toEqual([...staged].sort());
    expect(activation.retired).toContain(activeRsa);
    // Restart only the first node: it signs with the new key, which the other, not yet restarted, already publishes.
    await server.close();
    server = await startServer(dbEnv);
    const fresh = await idToken(server);
    const newKid = decodeProtectedHeader(fresh).kid!;
    expect(staged).toContain(newKid);
    await expect(verify(fresh, other.issuer, server.issuer)).resolves.toMatchObject({ payload: { sub: user.id } });
  } finally {
    await other.close();
  }
});
