// Counting one failed attempt, sequentially on one core: what
// rate-limiter-flexible's Prisma store ran per consume (deleteMany of the
// key's expired row, then an upsert incrementing it) against the query
// layer's one statement (src/db/queries/rate-limits.ts), on one fresh SQLite
// file. Half the calls hit a new key (an attack spread over usernames), half
// an existing one. Interleaved rounds, so load from elsewhere hits both alike.
//   npx tsx scripts/bench/experiments/throttle-micro.ts [failures per round, default 2000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeDatabase, openDatabase, tuneSqlite } from '../../../src/db/client.js';
import { migrate, readMigrations } from '../../../src/db/migrate.js';
import { ROOT } from '../../../src/root.js';

const n = Number(process.argv[2] ?? 2000);
const dir = mkdtempSync(join(tmpdir(), 'throttle-micro-'));
const database = openDatabase(`file:${join(dir, 'throttle.db')}`);
await migrate(database, readMigrations(ROOT, database.flavour));
await tuneSqlite(database.db);
const { db, queries } = database;

const WINDOW_MS = 900_000;
let calls = 0;
const keyOf = (side: string) => `login-user:${side}${calls % 2 === 0 ? calls : 'same'}`;
const prisma = async () => {
  calls++;
  const key = keyOf('p');
  const now = new Date();
  await db.rateLimit.deleteMany({ where: { key, expire: { lte: now } } });
  await db.rateLimit.upsert({
    where: { key },
    create: { key, points: 1, expire: new Date(now.getTime() + WINDOW_MS) },
    update: { points: { increment: 1 } },
  });
};
const layer = async () => {
  calls++;
  const now = new Date();
  await queries.rateLimits.consume(keyOf('q'), now, new Date(now.getTime() + WINDOW_MS));
};

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - t) / 1000 / n;
}

const results: Record<string, number[]> = { prisma: [], layer: [] };
for (let round = 0; round < 3; round++) {
  results.prisma?.push(await time(prisma));
  results.layer?.push(await time(layer));
}
for (const [name, us] of Object.entries(results))
  console.log(`${name.padEnd(7)} µs per failure counted, ${n} × 3 rounds: ${us.map((u) => u.toFixed(1)).join(', ')}`);
await closeDatabase(database);
rmSync(dir, { recursive: true, force: true });
