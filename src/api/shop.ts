// The catalog and the orders. A purchase is exactly-once per (user, tx_id):
// the unique index decides, so concurrent identical requests cannot both
// insert, and a replay finds the first order instead of making a second.
import type { Db } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';

export interface Item {
  itemId: string;
  name: string;
  imgUrl: string;
  amount: number;
}

export interface Order {
  id: number;
  txId: string;
  itemId: string;
  itemName: string;
  itemImgUrl: string;
  amount: number;
  buyAt: Date;
}

export type BuyResult =
  | { status: 'created' | 'replayed'; order: Order }
  | { status: 'conflict'; order: Order }
  | { status: 'no_item' };

export interface OrderPage {
  orders: Order[];
  next?: { buyAt: Date; id: number };
}

export const DEMO_ITEMS: Item[] = [
  { itemId: 'ITEM_001', name: '品項1', imgUrl: 'https://img.example.com/img/item_001.png', amount: 100 },
  { itemId: 'ITEM_002', name: '品項2', imgUrl: 'https://img.example.com/img/item_002.png', amount: 100 },
  { itemId: 'ITEM_003', name: '品項3', imgUrl: 'https://img.example.com/img/item_003.png', amount: 250 },
];

export class Shop {
  constructor(private readonly db: Db) {}

  async items(): Promise<Item[]> {
    return this.db.item.findMany({
      orderBy: { itemId: 'asc' },
      select: { itemId: true, name: true, imgUrl: true, amount: true },
    });
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
    const item = await this.db.item.findUnique({ where: { itemId } });
    if (!item) return { status: 'no_item' };
    try {
      const order = await this.db.order.create({
        data: { accountId, txId, itemId, itemName: item.name, itemImgUrl: item.imgUrl, amount: item.amount, buyAt },
      });
      return { status: 'created', order };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Lost a race with the same tx_id: the winner's order is the answer.
      const winner = await this.#order(accountId, txId);
      if (!winner) throw err;
      return { status: winner.itemId === itemId ? 'replayed' : 'conflict', order: winner };
    }
  }

  #order(accountId: string, txId: string): Promise<Order | null> {
    return this.db.order.findUnique({ where: { accountId_txId: { accountId, txId } } });
  }

  /** Newest buy_at first; ties newest recorded first. `after` is the last order of the previous page. */
  async orders(accountId: string, limit: number, after?: { buyAt: Date; id: number }): Promise<OrderPage> {
    const rows = await this.db.order.findMany({
      where: {
        accountId,
        ...(after ? { OR: [{ buyAt: { lt: after.buyAt } }, { buyAt: after.buyAt, id: { lt: after.id } }] } : {}),
      },
      orderBy: [{ buyAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
    });
    const orders = rows.slice(0, limit);
    const last = orders[orders.length - 1];
    return { orders, next: rows.length > limit && last ? { buyAt: last.buyAt, id: last.id } : undefined };
  }
}
