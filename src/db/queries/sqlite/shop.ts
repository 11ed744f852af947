// Item and Order on better-sqlite3, every statement prepared once. Dates are
// written as Prisma's adapter writes them (toSqliteDate), so the cursor's text
// comparison on "buyAt" orders our rows and Prisma's alike.
import type { ItemRow, OrderRow, ShopQueries } from '../shop.js';
import { fromSqliteDate, toSqliteDate, type SqliteConnection } from './connection.js';

type Row = Omit<OrderRow, 'buyAt' | 'createdAt'> & { buyAt: unknown; createdAt: unknown };

const ORDER_COLUMNS = `"id", "accountId", "txId", "itemId", "itemName", "itemImgUrl", "amount", "buyAt", "createdAt"`;
const ITEM_COLUMNS = `"itemId", "name", "imgUrl", "amount"`;

const order = (row: Row): OrderRow => ({
  ...row,
  buyAt: fromSqliteDate(row.buyAt) as Date,
  createdAt: fromSqliteDate(row.createdAt) as Date,
});

export function sqliteShop(conn: SqliteConnection): ShopQueries {
  const listItems = conn.statement(`SELECT ${ITEM_COLUMNS} FROM "Item" ORDER BY "itemId" ASC`);
  const findItem = conn.statement(`SELECT ${ITEM_COLUMNS} FROM "Item" WHERE "itemId" = ?`);
  const findOrder = conn.statement(`SELECT ${ORDER_COLUMNS} FROM "Order" WHERE "accountId" = ? AND "txId" = ?`);
  // createdAt written here rather than left to the column's CURRENT_TIMESTAMP,
  // which is text of another shape and to the second only; Prisma stamps it too.
  const insertOrder = conn.statement(
    `INSERT INTO "Order" ("accountId", "txId", "itemId", "itemName", "itemImgUrl", "amount", "buyAt", "createdAt")
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${ORDER_COLUMNS}`,
  );
  // Both read the index ("accountId", "buyAt", "id") in reverse.
  const firstPage = conn.statement(
    `SELECT ${ORDER_COLUMNS} FROM "Order" WHERE "accountId" = ? ORDER BY "buyAt" DESC, "id" DESC LIMIT ?`,
  );
  const nextPage = conn.statement(
    `SELECT ${ORDER_COLUMNS} FROM "Order" WHERE "accountId" = ? AND ("buyAt" < ? OR ("buyAt" = ? AND "id" < ?))
     ORDER BY "buyAt" DESC, "id" DESC LIMIT ?`,
  );

  return {
    async listItems() {
      return listItems().all() as ItemRow[];
    },
    async findItem(itemId) {
      return findItem().get(itemId) as ItemRow | undefined;
    },
    async findOrder(accountId, txId) {
      const row = findOrder().get(accountId, txId) as Row | undefined;
      return row && order(row);
    },
    async insertOrder(o) {
      const row = insertOrder().get(
        o.accountId,
        o.txId,
        o.itemId,
        o.itemName,
        o.itemImgUrl,
        o.amount,
        toSqliteDate(o.buyAt),
        toSqliteDate(new Date()),
      ) as Row;
      return order(row);
    },
    async listOrders(accountId, limit, after) {
      const rows = after
        ? nextPage().all(accountId, toSqliteDate(after.buyAt), toSqliteDate(after.buyAt), after.id, limit)
        : firstPage().all(accountId, limit);
      return (rows as Row[]).map(order);
    },
  };
}
