// The resource API, mounted at /api: the seed's profile, buy and orders
// endpoints plus the public catalog, each answering in the seed's envelope.
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import cors from '@koa/cors';
import compose from 'koa-compose';
import type { Context, Middleware } from 'koa';
import type { Accounts } from '../accounts/accounts.js';
import { ApiError } from './errors.js';
import { OK_MSG, apiErrors, ok } from './envelope.js';
import { requireToken, type TokenState } from './require-token.js';
import type { TokenVerifier } from './token-verifier.js';
import { BUY_AT_WINDOW, parseBuyAt } from './buy-at.js';
import type { Item, Order, Shop } from './shop.js';
import { ROUTES, isApiPath } from '../routes.js';
import { ORDERS_LIMIT, buySchema } from './requests.js';
import type { OpenApiDocument } from './openapi.js';

export interface ApiDeps {
  verifier: TokenVerifier;
  apiResource: string;
  accounts: Accounts;
  shop: Shop;
  buyAtTimeZone: string;
  corsOrigins: string[];
  /** What GET /api/openapi.json serves (./openapi.ts, built once from the configuration). */
  openApi: OpenApiDocument;
  log: (err: unknown, ctx: Context) => void;
}

const itemView = (i: Item) => ({
  item_id: i.itemId,
  item_name: i.name,
  item_img_url: i.imgUrl,
  amount: String(i.amount),
});
const orderView = (o: Order) => ({
  tx_id: o.txId,
  item_id: o.itemId,
  item_name: o.itemName,
  item_img_url: o.itemImgUrl,
  amount: String(o.amount),
  buy_at: String(Math.floor(o.buyAt.getTime() / 1000)),
});

// An opaque cursor: where the previous page ended.
const encodeCursor = (c: { buyAt: Date; id: number }) =>
  Buffer.from(JSON.stringify([c.buyAt.getTime(), c.id])).toString('base64url');
function decodeCursor(text: string): { buyAt: Date; id: number } {
  try {
    const [t, id] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[];
    // A real instant (Date's range) and a real row id (PostgreSQL's int4).
    if (
      Number.isSafeInteger(t) &&
      Math.abs(t as number) <= 8.64e15 &&
      Number.isSafeInteger(id) &&
      (id as number) > 0 &&
      (id as number) <= 2147483647
    ) {
      return { buyAt: new Date(t as number), id: id as number };
    }
  } catch {
    // fall through
  }
  throw new ApiError('invalid_request', 'cursor: not a cursor this API gave out');
}

function buyAtMessage(problem: 'format' | 'too_early' | 'too_late', timeZone: string): string {
  const window = `must be ${BUY_AT_WINDOW}`;
  if (problem === 'too_early') return `buy_at: too early; ${window}`;
  if (problem === 'too_late') return `buy_at: more than 24 hours ahead; ${window}`;
  return `buy_at: must be a real time, "2023-09-01 13:22:22" (read in ${timeZone}) or ISO 8601 with an offset ("2023-09-01T21:22:22+08:00"), ${BUY_AT_WINDOW}`;
}

function queryParam(ctx: Context, name: string): string | undefined {
  const v = ctx.query[name];
  if (Array.isArray(v)) throw new ApiError('invalid_request', `${name}: given more than once`);
  return v;
}

