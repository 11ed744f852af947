// What the API accepts from a client, in one place: the routes validate with
// these and the OpenAPI document (./openapi.ts) is derived from them, so the
// two cannot drift apart.
import { z } from 'zod';

const PRINTABLE = /^[\x21-\x7e]+$/;

/** The body of POST /api/items/buy; buy_at is read by ./buy-at.ts afterwards. Unknown fields are ignored. */
export const buySchema = z.object({
  item_id: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(64, 'must be at most 64 characters'),
  tx_id: z
    .string({ error: 'must be a string' })
    .min(1, 'must not be empty')
    .max(128, 'must be at most 128 characters')
    .regex(PRINTABLE, 'must be printable ASCII without spaces'),
  buy_at: z.string({ error: 'must be a string like "2023-09-01 13:22:22"' }),
});

/** GET /api/orders?limit=…: the page size. */
export const ORDERS_LIMIT = { min: 1, max: 200, default: 50 } as const;
