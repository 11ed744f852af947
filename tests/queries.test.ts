// The hot path's query layer (src/db/queries/) on each database kind, against
// the same tables Prisma reads and writes: every column round trips, rows
// either side wrote are read alike by the other (DateTime formats included),
// expiry compares the same, and consume succeeds once under concurrency.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeDatabase, openDatabase, tuneSqlite, type Database } from '../src/db/client.js';
import { migrate, readMigrations } from '../src/db/migrate.js';
import { ROOT } from '../src/root.js';
import { startPostgres, type PgServer } from './helpers/postgres.js';

let pgs: PgServer | undefined;
const dir = mkdtempSync(join(tmpdir(), 'oidc-queries-'));
// PostgreSQL's timestamp(3) has no zone: a reader that took it as local
// time would be off by hours, which a machine on UTC hides. Jest gives each
// file a copy of process.env, so the zone cannot be set from here: run this
// file once with TZ=America/New_York in the environment to check that.

beforeAll(async () => {
  pgs = await startPostgres();
}, 60_000);

afterAll(async () => {
  await pgs?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

const kinds: [string, () => Promise<string>][] = [
  ['SQLite', async () => `file:${join(dir, 'queries.db')}`],
  ['PostgreSQL', async () => pgs!.createDatabase('queries')],
];

describe.each(kinds)('on %s', (_name, url) => {
  let database: Database;
  beforeAll(async () => {
    database = openDatabase(await url());
    await migrate(database, readMigrations(ROOT, database.flavour));
    if (database.flavour === 'sqlite') await tuneSqlite(database.db);
  }, 30_000);
  afterAll(() => closeDatabase(database));

  const artifacts = () => database.queries.artifacts;
  const later = (s: number) => new Date(Math.floor(Date.now() / 1000) * 1000 + s * 1000 + 123);

  test('every column written by the layer is read back by the layer and by Prisma', async () => {
    const expiresAt = later(3600);
    await artifacts().upsert({
      model: 'DeviceCode',
      id: 'rt1',
      payload: '{"a":"é ✓"}',
      grantId: 'g1',
      userCode: 'UC-1',
      uid: 'u1',
      expiresAt,
    });
    expect(await artifacts().find('DeviceCode', 'rt1')).toEqual({
      payload: '{"a":"é ✓"}',
      grantId: 'g1',
      expiresAt,
      consumedAt: null,
    });
    expect(await artifacts().findByUid('DeviceCode', 'u1')).toMatchObject({ payload: '{"a":"é ✓"}' });
    expect(await artifacts().findByUserCode('DeviceCode', 'UC-1')).toMatchObject({ payload: '{"a":"é ✓"}' });
    expect(await artifacts().findByUid('Session', 'u1')).toBeUndefined();

    const at = later(-5);
    expect(await artifacts().consume('DeviceCode', 'rt1', at)).toBe(true);
    const row = await database.db.oidcArtifact.findUnique({ where: { model_id: { model: 'DeviceCode', id: 'rt1' } } });
    expect(row).toEqual({
      model: 'DeviceCode',
      id: 'rt1',
      payload: '{"a":"é ✓"}',
      grantId: 'g1',
      userCode: 'UC-1',
      uid: 'u1',
      expiresAt,
      consumedAt: at,
    });
  });

  test('a row Prisma wrote is read by the layer with the same instants', async () => {
    const expiresAt = later(60);
    const consumedAt = later(-60);
    await database.db.oidcArtifact.create({
      data: {
        model: 'AuthorizationCode',
        id: 'pw1',
        payload: '{}',
        grantId: 'g2',
        uid: 'u2',
        userCode: 'UC-2',
        expiresAt,
        consumedAt,
      },
    });
    expect(await artifacts().find('AuthorizationCode', 'pw1')).toEqual({
      payload: '{}',
      grantId: 'g2',
      expiresAt,
      consumedAt,
    });
    expect(await artifacts().findByUid('AuthorizationCode', 'u2')).toEqual({
      payload: '{}',
      grantId: 'g2',
      expiresAt,
      consumedAt,
    });
    expect(await artifacts().findByUserCode('AuthorizationCode', 'UC-2')).toEqual({
      payload: '{}',
      grantId: 'g2',
      expiresAt,
      consumedAt,
    });
    await database.db.oidcArtifact.create({ data: { model: 'Session', id: 'pw2', payload: '{}' } });
    expect(await artifacts().find('Session', 'pw2')).toEqual({
      payload: '{}',
      grantId: null,
      expiresAt: null,
      consumedAt: null,
    });
  });

  test('an upsert replaces what the library saves and keeps the consumption', async () => {
    await artifacts().upsert({
      model: 'RefreshToken',
      id: 'up1',
      payload: '{"v":1}',
      grantId: 'g',
      userCode: null,
      uid: null,
      expiresAt: later(10),
    });
    // One instant, kept: later(0) read again after a second boundary would be another.
    const consumedAt = later(0);
    await artifacts().consume('RefreshToken', 'up1', consumedAt);
    await artifacts().upsert({
      model: 'RefreshToken',
      id: 'up1',
      payload: '{"v":2}',
      grantId: null,
      userCode: null,
      uid: 'later',
      expiresAt: null,
    });
    const row = await database.db.oidcArtifact.findUnique({
      where: { model_id: { model: 'RefreshToken', id: 'up1' } },
    });
    expect(row).toMatchObject({
      payload: '{"v":2}',
      grantId: null,
      uid: 'later',
      expiresAt: null,
      consumedAt,
    });
  });

  test('twenty concurrent upserts of one new row: no error, one row, one of the payloads', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        artifacts().upsert({
          model: 'Session',
          id: 'race',
          payload: `{"i":${i}}`,
          grantId: null,
          userCode: null,
          uid: `race-uid`,
          expiresAt: later(60),
        }),
      ),
    );
    expect(await database.db.oidcArtifact.count({ where: { model: 'Session', id: 'race' } })).toBe(1);
    expect((await artifacts().findByUid('Session', 'race-uid'))?.payload).toMatch(/^\{"i":\d+\}$/);
  });

  test('of ten concurrent consumes exactly one wins', async () => {
    await artifacts().upsert({
      model: 'AuthorizationCode',
      id: 'once',
      payload: '{}',
      grantId: 'g',
      userCode: null,
      uid: null,
      expiresAt: later(60),
    });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => artifacts().consume('AuthorizationCode', 'once', new Date())),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await artifacts().consume('AuthorizationCode', 'absent', new Date())).toBe(false);
  });

  test('expiry compares alike: Prisma finds the layer’s expired rows, the layer purges Prisma’s, live rows stay', async () => {
    const past = new Date(Date.now() - 2000);
    await artifacts().upsert({
      model: 'Interaction',
      id: 'old-layer',
      payload: '{}',
      grantId: null,
      userCode: null,
      uid: null,
      expiresAt: past,
    });
    await database.db.oidcArtifact.create({
      data: { model: 'Interaction', id: 'old-prisma', payload: '{}', expiresAt: past },
    });
    await artifacts().upsert({
      model: 'Interaction',
      id: 'live',
      payload: '{}',
      grantId: null,
      userCode: null,
      uid: null,
      expiresAt: later(3600),
    });
    const expired = await database.db.oidcArtifact.findMany({
      where: { model: 'Interaction', expiresAt: { lte: new Date() } },
      select: { id: true },
    });
    expect(expired.map((r) => r.id).sort()).toEqual(['old-layer', 'old-prisma']);
    // One at a time, as the purge does in batches.
    expect(await artifacts().deleteExpired(new Date(), 1)).toBe(1);
    expect(await artifacts().deleteExpired(new Date(), 10)).toBeGreaterThanOrEqual(1);
    expect(await database.db.oidcArtifact.findMany({ where: { model: 'Interaction' }, select: { id: true } })).toEqual([
      { id: 'live' },
    ]);
  });

  test('revoking a grant deletes what was issued under it and the Grant row, nothing else', async () => {
    const put = (model: string, id: string, grantId: string | null) =>
      artifacts().upsert({ model, id, payload: '{}', grantId, userCode: null, uid: null, expiresAt: later(60) });
    await put('Grant', 'G1', null);
    await put('AccessToken', 'rv-at1', 'G1');
    await put('RefreshToken', 'rv-rt1', 'G1');
    await put('AuthorizationCode', 'rv-c1', 'G1');
    await put('Session', 'rv-s1', 'G1'); // not a model issued under a grant
    await put('AccessToken', 'rv-at2', 'G2');
    await artifacts().revokeGrant('G1');
    const left = await database.db.oidcArtifact.findMany({
      where: { id: { in: ['G1', 'rv-at1', 'rv-rt1', 'rv-c1', 'rv-s1', 'rv-at2'] } },
      select: { id: true },
    });
    expect(left.map((r) => r.id).sort()).toEqual(['rv-at2', 'rv-s1']);
    await artifacts().revokeByGrantId('AccessToken', 'G2');
    expect(await artifacts().find('AccessToken', 'rv-at2')).toBeUndefined();
    expect(await artifacts().destroy('Session', 'rv-s1')).toBe(1);
    expect(await artifacts().destroy('Session', 'rv-s1')).toBe(0);
  });

  test('an account Prisma created is found by id without its password hash', async () => {
    const createdAt = later(-100);
    await database.db.account.create({
      data: {
        id: 'acc1',
        username: 'ann',
        passwordHash: 'scrypt$x',
        serverId: 's1',
        email: 'ann@example.com',
        name: null,
        createdAt,
      },
    });
    expect(await database.queries.accounts.findById('acc1')).toEqual({
      id: 'acc1',
      username: 'ann',
      serverId: 's1',
      email: 'ann@example.com',
      name: null,
      createdAt,
    });
    expect(await database.queries.accounts.findById('nobody')).toBeUndefined();
  });

  test('the throttle reads the live counters Prisma wrote, by one key or two, never an expired or another key', async () => {
    const soon = later(600);
    await database.db.rateLimit.createMany({
      data: [
        { key: 'read:gone', points: 9, expire: new Date(Date.now() - 1000) },
        { key: 'read:live', points: 4, expire: soon },
        { key: 'read:forever', points: 2, expire: null },
        { key: 'read:other', points: 7, expire: soon },
      ],
    });
    const rateLimits = database.queries.rateLimits;
    const now = new Date();
    expect(await rateLimits.findLive(['read:live'], now)).toEqual([{ key: 'read:live', points: 4, expire: soon }]);
    const both = await rateLimits.findLive(['read:forever', 'read:gone'], now);
    expect(both).toEqual([{ key: 'read:forever', points: 2, expire: null }]);
    const two = await rateLimits.findLive(['read:live', 'read:forever'], now);
    expect(two.map((r) => r.key).sort()).toEqual(['read:forever', 'read:live']);
    expect(await rateLimits.findLive(['read:nothing'], now)).toEqual([]);
    // A counter is live until the instant it expires, as the purge sees it.
    expect(await rateLimits.findLive(['read:live'], soon)).toEqual([]);
    await database.db.rateLimit.deleteMany({ where: { key: { startsWith: 'read:' } } });
  });

  test('expired throttling counters Prisma wrote are purged, live ones stay', async () => {
    await database.db.rateLimit.createMany({
      data: [
        { key: 'old', points: 3, expire: new Date(Date.now() - 1000) },
        { key: 'live', points: 1, expire: later(600) },
        { key: 'forever', points: 1, expire: null },
      ],
    });
    expect(await database.queries.rateLimits.deleteExpired(new Date())).toBe(1);
    expect(
      (await database.db.rateLimit.findMany({ select: { key: true }, orderBy: { key: 'asc' } })).map((r) => r.key),
    ).toEqual(['forever', 'live']);
  });
});
