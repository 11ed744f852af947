// The storage adapter under the library: expiry, consumption, lookups, and the purge.
import { startServer, type TestServer } from './helpers/server.js';
import { storageAdapter, purgeExpired } from '../src/oidc/adapter.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const adapterFor = (model: string) => storageAdapter(server.prepared.database.queries, server.prepared.clients)(model);

test('an artifact is found by id, uid and userCode until it expires, then it is gone to the library', async () => {
  const sessions = adapterFor('Session');
  await sessions.upsert('s1', { uid: 'u1', accountId: 'a' } as never, 1);
  const devices = adapterFor('DeviceCode');
  await devices.upsert('d1', { userCode: 'ABCD-EFGH', grantId: 'g1' } as never, 1);
  expect(await sessions.find('s1')).toMatchObject({ accountId: 'a' });
  expect(await sessions.findByUid('u1')).toMatchObject({ accountId: 'a' });
  expect(await devices.findByUserCode('ABCD-EFGH')).toMatchObject({ grantId: 'g1' });
  await new Promise((r) => setTimeout(r, 1100));
  expect(await sessions.find('s1')).toBeUndefined();
  expect(await sessions.findByUid('u1')).toBeUndefined();
  expect(await devices.findByUserCode('ABCD-EFGH')).toBeUndefined();
});

test('the same id under two models are two artifacts', async () => {
  await adapterFor('AccessToken').upsert('same', { kind: 'AccessToken' } as never, 60);
  await adapterFor('RefreshToken').upsert('same', { kind: 'RefreshToken' } as never, 60);
  expect(await adapterFor('AccessToken').find('same')).toMatchObject({ kind: 'AccessToken' });
  expect(await adapterFor('RefreshToken').find('same')).toMatchObject({ kind: 'RefreshToken' });
});

test('consume marks an artifact once; a second consume is refused and revokes its grant (RFC 6749 §4.1.2)', async () => {
  const codes = adapterFor('AuthorizationCode');
  await codes.upsert('c1', { grantId: 'g' } as never, 60);
  await adapterFor('AccessToken').upsert('from-c1', { grantId: 'g' } as never, 60);
  await adapterFor('AccessToken').upsert('other', { grantId: 'g2' } as never, 60);
  await codes.consume('c1');
  expect(typeof ((await codes.find('c1')) as { consumed: number }).consumed).toBe('number');
  await expect(codes.consume('c1')).rejects.toMatchObject({
    error: 'invalid_grant',
    error_detail: 'authorization code already consumed',
  });
  expect(await codes.find('c1')).toBeUndefined();
  expect(await adapterFor('AccessToken').find('from-c1')).toBeUndefined();
  expect(await adapterFor('AccessToken').find('other')).toMatchObject({ grantId: 'g2' });
});

test('revokeByGrantId removes every artifact of that grant and model, and nothing else', async () => {
  const tokens = adapterFor('AccessToken');
  await tokens.upsert('t1', { grantId: 'gx' } as never, 60);
  await tokens.upsert('t2', { grantId: 'gx' } as never, 60);
  await tokens.upsert('t3', { grantId: 'gy' } as never, 60);
  await tokens.revokeByGrantId('gx');
  expect(await tokens.find('t1')).toBeUndefined();
  expect(await tokens.find('t2')).toBeUndefined();
  expect(await tokens.find('t3')).toMatchObject({ grantId: 'gy' });
});

test('the purge deletes expired rows in batches and keeps live ones', async () => {
  const interactions = adapterFor('Interaction');
  for (let i = 0; i < 25; i++) await interactions.upsert(`old${i}`, { n: i } as never, 1);
  await interactions.upsert('live', { n: 'live' } as never, 3600);
  await new Promise((r) => setTimeout(r, 1100));
  const purged = await purgeExpired(server.prepared.database.queries, new Date(), 10);
  expect(purged).toBeGreaterThanOrEqual(25);
  const left = await server.prepared.database.db.oidcArtifact.count({ where: { model: 'Interaction' } });
  expect(left).toBe(1);
  expect(await interactions.find('live')).toMatchObject({ n: 'live' });
});

test('the purge keeps up with a backlog larger than one batch (SQLite binds at most 999 values per statement)', async () => {
  const db = server.prepared.database.db;
  const past = new Date(Date.now() - 1000);
  await db.oidcArtifact.createMany({
    data: Array.from({ length: 1200 }, (_, i) => ({
      model: i % 2 ? 'AccessToken' : 'Session',
      id: `backlog${i}`,
      payload: '{}',
      expiresAt: past,
    })),
  });
  expect(await purgeExpired(server.prepared.database.queries)).toBeGreaterThanOrEqual(1200);
  expect(await db.oidcArtifact.count({ where: { id: { startsWith: 'backlog' } } })).toBe(0);
});

test('a client secret is stored encrypted, and read back intact', async () => {
  const client = await server.client();
  const row = await server.prepared.database.db.oidcClient.findUnique({ where: { clientId: client.client_id } });
  expect(row!.secretEncrypted).not.toContain(client.client_secret!);
  expect(row!.metadata).not.toContain(client.client_secret!);
  expect((await server.prepared.clients.find(client.client_id))!.client_secret).toBe(client.client_secret);
});

test('a password is stored as a scrypt hash, never as itself', async () => {
  const user = await server.user({ password: 'a very particular passphrase' });
  const row = await server.prepared.database.db.account.findUnique({ where: { id: user.id } });
  expect(row!.passwordHash).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
  expect(row!.passwordHash).not.toContain('particular');
});

test('the purge forgets consents last given GRANT_TTL ago or more, keeps the others, and a forgotten one can be given again', async () => {
  const { consents } = server.prepared;
  const ttl = server.config.ttl.grant;
  const user = await server.user();
  const allowed = { scopes: ['openid', 'profile'], claims: [], resourceScopes: {} };
  await consents.remember(user.id, 'old-client', allowed);
  await consents.remember(user.id, 'new-client', allowed);
  const later = new Date(Date.now() + ttl * 1000 + 1000);
  expect(await consents.forgetExpired(new Date())).toBe(0);
  // Given again just before the purge runs: the consent to new-client is fresh from then on.
  await server.prepared.db.consent.updateMany({
    where: { clientId: 'new-client' },
    data: { updatedAt: new Date(later.getTime() - 1000) },
  });
  expect(await consents.forgetExpired(later)).toBe(1);
  expect(
    await server.prepared.db.consent.findMany({ where: { accountId: user.id }, select: { clientId: true } }),
  ).toEqual([{ clientId: 'new-client' }]);
  expect(await consents.find(user.id, 'old-client')).toBeUndefined();
  await consents.remember(user.id, 'old-client', allowed);
  expect(await consents.find(user.id, 'old-client')).toEqual(allowed);
});
