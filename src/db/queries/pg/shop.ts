// Item and Order on PostgreSQL, named prepared statements: one round trip each.
import type pg from 'pg';
import type { ItemRow, OrderRow, ShopQueries } from '../shop.js';
import { run, toPgTimestamp } from './connection.js';

const ORDER_COLUMNS = `"id", "accountId", "txId", "itemId", "itemName", "itemImgUrl", "amount", "buyAt", "createdAt"`;
const ITEM_COLUMNS = `"itemId", "name", "imgUrl", "amount"`;

const LIST_ITEMS = { name: 'shop_list_items', text: `SELECT ${ITEM_COLUMNS} FROM "Item" ORDER BY "itemId" ASC` };
const FIND_ITEM = { name: 'shop_find_item', text: `SELECT ${ITEM_COLUMNS} FROM "Item" WHERE "itemId" = $1` };
const FIND_ORDER = {
  name: 'shop_find_order',
  text: `SELECT ${ORDER_COLUMNS} FROM "Order" WHERE "accountId" = $1 AND "txId" = $2`,
};
// createdAt from the caller's clock, as Prisma stamps it: the column's
// CURRENT_TIMESTAMP would be the server's local time in a zone-less column.
const INSERT_ORDER = {
  name: 'shop_insert_order',
  text: `INSERT INTO "Order" ("accountId", "txId", "itemId", "itemName", "itemImgUrl", "amount", "buyAt", "createdAt")
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${ORDER_COLUMNS}`,
};
// Both read the index ("accountId", "buyAt", "id") backwards; the row comparison is one index range.
const FIRST_PAGE = {
  name: 'shop_orders_first_page',
  text: `SELECT ${ORDER_COLUMNS} FROM "Order" WHERE "accountId" = $1 ORDER BY "buyAt" DESC, "id" DESC LIMIT $2`,
};
const NEXT_PAGE = {
  name: 'shop_orders_next_page',
  text: `SELECT ${ORDER_COLUMNS} FROM "Order" WHERE "accountId" = $1 AND ("buyAt", "id") < ($2, $3)
         ORDER BY "buyAt" DESC, "id" DESC LIMIT $4`,
};

export function pgShop(pool: pg.Pool): ShopQueries {
  return {
    async listItems() {
      return (await run<ItemRow>(pool, LIST_ITEMS, [])).rows;
    },
    async findItem(itemId) {
      return (await run<ItemRow>(pool, FIND_ITEM, [itemId])).rows[0];
    },
    async findOrder(accountId, txId) {
      return (await run<OrderRow>(pool, FIND_ORDER, [accountId, txId])).rows[0];
    },
    async insertOrder(o) {
      const values = [o.accountId, o.txId, o.itemId, o.itemName, o.itemImgUrl, o.amount];
      const stamps = [toPgTimestamp(o.buyAt), toPgTimestamp(new Date())];
      const row = (await run<OrderRow>(pool, INSERT_ORDER, [...values, ...stamps])).rows[0];
      if (!row) throw new Error('INSERT … RETURNING gave no row');
      return row;
    },
    async listOrders(accountId, limit, after) {
      const { rows } = after
        ? await run<OrderRow>(pool, NEXT_PAGE, [accountId, toPgTimestamp(after.buyAt), after.id, limit])
        : await run<OrderRow>(pool, FIRST_PAGE, [accountId, limit]);
      return rows;
    },
  };
}
