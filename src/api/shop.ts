// The catalog and the orders. A purchase is exactly-once per (user, tx_id):
// the unique index decides, so concurrent identical requests cannot both
// insert, and a replay finds the first order instead of making a second.
//
// What requests run (the catalog, a purchase, the orders pages) is on the
// prepared statements of src/db/queries/shop.ts; the catalog's upkeep (the
// command line's item:create, the demo seed at start) stays on Prisma.
import type { Db } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import { storableKey } from '../db/keys.js';
import type { ItemRow, OrderCursor, OrderRow, ShopQueries } from '../db/queries/shop.js';

export type Item = ItemRow;

/** An order as the API shows it: not whose it is, nor when the row was written. */
export type Order = Omit<OrderRow, 'accountId' | 'createdAt'>;

export type BuyResult =
  | { status: 'created' | 'replayed'; order: Order }
  | { status: 'conflict'; order: Order }
  | { status: 'no_item' };

export interface OrderPage {
  orders: Order[];
  next?: OrderCursor;
}

export const DEMO_ITEMS: Item[] = [
  { itemId: 'ITEM_001', name: '品項1', imgUrl: 'https://img.example.com/img/item_001.png', amount: 100 },
  { itemId: 'ITEM_002', name: '品項2', imgUrl: 'https://img.example.com/img/item_002.png', amount: 100 },
  { itemId: 'ITEM_003', name: '品項3', imgUrl: 'https://img.example.com/img/item_003.png', amount: 250 },
];

// Every stored buy_at lies in parseBuyAt's window (src/api/buy-at.ts: 2000 to
// now + 1 day), far inside these years. A cursor is only checked to be a Date,
// so one beyond them is moved to them: the same page, and an instant both
// databases store as they store buy_at (four-digit years, PostgreSQL's range).
const CURSOR_MIN = Date.UTC(1000, 0, 1);
const CURSOR_MAX = Date.UTC(9999, 11, 31);

const toOrder = (r: OrderRow): Order => ({
  id: r.id,
  txId: r.txId,
  itemId: r.itemId,
  itemName: r.itemName,
  itemImgUrl: r.itemImgUrl,
  amount: r.amount,
  buyAt: r.buyAt,
});

export class Shop {
  constructor(
    private readonly db: Db,
    private readonly queries: ShopQueries,
  ) {}

  async items(): Promise<Item[]> {
    return this.queries.listItems();
  }

  /** Adds or updates an item; orders keep the name, image and amount they were bought at. */
  async putItem(item: Item): Promise<Item> {
    const { itemId, ...data } = item;
    await this.db.item.upsert({ where: { itemId }, create: item, update: data });
    return item;
  }

  async seedItems(): Promise<void> {
    if ((await this.db.item.count()) > 0) return;
    for (const item of DEMO_ITEMS) await this.putItem(item);
  }

  async buy(accountId: string, txId: string, itemId: string, buyAt: Date): Promise<BuyResult> {
    const existing = await this.#order(accountId, txId);
    if (existing) return { status: existing.itemId === itemId ? 'replayed' : 'conflict', order: existing };
    // An item_id no item can have (a NUL PostgreSQL cannot compare) is not looked up.
    const item = storableKey(itemId) ? await this.queries.findItem(itemId) : undefined;
    if (!item) return { status: 'no_item' };
    try {
      const order = await this.queries.insertOrder({
        accountId,
        txId,
        itemId,
        itemName: item.name,
        itemImgUrl: item.imgUrl,
        amount: item.amount,
        buyAt,
      });
      return { status: 'created', order: toOrder(order) };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Lost a race with the same tx_id: the winner's order is the answer.
      const winner = await this.#order(accountId, txId);
      if (!winner) throw err;
      return { status: winner.itemId === itemId ? 'replayed' : 'conflict', order: winner };
    }
  }

  async #order(accountId: string, txId: string): Promise<Order | undefined> {
    const row = await this.queries.findOrder(accountId, txId);
    return row && toOrder(row);
  }

  /** Newest buy_at first; ties newest recorded first. `after` is the last order of the previous page. */
  async orders(accountId: string, limit: number, after?: OrderCursor): Promise<OrderPage> {
    const cursor = after && {
      buyAt: new Date(Math.min(Math.max(after.buyAt.getTime(), CURSOR_MIN), CURSOR_MAX)),
      id: after.id,
    };
    // One more than asked: whether it comes says if there is a next page.
    const rows = await this.queries.listOrders(accountId, limit + 1, cursor);
    const orders = rows.slice(0, limit).map(toOrder);
    const last = orders[orders.length - 1];
    return { orders, next: rows.length > limit && last ? { buyAt: last.buyAt, id: last.id } : undefined };
  }
}
