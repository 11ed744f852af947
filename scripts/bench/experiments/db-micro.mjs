// EXPERIMENT: what one OidcArtifact lookup and one upsert cost through our
// Prisma client (dist/, so `npm run build` first) versus better-sqlite3 with
// a reused prepared statement, on a scratch SQLite file in WAL mode, and how
// the process's memory grows meanwhile. Sequential, one core.
//
//   node --expose-gc scripts/bench/experiments/db-micro.mjs [--n 20000]
//   node --expose-gc --import=./scripts/bench/experiments/stmt-cache.mjs scripts/bench/experiments/db-micro.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { values } = parseArgs({ options: { n: { type: 'string', default: '20000' } } });
const N = Number(values.n);
const Database = createRequire(import.meta.url)('better-sqlite3');
const { openDatabase, tuneSqlite, closeDatabase } = await import(join(ROOT, 'dist/src/db/client.js'));
const { migrate, readMigrations } = await import(join(ROOT, 'dist/src/db/migrate.js'));
const { createLogger } = await import(join(ROOT, 'dist/src/log.js'));

const mb = (n) => `${(n / 1048576).toFixed(0)} MB`;
const mem = () => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return `rss ${mb(m.rss)} (V8 heap used ${mb(m.heapUsed)} of ${mb(m.heapTotal)}, external ${mb(m.external)})`;
};

const dir = mkdtempSync(join(tmpdir(), 'db-micro-'));
try {
  const url = `file:${join(dir, 'micro.db')}`;
  const database = openDatabase(url, createLogger('silent'));
  await migrate(database, readMigrations(ROOT, 'sqlite'));
  await tuneSqlite(database.db);
  const db = database.db;
  const exp = () => new Date(Date.now() + 3600_000);
  for (let i = 0; i < 100; i++) {
    await db.oidcArtifact.create({
      data: {
        model: 'AccessToken',
        id: `t${i}`,
        payload: JSON.stringify({ jti: `t${i}`, kind: 'AccessToken', scope: 'profile' }),
        expiresAt: exp(),
      },
    });
  }
  console.log(`start: ${mem()}`);

  const time = async (label, fn) => {
    for (let i = 0; i < 500; i++) await fn(i); // warm-up
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await fn(i);
    const us = ((performance.now() - t0) * 1000) / N;
    console.log(`${label.padEnd(48)} ${us.toFixed(1).padStart(7)} µs/op   after ${N}: ${mem()}`);
  };

  await time('prisma oidcArtifact.findUnique', (i) =>
    db.oidcArtifact.findUnique({ where: { model_id: { model: 'AccessToken', id: `t${i % 100}` } } }),
  );
  await time('prisma oidcArtifact.upsert (new row)', (i) =>
    db.oidcArtifact.upsert({
      where: { model_id: { model: 'ClientCredentials', id: `p${i}` } },
      create: { model: 'ClientCredentials', id: `p${i}`, payload: '{"kind":"ClientCredentials"}', expiresAt: exp() },
      update: { payload: '{"kind":"ClientCredentials"}', expiresAt: exp() },
    }),
  );

  // What the adapter runs now (src/db/queries/): the same statements, prepared once, behind promises.
  const artifacts = database.queries.artifacts;
  await time('src/db/queries artifacts.find', (i) => artifacts.find('AccessToken', `t${i % 100}`));
  await time('src/db/queries artifacts.upsert (new row)', (i) =>
    artifacts.upsert({
      model: 'ClientCredentials',
      id: `q${i}`,
      payload: '{"kind":"ClientCredentials"}',
      grantId: null,
      userCode: null,
      uid: null,
      expiresAt: exp(),
    }),
  );

  const raw = new Database(join(dir, 'micro.db'));
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  const find = raw.prepare('SELECT payload, expiresAt, consumedAt FROM OidcArtifact WHERE model = ? AND id = ?');
  const upsert = raw.prepare(
    'INSERT INTO OidcArtifact (model, id, payload, grantId, userCode, uid, expiresAt) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
      'ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grantId = excluded.grantId, userCode = excluded.userCode, uid = excluded.uid, expiresAt = excluded.expiresAt',
  );
  await time('better-sqlite3 reused statement: find', async (i) => find.get('AccessToken', `t${i % 100}`));
  await time('better-sqlite3 reused statement: upsert (new row)', async (i) =>
    upsert.run('ClientCredentials', `r${i}`, '{"kind":"ClientCredentials"}', null, null, null, Date.now() + 3600_000),
  );
  await time('better-sqlite3 prepare per query: find', async (i) =>
    raw
      .prepare('SELECT payload, expiresAt, consumedAt FROM OidcArtifact WHERE model = ? AND id = ?')
      .get('AccessToken', `t${i % 100}`),
  );
  raw.close();
  await closeDatabase(database);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
