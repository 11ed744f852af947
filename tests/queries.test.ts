// The hot path's query layer (src/db/queries/) on each database kind, against
// the same tables Prisma reads and writes: every column round trips, rows
// either side wrote are read alike by the other (DateTime formats included),
// expiry compares the same, consume succeeds once under concurrency, and of
// concurrent purchases with one tx_id the unique index lets one in.
import { closeDatabase, openDatabase, tuneSqlite, type Database } from '../src/db/client.js';
import { isUniqueViolation } from '../src/db/errors.js';
import type { NewOrder } from '../src/db/queries/shop.js';
import { migrate, readMigrations } from '../src/db/migrate.js';
import { ROOT } from '../src/root.js';
import { sql } from './helpers/postgres.js';
import { bothDatabases } from './helpers/both-databases.js';
import { createLogger } from '../src/log.js';
import { Throttle } from '../src/security/throttle.js';

// PostgreSQL's timestamp(3) has no zone: a reader that took it as local
// time would be off by hours, which a machine on UTC hides. Jest gives each
// file a copy of process.env, so the zone cannot be set from here: run this
// file once with TZ=America/New_York in the environment to check that.
const { kinds, postgres } = bothDatabases('queries');

describe.each(kinds)('on %s', (_name, url) => {
  let database: Database;
  beforeAll(async () => {
    database = openDatabase(await url(), createLogger('silent'));
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

  test('a failure is counted on the counters Prisma wrote: a live one goes on, an expired one starts again', async () => {
    const rateLimits = database.queries.rateLimits;
    const soon = later(600);
    await database.db.rateLimit.createMany({
      data: [
        { key: 'count:live', points: 2, expire: soon },
        { key: 'count:gone', points: 9, expire: new Date(Date.now() - 1000) },
      ],
    });
    const now = new Date();
    const next = later(900);
    expect(await rateLimits.consume('count:live', now, next)).toEqual({ points: 3, expire: soon });
    expect(await rateLimits.consume('count:gone', now, next)).toEqual({ points: 1, expire: next });
    expect(await rateLimits.consume('count:new', now, next)).toEqual({ points: 1, expire: next });
    expect(await rateLimits.consume('count:new', now, later(1200))).toEqual({ points: 2, expire: next });
    // Expiry is exclusive, as findLive and the purge see it: at `soon` the live counter is over.
    expect(await rateLimits.consume('count:live', soon, next)).toEqual({ points: 1, expire: next });
    // Prisma (the command line, the rows rate-limiter-flexible wrote) reads what the layer wrote.
    expect(await database.db.rateLimit.findUnique({ where: { key: 'count:new' } })).toEqual({
      key: 'count:new',
      points: 2,
      expire: next,
    });
    expect(await rateLimits.findLive(['count:new'], now)).toEqual([{ key: 'count:new', points: 2, expire: next }]);
    await database.db.rateLimit.deleteMany({ where: { key: { startsWith: 'count:' } } });
  });

  test('concurrent failures on one key are each counted once', async () => {
    const rateLimits = database.queries.rateLimits;
    const now = new Date();
    const expire = later(600);
    const counted = await Promise.all(Array.from({ length: 25 }, () => rateLimits.consume('race:one', now, expire)));
    expect(counted.map((c) => c.points).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(await rateLimits.findLive(['race:one'], now)).toEqual([{ key: 'race:one', points: 25, expire }]);
    await rateLimits.delete('race:one');
  });

  test('the throttle gives 3 of 20 parallel sign-ins for one username a password check and counts all 20', async () => {
    const throttle = new Throttle(database.queries.rateLimits, {
      window: 60,
      loginPerUser: 3,
      loginPerIp: 1000,
      clientAuthPerClient: 3,
      clientAuthPerIp: 1000,
    });
    const waits = await Promise.all(
      Array.from({ length: 20 }, (_, i) => throttle.loginAttempt('Racer', `10.0.0.${i}`)),
    );
    expect(waits.filter((w) => w === 0)).toHaveLength(3);
    expect(waits.filter((w) => w > 0 && w <= 60)).toHaveLength(17);
    // rate-limiter-flexible's key form (keyPrefix:key), so a rolling deploy keeps the counts.
    const rows = await database.db.rateLimit.findMany({ where: { key: { startsWith: 'login-user:' } } });
    expect(rows.map((r) => r.points)).toEqual([20]);
    // A good password clears the username and gives the IP its attempt back.
    await throttle.loginSucceeded('racer', '10.0.0.0');
    expect(await database.db.rateLimit.count({ where: { key: { startsWith: 'login-user:' } } })).toBe(0);
    const ips = await database.db.rateLimit.findMany({ where: { key: { startsWith: 'login-ip:' } } });
    expect(ips.map((r) => r.points).sort()).toEqual([0, ...Array(19).fill(1)]);
    await database.db.rateLimit.deleteMany({ where: { key: { startsWith: 'login-' } } });
  });

  test('a reward takes points off a live counter only; a delete removes the counter', async () => {
    const rateLimits = database.queries.rateLimits;
    const now = new Date();
    await database.db.rateLimit.createMany({
      data: [
        { key: 'reward:live', points: 4, expire: later(600) },
        { key: 'reward:gone', points: 4, expire: new Date(Date.now() - 1000) },
      ],
    });
    await rateLimits.reward('reward:live', 1, now);
    await rateLimits.reward('reward:gone', 1, now);
    await rateLimits.reward('reward:none', 1, now);
    const points = async () =>
      (
        await database.db.rateLimit.findMany({ where: { key: { startsWith: 'reward:' } }, orderBy: { key: 'asc' } })
      ).map((r) => [r.key, r.points]);
    expect(await points()).toEqual([
      ['reward:gone', 4],
      ['reward:live', 3],
    ]);
    await rateLimits.delete('reward:live');
    await rateLimits.delete('reward:none');
    expect(await points()).toEqual([['reward:gone', 4]]);
    await rateLimits.delete('reward:gone');
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
  describe('the shop', () => {
    const shop = () => database.queries.shop;
    const newOrder = (accountId: string, txId: string, buyAt: Date): NewOrder => ({
      accountId,
      txId,
      itemId: 'SQ_1',
      itemName: '品項 ✓',
      itemImgUrl: 'https://img.example.com/sq.png',
      amount: 100,
      buyAt,
    });

    beforeAll(async () => {
      await database.db.item.createMany({
        data: [
          { itemId: 'SQ_2', name: 'second', imgUrl: 'https://img.example.com/2.png', amount: 250 },
          { itemId: 'SQ_1', name: '品項 ✓', imgUrl: 'https://img.example.com/sq.png', amount: 100 },
        ],
      });
    });

    test('the items Prisma wrote are listed by itemId and found one by one', async () => {
      expect(await shop().listItems()).toEqual([
        { itemId: 'SQ_1', name: '品項 ✓', imgUrl: 'https://img.example.com/sq.png', amount: 100 },
        { itemId: 'SQ_2', name: 'second', imgUrl: 'https://img.example.com/2.png', amount: 250 },
      ]);
      expect(await shop().findItem('SQ_2')).toEqual({
        itemId: 'SQ_2',
        name: 'second',
        imgUrl: 'https://img.example.com/2.png',
        amount: 250,
      });
      expect(await shop().findItem('NONE')).toBeUndefined();
    });

    test('an order the layer inserts is read by Prisma to the millisecond, and by the layer as Prisma reads it', async () => {
      const buyAt = later(-3600);
      const before = Date.now();
      const inserted = await shop().insertOrder(newOrder('sq-a', 'tx-1', buyAt));
      expect(inserted).toEqual({
        id: expect.any(Number),
        ...newOrder('sq-a', 'tx-1', buyAt),
        createdAt: expect.any(Date),
      });
      expect(inserted.createdAt.getTime()).toBeGreaterThanOrEqual(before);
      expect(inserted.createdAt.getTime()).toBeLessThanOrEqual(Date.now());
      const row = await database.db.order.findUnique({
        where: { accountId_txId: { accountId: 'sq-a', txId: 'tx-1' } },
      });
      expect(row).toEqual(inserted);
      expect(await shop().findOrder('sq-a', 'tx-1')).toEqual(row);
      expect(await shop().findOrder('sq-a', 'tx-none')).toBeUndefined();
      expect(await shop().findOrder('sq-other', 'tx-1')).toBeUndefined();
    });

    test('an order Prisma created is found and listed by the layer with the same instants', async () => {
      const buyAt = later(-7200);
      const createdAt = later(-10);
      const row = await database.db.order.create({ data: { ...newOrder('sq-b', 'tx-p', buyAt), createdAt } });
      expect(await shop().findOrder('sq-b', 'tx-p')).toEqual({ ...row, buyAt, createdAt });
      expect(await shop().listOrders('sq-b', 10)).toEqual([row]);
    });

    test('a tx_id taken for the account is refused with an error the unique-violation check knows; another account may use it', async () => {
      await shop().insertOrder(newOrder('sq-c', 'tx-dup', later(-60)));
      const err = await shop()
        .insertOrder(newOrder('sq-c', 'tx-dup', later(-30)))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeDefined();
      expect(isUniqueViolation(err)).toBe(true);
      await expect(shop().insertOrder(newOrder('sq-d', 'tx-dup', later(-30)))).resolves.toMatchObject({
        accountId: 'sq-d',
      });
      expect(await database.db.order.count({ where: { txId: 'tx-dup' } })).toBe(2);
    });

    test('of ten concurrent inserts with one tx_id exactly one lands; the others are unique violations', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => shop().insertOrder(newOrder('sq-e', 'tx-race', later(-i)))),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(refused).toHaveLength(9);
      expect(refused.every((r) => isUniqueViolation(r.reason))).toBe(true);
      expect(await database.db.order.count({ where: { accountId: 'sq-e' } })).toBe(1);
    });

    test('pages of orders from both writers, ties on buy_at included, walk Prisma’s order exactly once', async () => {
      const t = later(-86_400);
      const tie = new Date(t.getTime() + 1);
      // Alternate writers; three orders share one instant, and one is a millisecond apart.
      const instants = [t, tie, tie, later(-5000), tie, new Date(t.getTime() + 2), later(-100)];
      for (const [i, at] of instants.entries()) {
        if (i % 2 === 0) await shop().insertOrder(newOrder('sq-f', `p-${i}`, at));
        else await database.db.order.create({ data: newOrder('sq-f', `p-${i}`, at) });
      }
      await shop().insertOrder(newOrder('sq-g', 'not-mine', tie));
      const expected = await database.db.order.findMany({
        where: { accountId: 'sq-f' },
        orderBy: [{ buyAt: 'desc' }, { id: 'desc' }],
      });
      expect(expected).toHaveLength(instants.length);
      for (const size of [1, 2, 3, 7]) {
        const seen = [];
        let after: { buyAt: Date; id: number } | undefined;
        for (;;) {
          const page = await shop().listOrders('sq-f', size, after);
          seen.push(...page);
          const last = page[page.length - 1];
          if (page.length < size || !last) break;
          after = { buyAt: last.buyAt, id: last.id };
        }
        expect(seen).toEqual(expected);
      }
      expect(await shop().listOrders('sq-nobody', 5)).toEqual([]);
    });
  });
});

describe('on PostgreSQL, connections the server ends', () => {
  test('idle connections ended by the server (pg_terminate_backend: a restart, a failover) are replaced, not fatal, and logged', async () => {
    const url = await postgres().createDatabase('ended');
    const lines: string[] = [];
    const database = openDatabase(url, createLogger('warn', { write: (line: string) => void lines.push(line) }));
    try {
      await migrate(database, readMigrations(ROOT, database.flavour));
      // Only the hot path's queries: Prisma has not connected, so only our own listener stands between
      // the pool's 'error' event and the end of the process.
      expect(await database.queries.artifacts.find('Session', 'none')).toBeUndefined();
      const name = new URL(url).pathname.slice(1);
      const ended = await sql<{ n: number }>(
        postgres().adminUrl,
        `SELECT COUNT(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'idle'`,
        [name],
      );
      expect(ended[0]?.n).toBeGreaterThan(0);
      await waitUntil(() => lines.length > 0);
      expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
        msg: 'PostgreSQL ended an idle connection; the pool opens a new one',
      });
      expect(await database.queries.artifacts.find('Session', 'none')).toBeUndefined();
    } finally {
      await closeDatabase(database);
    }
  });
});

async function waitUntil(done: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
