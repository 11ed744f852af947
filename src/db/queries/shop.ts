// Queries on Item and Order for the resource API's per-request paths: the
// catalog, a purchase (its replay lookup, the item, the insert) and the
// orders page. Adding or updating items and seeding the demo catalog stay on
// Prisma (src/api/shop.ts): the command line and the start run them, not requests.

export interface ItemRow {
  itemId: string;
  name: string;
  imgUrl: string;
  amount: number;
}

export interface OrderRow {
  id: number;
  accountId: string;
  txId: string;
  itemId: string;
  itemName: string;
  itemImgUrl: string;
  amount: number;
  buyAt: Date;
  createdAt: Date;
}

export type NewOrder = Omit<OrderRow, 'id' | 'createdAt'>;

/** Where a page of orders starts: after this order, in (buyAt, id) descending order. */
export interface OrderCursor {
  buyAt: Date;
  id: number;
}

export interface ShopQueries {
  /** The whole catalog, by itemId. */
  listItems(): Promise<ItemRow[]>;
  findItem(itemId: string): Promise<ItemRow | undefined>;
  /** The order a user made with this tx_id, if any: (accountId, txId) is unique. */
  findOrder(accountId: string, txId: string): Promise<OrderRow | undefined>;
  /**
   * Inserts an order, stamped now. Throws the driver's unique violation
   * (src/db/errors.ts isUniqueViolation) when (accountId, txId) is taken: the
   * index decides between concurrent purchases with the same tx_id.
   */
  insertOrder(order: NewOrder): Promise<OrderRow>;
  /** Up to `limit` orders of one account, newest buyAt first, ties by id descending, after `after` if given. */
  listOrders(accountId: string, limit: number, after?: OrderCursor): Promise<OrderRow[]>;
}
