// One purchase and one orders page, sequentially on one core: the statements
// Shop ran through Prisma before (findUnique order, findUnique item, create;
// findMany page) against the query layer's (src/db/queries/shop.ts), on one
// fresh SQLite file. Interleaved rounds, so load from elsewhere hits both alike.
//   npx tsx scripts/bench/experiments/shop-micro.ts [purchases per round, default 2000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeDatabase, openDatabase, tuneSqlite } from '../../../src/db/client.js';
import { migrate, readMigrations } from '../../../src/db/migrate.js';
import { ROOT } from '../../../src/root.js';

const n = Number(process.argv[2] ?? 2000);
const dir = mkdtempSync(join(tmpdir(), 'shop-micro-'));
const database = openDatabase(`file:${join(dir, 'shop.db')}`);
await migrate(database, readMigrations(ROOT, database.flavour));
await tuneSqlite(database.db);
const { db, queries } = database;
await db.item.create({ data: { itemId: 'I1', name: 'one', imgUrl: 'https://img.example.com/1.png', amount: 100 } });

let tx = 0;
const buyAt = new Date('2023-09-01T13:22:22Z');
const prisma = {
  async buy(accountId: string) {
    const txId = `p${++tx}`;
    await db.order.findUnique({ where: { accountId_txId: { accountId, txId } } });
    const item = await db.item.findUnique({ where: { itemId: 'I1' } });
    if (!item) throw new Error('no item');
    await db.order.create({
      data: { accountId, txId, itemId: 'I1', itemName: item.name, itemImgUrl: item.imgUrl, amount: item.amount, buyAt },
    });
  },
  page: (accountId: string) =>
    db.order.findMany({ where: { accountId }, orderBy: [{ buyAt: 'desc' }, { id: 'desc' }], take: 21 }),
};
const layer = {
  async buy(accountId: string) {
    const txId = `q${++tx}`;
    await queries.shop.findOrder(accountId, txId);
    const item = await queries.shop.findItem('I1');
    if (!item) throw new Error('no item');
    await queries.shop.insertOrder({
      accountId,
      txId,
      itemId: 'I1',
      itemName: item.name,
      itemImgUrl: item.imgUrl,
      amount: item.amount,
      buyAt,
    });
  },
  page: (accountId: string) => queries.shop.listOrders(accountId, 21),
};

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - t) / 1000 / n;
}

const results: Record<string, number[]> = { 'prisma buy': [], 'layer buy': [], 'prisma page': [], 'layer page': [] };
for (let round = 0; round < 3; round++) {
  results['prisma buy']?.push(await time(() => prisma.buy('acc-p')));
  results['layer buy']?.push(await time(() => layer.buy('acc-q')));
  results['prisma page']?.push(await time(() => prisma.page('acc-p')));
  results['layer page']?.push(await time(() => layer.page('acc-q')));
}
for (const [name, us] of Object.entries(results))
  console.log(`${name.padEnd(12)} µs per call, ${n} × 3 rounds: ${us.map((u) => u.toFixed(1)).join(', ')}`);
await closeDatabase(database);
rmSync(dir, { recursive: true, force: true });