/** Every route of the API; tests/openapi.test.ts compares this table with the OpenAPI document. */
export function apiRouter(deps: ApiDeps): Router {
  const { verifier, apiResource, accounts, shop } = deps;
  const router = new Router();
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: '16kb', encoding: 'utf-8' });

  router.get(ROUTES.apiItems, async (ctx) => {
    ok(ctx, OK_MSG.query, { items: (await shop.items()).map(itemView) });
  });

  router.get(ROUTES.apiMe, requireToken(verifier, apiResource, 'profile', `GET ${ROUTES.apiMe}`), async (ctx) => {
    const { token } = ctx.state as TokenState;
    // In-process the token check has read the account already, in the same statement.
    const account = token.account === undefined ? await accounts.findById(token.sub) : token.account;
    if (!account) throw new ApiError('invalid_token', "the token's user no longer exists");
    ok(ctx, OK_MSG.query, { username: account.username, server_id: account.serverId });
  });

  router.post(
    ROUTES.apiBuy,
    requireToken(verifier, apiResource, 'buy', `POST ${ROUTES.apiBuy}`),
    async (ctx, next) => {
      if (!ctx.is('application/json')) throw new ApiError('invalid_request', 'body: must be application/json');
      return next();
    },
    json,
    async (ctx) => {
      const body: unknown = ctx.request.body;
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw new ApiError('invalid_request', 'body: must be a JSON object');
      const parsed = buySchema.safeParse(body);
      if (!parsed.success) {
        const [issue] = parsed.error.issues;
        throw new ApiError('invalid_request', issue ? `${String(issue.path[0])}: ${issue.message}` : 'body: invalid');
      }
      const { item_id, tx_id, buy_at } = parsed.data;
      const buyAt = parseBuyAt(buy_at, deps.buyAtTimeZone);
      if ('problem' in buyAt) throw new ApiError('invalid_request', buyAtMessage(buyAt.problem, deps.buyAtTimeZone));
      const result = await shop.buy((ctx.state as TokenState).token.sub, tx_id, item_id, buyAt.at);
      if (result.status === 'no_item') throw new ApiError('not_found', `item_id: no item "${item_id}"`);
      if (result.status === 'conflict') throw new ApiError('tx_conflict', `tx_id: already used for another item`);
      ok(ctx, OK_MSG.bought);
    },
  );

  router.get(
    ROUTES.apiOrders,
    requireToken(verifier, apiResource, 'buy_history', `GET ${ROUTES.apiOrders}`),
    async (ctx) => {
      const limitText = queryParam(ctx, 'limit');
      const limit =
        limitText === undefined ? ORDERS_LIMIT.default : /^\d{1,3}$/.test(limitText) ? Number(limitText) : NaN;
      if (!(limit >= ORDERS_LIMIT.min && limit <= ORDERS_LIMIT.max))
        throw new ApiError(
          'invalid_request',
          `limit: must be an integer from ${ORDERS_LIMIT.min} to ${ORDERS_LIMIT.max}`,
        );
      const cursorText = queryParam(ctx, 'cursor');
      const page = await shop.orders(
        (ctx.state as TokenState).token.sub,
        limit,
        cursorText ? decodeCursor(cursorText) : undefined,
      );
      ok(ctx, OK_MSG.query, {
        orders: page.orders.map(orderView),
        next_cursor: page.next ? encodeCursor(page.next) : null,
      });
    },
  );

  // Public and the same for every caller until the server restarts with new settings.
  router.get(ROUTES.apiOpenApi, (ctx) => {
    ctx.set('cache-control', 'public, max-age=300');
    ctx.body = deps.openApi;
  });

  return router;
}

export function apiMiddleware(deps: ApiDeps): Middleware {
  const router = apiRouter(deps);
  const stack: Middleware[] = [
    apiErrors(deps.log),
    ...(deps.corsOrigins.length
      ? [
          cors({
            origin: (ctx: Context) => (deps.corsOrigins.includes(ctx.get('origin')) ? ctx.get('origin') : ''),
            allowHeaders: ['Authorization', 'Content-Type'],
            exposeHeaders: ['WWW-Authenticate'],
            maxAge: 600,
          }),
        ]
      : []),
    router.routes() as Middleware,
    // Sets 405 with an Allow header (RFC 9110 §15.5.6); apiErrors adds the envelope.
    router.allowedMethods() as Middleware,
  ];
  const handle = compose(stack);

  // Everything under /api is ours, unknown paths included (404 in the envelope).
  const end = async () => {};
  return async (ctx, next) => (isApiPath(ctx.path) ? handle(ctx, end) : next());
}
