// The resource API (/api) over real HTTP, with real access tokens from the
// actual authorization code flow (the seed's flow: ../shared/seed/README.zh-TW.md,
// sections 查看個人資料, 購買品項, 購買記錄), checked in-process (API_MODE
// in-process, the default). Errors follow RFC 6750 on the HTTP layer and the
// seed's envelope {code, success:false, msg, ts} in the body.
import * as client from 'openid-client';
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, authorize } from './helpers/user-agent.js';
import {
  STACK,
  allOrders as everyOrder,
  basic,
  buy as buyAt,
  call as request,
  expectBought,
  expectEnvelopeError,
  expectInvalidToken,
  expectTs,
  seedTokens,
  type CallInit,
  type Json,
} from './helpers/http.js';
import { travel } from './helpers/clock.js';

type Registered = Awaited<ReturnType<TestServer['client']>>;
type User = Awaited<ReturnType<TestServer['user']>>;

const REDIRECT_URI = 'http://127.0.0.1:9999/cb';
const OTHER_RESOURCE = 'https://elsewhere.example/api';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
  await server.stockItems();
});
afterAll(() => server.close());

// --- helpers ---------------------------------------------------------------

/** Seconds since the epoch of a UTC wall-clock time, as the API's string. */
const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => String(Date.UTC(y, mo - 1, d, h, mi, s) / 1000);

/** A request to this file's server (or `base`); every answer is checked for leaked stack traces. */
const call = (path: string, init: CallInit & { base?: string } = {}) => request(init.base ?? server.issuer, path, init);

/** The seed's flow for a new client and user (unless given): its access token and granted scope. */
async function seedToken(scope: string, opts: { client?: Registered; user?: User; srv?: TestServer } = {}) {
  const srv = opts.srv ?? server;
  const c = opts.client ?? (await srv.client());
  const user = opts.user ?? (await srv.user());
  const body = await seedTokens(srv.issuer, c, user, scope);
  return { token: body.access_token as string, scope: body.scope as string, client: c, user };
}

const buy = (token: string, item_id: string, tx_id: string, buy_at = '2023-09-01 13:22:22') =>
  buyAt(server.issuer, token, item_id, tx_id, buy_at);

const allOrders = async (token: string): Promise<Json[]> => everyOrder(server.issuer, token, 200);

let txCounter = 0;
const txId = (prefix = 'TX') => `${prefix}${Date.now()}${++txCounter}`;

// --- the seed's three endpoints -------------------------------------------------

describe('GET /api/me (查看個人資料)', () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the seed README's shell text, ${access_token} included
  test('the seed README\'s `curl -H "Authorization: Bearer ${access_token}" .../api/me` returns exactly {code:0, success:true, username, server_id, msg:"查詢成功", ts}', async () => {
    const user = await server.user({ serverId: 'my_server_id' });
    const { token, scope } = await seedToken('profile buy buy_history', { user });
    expect(scope).toBe('profile buy buy_history');
    // What curl sends: that header plus its own defaults.
    const res = await call('/api/me', {
      headers: { authorization: `Bearer ${token}`, accept: '*/*', 'user-agent': 'curl/8.5.0' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      code: 0,
      success: true,
      username: user.username,
      server_id: 'my_server_id',
      msg: '查詢成功',
      ts: expect.any(Number),
    });
    expectTs(res.body.ts);
  });

  test('each user sees their own profile', async () => {
    const a = await seedToken('profile');
    const b = await seedToken('profile');
    expect((await call('/api/me', { token: a.token })).body).toMatchObject({
      username: a.user.username,
      server_id: a.user.serverId,
    });
    expect((await call('/api/me', { token: b.token })).body).toMatchObject({
      username: b.user.username,
      server_id: b.user.serverId,
    });
  });
});

describe('GET /api/items (the catalog, public)', () => {
  test('lists the catalog without a token, amounts as strings', async () => {
    await server.prepared.shop.putItem({
      itemId: 'ITEM_CAT',
      name: '目錄品項',
      imgUrl: 'https://img.example.com/img/cat.png',
      amount: 42,
    });
    const res = await call('/api/items');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      code: 0,
      success: true,
      msg: expect.any(String),
      ts: expect.any(Number),
      items: expect.any(Array),
    });
    expectTs(res.body.ts);
    expect(res.body.items).toContainEqual({
      item_id: 'ITEM_CAT',
      item_name: '目錄品項',
      item_img_url: 'https://img.example.com/img/cat.png',
      amount: '42',
    });
    expect(res.body.items).toContainEqual({
      item_id: 'ITEM_001',
      item_name: '品項1',
      item_img_url: 'https://img.example.com/img/item_001.png',
      amount: '100',
    });
  });
});

describe('POST /api/items/buy and GET /api/orders (購買品項, 購買記錄)', () => {
  let token: string;
  beforeAll(async () => {
    ({ token } = await seedToken('profile buy buy_history'));
  });

  test('a purchase with the seed body returns exactly {code:0, success:true, msg:"購買成功", ts}; the order lists it in the seed\'s shape with amount and buy_at as strings', async () => {
    const own = await seedToken('profile buy buy_history');
    const res = await buy(own.token, 'ITEM_001', '20230901120000123456', '2023-09-01 13:22:22');
    expectBought(res);
    const orders = await call('/api/orders', { token: own.token });
    expect(orders.status).toBe(200);
    expect(orders.body).toEqual({
      code: 0,
      success: true,
      msg: '查詢成功',
      ts: expect.any(Number),
      orders: [
        {
          tx_id: '20230901120000123456',
          item_id: 'ITEM_001',
          item_name: '品項1',
          item_img_url: 'https://img.example.com/img/item_001.png',
          amount: '100',
          buy_at: '1693574542',
        },
      ],
      next_cursor: null,
    });
    expectTs(orders.body.ts);
  });

  test('orders are newest buy_at first, ties newest recorded first; ISO 8601 with an offset is the same instant as the plain UTC form; limit+cursor walk every order exactly once', async () => {
    const own = await seedToken('buy buy_history');
    const plan: [string, string, string][] = [
      ['T1', 'ITEM_001', '2023-09-01 13:22:22'],
      ['T2', 'ITEM_002', '2023-09-02 00:00:00'],
      ['T3', 'ITEM_001', '2023-09-01 13:22:22'],
      ['T4', 'ITEM_002', '2023-08-01 00:00:00'],
      ['T5', 'ITEM_002', '2023-09-01T21:22:22+08:00'],
      ['T6', 'ITEM_001', '2023-09-01T13:22:22Z'],
    ];
    for (const [tx, item, at] of plan) expectBought(await buy(own.token, item, tx, at));

    const all = await allOrders(own.token);
    expect(all.map((o: Json) => [o.tx_id, o.buy_at])).toEqual([
      ['T2', utc(2023, 9, 2)],
      ['T6', '1693574542'],
      ['T5', '1693574542'],
      ['T3', '1693574542'],
      ['T1', '1693574542'],
      ['T4', utc(2023, 8, 1)],
    ]);
    expect(all[0]).toEqual({
      tx_id: 'T2',
      item_id: 'ITEM_002',
      item_name: '品項2',
      item_img_url: 'https://img.example.com/img/item_002.png',
      amount: '250',
      buy_at: utc(2023, 9, 2),
    });

    for (const limit of [1, 2, 4, 6]) {
      const walked: Json[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = cursor ? `?limit=${limit}&cursor=${encodeURIComponent(cursor)}` : `?limit=${limit}`;
        const page = await call(`/api/orders${q}`, { token: own.token });
        expect(page.status).toBe(200);
        expect(page.body.orders.length).toBeLessThanOrEqual(limit);
        expect(page.body.orders.length).toBeGreaterThan(0);
        walked.push(...page.body.orders);
        cursor = page.body.next_cursor;
        expect(++pages).toBeLessThanOrEqual(6);
      } while (cursor);
      expect(pages).toBe(Math.ceil(all.length / limit));
      expect(walked).toEqual(all);
    }
  });

  test('a well-formed cursor at the ends of time pages as any other: the far future lists every order, the far past none', async () => {
    const own = await seedToken('buy buy_history');
    expectBought(await buy(own.token, 'ITEM_001', 'EDGE1', '2023-09-01 13:22:22'));
    expectBought(await buy(own.token, 'ITEM_002', 'EDGE2', '2023-09-02 00:00:00'));
    // Date's own limits (±8.64e15 ms): years +275760 and -271821, not four-digit years.
    const at = (ms: number) => encodeURIComponent(Buffer.from(JSON.stringify([ms, 1])).toString('base64url'));
    const future = await call(`/api/orders?cursor=${at(8.64e15)}`, { token: own.token });
    expect(future.status).toBe(200);
    expect(future.body.orders.map((o: Json) => o.tx_id)).toEqual(['EDGE2', 'EDGE1']);
    const past = await call(`/api/orders?cursor=${at(-8.64e15)}`, { token: own.token });
    expect(past.status).toBe(200);
    expect(past.body).toMatchObject({ orders: [], next_cursor: null });
  });

  test('limit 0, 201, abc, -1 and 1.5 → 400 whose msg names limit; a cursor the API did not give out → 400', async () => {
    for (const limit of ['0', '201', 'abc', '-1', '1.5', '1e2']) {
      expectEnvelopeError(await call(`/api/orders?limit=${limit}`, { token }), 400, /limit/);
    }
    for (const cursor of [
      'garbage',
      Buffer.from('["x",1]').toString('base64url'),
      Buffer.from('{}').toString('base64url'),
      '%00%ff',
    ]) {
      expectEnvelopeError(await call(`/api/orders?cursor=${cursor}`, { token }), 400, /cursor/);
    }
    // And the good values still work.
    expect((await call('/api/orders?limit=1', { token })).status).toBe(200);
    expect((await call('/api/orders?limit=200', { token })).status).toBe(200);
  });

  test("an order keeps the item's name, image and amount as at purchase time after the item changes", async () => {
    const shop = server.prepared.shop;
    await shop.putItem({ itemId: 'ITEM_SNAP', name: '舊名', imgUrl: 'https://img.example.com/old.png', amount: 100 });
    const tx = txId('SNAP');
    expectBought(await buy(token, 'ITEM_SNAP', tx));
    await shop.putItem({ itemId: 'ITEM_SNAP', name: '新名', imgUrl: 'https://img.example.com/new.png', amount: 999 });

    const order = (await allOrders(token)).find((o: Json) => o.tx_id === tx);
    expect(order).toEqual({
      tx_id: tx,
      item_id: 'ITEM_SNAP',
      item_name: '舊名',
      item_img_url: 'https://img.example.com/old.png',
      amount: '100',
      buy_at: '1693574542',
    });
    // The catalog shows the new item.
    expect((await call('/api/items')).body.items).toContainEqual({
      item_id: 'ITEM_SNAP',
      item_name: '新名',
      item_img_url: 'https://img.example.com/new.png',
      amount: '999',
    });
    // A new purchase takes the new values.
    const tx2 = txId('SNAP');
    expectBought(await buy(token, 'ITEM_SNAP', tx2));
    expect((await allOrders(token)).find((o: Json) => o.tx_id === tx2)).toMatchObject({
      item_name: '新名',
      amount: '999',
    });
  });

  test("buy_at's message states the window that is accepted: up to 24 hours ahead passes, 25 hours ahead and 1999 are refused saying why", async () => {
    const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
    const window = 'from 2000-01-01 00:00:00 UTC to 24 hours after now';
    expectBought(await buy(token, 'ITEM_001', txId('AHEAD'), iso(Date.now() + 23 * 3600_000)));
    const late = await buy(token, 'ITEM_001', txId('LATE'), iso(Date.now() + 25 * 3600_000));
    expectEnvelopeError(late, 400);
    expect(late.body.msg).toBe(`buy_at: more than 24 hours ahead; must be ${window}`);
    const early = await buy(token, 'ITEM_001', txId('EARLY'), '1999-12-31 23:59:59');
    expectEnvelopeError(early, 400);
    expect(early.body.msg).toBe(`buy_at: too early; must be ${window}`);
    expectBought(await buy(token, 'ITEM_001', txId('EARLIEST'), '2000-01-01 00:00:00'));
    const malformed = await buy(token, 'ITEM_001', txId('BAD'), 'yesterday');
    expectEnvelopeError(malformed, 400);
    expect(malformed.body.msg).toBe(
      `buy_at: must be a real time, "2023-09-01 13:22:22" (read in UTC) or ISO 8601 with an offset ("2023-09-01T21:22:22+08:00"), ${window}`,
    );
  });

  test('"2023-09-01T21:22:22+08:00" is recorded as the same instant as "2023-09-01 13:22:22" (UTC)', async () => {
    const own = await seedToken('buy buy_history');
    expectBought(await buy(own.token, 'ITEM_001', 'ISO', '2023-09-01T21:22:22+08:00'));
    expectBought(await buy(own.token, 'ITEM_001', 'PLAIN', '2023-09-01 13:22:22'));
    const all = await allOrders(own.token);
    expect(all.map((o: Json) => [o.tx_id, o.buy_at])).toEqual([
      ['PLAIN', '1693574542'],
      ['ISO', '1693574542'],
    ]);
  });

  test('unknown fields in the body are ignored', async () => {
    const tx = txId();
    const res = await call('/api/items/buy', {
      token,
      json: {
        item_id: 'ITEM_001',
        tx_id: tx,
        buy_at: '2023-09-01 13:22:22',
        coupon: 'FREE',
        amount: 0,
        extra: { a: [1] },
      },
    });
    expectBought(res);
    expect((await allOrders(token)).find((o: Json) => o.tx_id === tx)).toMatchObject({
      amount: '100',
      item_id: 'ITEM_001',
    });
  });

  test('an unknown item_id → 404 envelope, and no order', async () => {
    const own = await seedToken('buy buy_history');
    expectEnvelopeError(await buy(own.token, 'NO_SUCH_ITEM', 'T404'), 404, /item_id/);
    // One PostgreSQL cannot even compare (a NUL): unknown just the same, not a 500.
    expectEnvelopeError(await buy(own.token, 'ITEM\u0000001', 'T404NUL'), 404, /item_id/);
    expect(await allOrders(own.token)).toEqual([]);
  });

  test('a replay (same tx_id, same item) succeeds and there is still exactly one order; the same tx_id for another item → 409', async () => {
    const tx = txId('REPLAY');
    expectBought(await buy(token, 'ITEM_001', tx));
    expectBought(await buy(token, 'ITEM_001', tx));
    expectBought(await buy(token, 'ITEM_001', tx));
    const conflict = await buy(token, 'ITEM_002', tx);
    expectEnvelopeError(conflict, 409, /tx_id/);
    const mine = (await allOrders(token)).filter((o: Json) => o.tx_id === tx);
    expect(mine).toEqual([
      {
        tx_id: tx,
        item_id: 'ITEM_001',
        item_name: '品項1',
        item_img_url: 'https://img.example.com/img/item_001.png',
        amount: '100',
        buy_at: '1693574542',
      },
    ]);
  });

  test('two different users may use the same tx_id independently', async () => {
    const a = await seedToken('buy buy_history');
    const b = await seedToken('buy buy_history');
    expectBought(await buy(a.token, 'ITEM_001', 'SHARED-TX'));
    expectBought(await buy(b.token, 'ITEM_002', 'SHARED-TX'));
    expect((await allOrders(a.token)).map((o: Json) => [o.tx_id, o.item_id])).toEqual([['SHARED-TX', 'ITEM_001']]);
    expect((await allOrders(b.token)).map((o: Json) => [o.tx_id, o.item_id])).toEqual([['SHARED-TX', 'ITEM_002']]);
  });

  test('twenty concurrent identical purchases all succeed and exactly one order exists', async () => {
    const own = await seedToken('buy buy_history');
    const results = await Promise.all(Array.from({ length: 20 }, () => buy(own.token, 'ITEM_002', 'CONCURRENT-1')));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    for (const r of results) expectBought(r);
    expect(await allOrders(own.token)).toEqual([
      {
        tx_id: 'CONCURRENT-1',
        item_id: 'ITEM_002',
        item_name: '品項2',
        item_img_url: 'https://img.example.com/img/item_002.png',
        amount: '250',
        buy_at: '1693574542',
      },
    ]);
  });
});

describe('POST /api/items/buy: bad input → 400 (or 413) in the envelope, and no order', () => {
  let token: string;
  beforeAll(async () => {
    ({ token } = await seedToken('buy buy_history'));
  });

  // The refused bodies, shared with the last test, which sends them all again.
  const WRONG_TYPES = [
    ['item_id', 1],
    ['item_id', null],
    ['tx_id', 12345],
    ['tx_id', ['a']],
    ['buy_at', 1693574542],
    ['buy_at', { at: 'now' }],
  ] as const;
  const REQUIRED = ['item_id', 'tx_id', 'buy_at'] as const;
  const BAD_DATES = [
    '2023-02-30 10:00:00',
    '9999-01-01 00:00:00',
    '1800-01-01 00:00:00',
    '2023-09-01 25:00:00',
    '2023-13-01 00:00:00',
    'yesterday',
    '',
    '2023-09-01',
    '1693574542',
    '2023-09-01T13:22:22+99:00',
  ];
  const BROKEN_JSON: [string, string][] = [
    ['broken JSON (cut short)', '{"item_id": "ITEM_001", "tx_id": '],
    ['broken JSON (unquoted keys)', '{item_id: ITEM_001}'],
    ['a JSON array', '[{"item_id":"ITEM_001","tx_id":"ARR","buy_at":"2023-09-01 13:22:22"}]'],
    ['a JSON string', '"ITEM_001"'],
    ['JSON null', 'null'],
    ['an empty body', ''],
  ];

  test('wrong types (item_id, tx_id or buy_at not a string) → 400 naming the field', async () => {
    const good = { item_id: 'ITEM_001', tx_id: 'TYPES', buy_at: '2023-09-01 13:22:22' };
    for (const [field, value] of WRONG_TYPES) {
      const res = await call('/api/items/buy', { token, json: { ...good, [field]: value } });
      expectEnvelopeError(res, 400, new RegExp(field));
    }
  });

  test('missing fields → 400 naming the field', async () => {
    for (const field of REQUIRED) {
      const body: Record<string, string> = { item_id: 'ITEM_001', tx_id: 'MISSING', buy_at: '2023-09-01 13:22:22' };
      delete body[field];
      expectEnvelopeError(await call('/api/items/buy', { token, json: body }), 400, new RegExp(field));
    }
    expectEnvelopeError(await call('/api/items/buy', { token, json: {} }), 400);
  });

  test('absurd or malformed dates → 400 naming buy_at', async () => {
    for (const at of BAD_DATES) {
      expectEnvelopeError(await buy(token, 'ITEM_001', 'DATES', at), 400, /buy_at/);
    }
  });

  test('a body that is not application/json → 400', async () => {
    const json = JSON.stringify({ item_id: 'ITEM_001', tx_id: 'CTYPE', buy_at: '2023-09-01 13:22:22' });
    expectEnvelopeError(
      await call('/api/items/buy', { token, body: json, headers: { 'content-type': 'text/plain' } }),
      400,
    );
    expectEnvelopeError(
      await call('/api/items/buy', {
        token,
        body: 'item_id=ITEM_001&tx_id=CTYPE&buy_at=2023-09-01+13%3A22%3A22',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      400,
    );
    const form = new FormData();
    form.append('item_id', 'ITEM_001');
    const res = await fetch(`${server.issuer}/api/items/buy`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
    const text = await res.text();
    expect(text).not.toMatch(STACK);
    expectEnvelopeError({ status: res.status, headers: res.headers, text, body: JSON.parse(text) }, 400);
  });

  test.each(BROKEN_JSON)('%s as application/json → 400', async (_name, body) => {
    expectEnvelopeError(
      await call('/api/items/buy', { token, body, headers: { 'content-type': 'application/json' } }),
      400,
    );
  });

  test('control bytes declared as application/json; charset=utf-16 → 4xx (400 or 415), not 500', async () => {
    const res = await call('/api/items/buy', {
      token,
      body: '\u0000\u0001',
      headers: { 'content-type': 'application/json; charset=utf-16' },
    });
    expect([400, 415]).toContain(res.status);
    expectEnvelopeError(res, res.status);
  });

  test('an oversized body (over 16 KB) → 413 envelope', async () => {
    const res = await call('/api/items/buy', {
      token,
      json: { item_id: 'ITEM_001', tx_id: 'BIG', buy_at: '2023-09-01 13:22:22', pad: 'x'.repeat(17 * 1024) },
    });
    expectEnvelopeError(res, 413);
  });

  test('the refused requests above leave no order behind: each sent again by a new user, whose one good purchase is then the only order', async () => {
    const own = await seedToken('buy buy_history');
    const good = { item_id: 'ITEM_001', tx_id: 'REFUSED', buy_at: '2023-09-01 13:22:22' };
    const statuses: number[] = [];
    const send = async (init: CallInit) =>
      statuses.push((await call('/api/items/buy', { token: own.token, ...init })).status);
    for (const [field, value] of WRONG_TYPES) await send({ json: { ...good, [field]: value } });
    for (const field of REQUIRED) await send({ json: { ...good, [field]: undefined } });
    await send({ json: {} });
    for (const at of BAD_DATES) await send({ json: { ...good, buy_at: at } });
    await send({ body: JSON.stringify(good), headers: { 'content-type': 'text/plain' } });
    await send({
      body: new URLSearchParams(good).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const form = new FormData();
    form.append('item_id', 'ITEM_001');
    const multipart = await fetch(`${server.issuer}/api/items/buy`, {
      method: 'POST',
      headers: { authorization: `Bearer ${own.token}` },
      body: form,
    });
    await multipart.arrayBuffer();
    statuses.push(multipart.status);
    for (const [, body] of BROKEN_JSON) await send({ body, headers: { 'content-type': 'application/json' } });
    await send({ body: '\u0000\u0001', headers: { 'content-type': 'application/json; charset=utf-16' } });
    await send({ json: { ...good, pad: 'x'.repeat(17 * 1024) } });
    // Each refused with a 4xx (which one and its message: the tests above).
    expect(statuses.filter((s) => s < 400 || s >= 500)).toEqual([]);
    expect(await allOrders(own.token)).toEqual([]);
    // The same user's list does show an order once there is one: the empty list above is not for want of looking.
    expectBought(await buy(own.token, 'ITEM_001', 'ACCEPTED'));
    expect((await allOrders(own.token)).map((o: Json) => o.tx_id)).toEqual(['ACCEPTED']);
  });
});

// --- tokens: RFC 6750 ----------------------------------------------------------

describe('access tokens (RFC 6750 §3)', () => {
  const endpoints = [
    { name: 'GET /api/me', send: (token?: string) => call('/api/me', { token }) },
    {
      name: 'POST /api/items/buy',
      send: (token?: string) =>
        call('/api/items/buy', {
          token,
          json: { item_id: 'ITEM_001', tx_id: txId('AUTH'), buy_at: '2023-09-01 13:22:22' },
        }),
    },
    { name: 'GET /api/orders', send: (token?: string) => call('/api/orders', { token }) },
  ];

  test.each(endpoints)('$name without Authorization → 401, WWW-Authenticate exactly "Bearer"', async ({ send }) => {
    const res = await send();
    expectEnvelopeError(res, 401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  test.each(endpoints)('$name with a garbage or unknown token → 401 Bearer error="invalid_token"', async ({ send }) => {
    expectInvalidToken(await send(`not-a-token-${txId()}`));
    expectInvalidToken(await send('A'.repeat(43)));
  });

  test('a malformed Authorization header (bad characters, empty token, huge token) → 400 invalid_request (RFC 6750 §3.1), never 500', async () => {
    for (const header of ['Bearer ', 'Bearer a b c', 'Bearer ©©©', `Bearer ${'a'.repeat(10_000)}`, 'Bearer\ttoken']) {
      const res = await call('/api/me', { headers: { authorization: header } });
      expectEnvelopeError(res, 400, /^malformed Authorization header$/);
    }
  });

  test('a token revoked at /oauth/revoke (RFC 7009) is refused right away with invalid_token', async () => {
    const { token, client: c } = await seedToken('profile buy buy_history');
    expect((await call('/api/me', { token })).status).toBe(200);
    const revoke = await fetch(`${server.issuer}/oauth/revoke`, {
      method: 'POST',
      headers: { authorization: basic(c), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    });
    expect(revoke.status).toBe(200);
    for (const e of endpoints) expectInvalidToken(await e.send(token));
  });

  test("a client_credentials token (valid, but no user) → 401 invalid_token at every endpoint, saying it is a client's token and which endpoint needs a user's", async () => {
    const c = await server.client({ grantTypes: ['client_credentials'], redirectUris: [] });
    const res = await fetch(`${server.issuer}/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic(c), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'profile buy buy_history' }),
    });
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as Json;
    expect(tokens.scope).toBe('profile buy buy_history');
    for (const e of endpoints) {
      const res = await e.send(tokens.access_token);
      expectInvalidToken(res);
      const said = `this token was issued to a client, not a user (client_credentials); ${e.name} needs a token a user authorized`;
      expect(res.body.msg).toBe(said);
      // RFC 6750 §3: error_description is plain ASCII without " or \.
      expect(res.headers.get('www-authenticate')).toBe(`Bearer error="invalid_token", error_description="${said}"`);
      expect(said).toMatch(/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/);
    }
    // The token is valid: introspection says so, with no user.
    const intro = await fetch(`${server.issuer}/oauth/introspect`, {
      method: 'POST',
      headers: { authorization: basic(c), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token }),
    });
    const active = (await intro.json()) as Json;
    expect(active).toMatchObject({ active: true, client_id: c.client_id });
    expect(active.sub).toBeUndefined();
  });

  test('an unknown token still says invalid, expired or revoked', async () => {
    const res = await call('/api/me', { token: 'B'.repeat(43) });
    expectInvalidToken(res);
    expect(res.body.msg).toBe('access token is invalid, expired or revoked');
  });

  describe('scopes: each endpoint needs its own (403 insufficient_scope, RFC 6750 §3.1)', () => {
    const needs = {
      'GET /api/me': 'profile',
      'POST /api/items/buy': 'buy',
      'GET /api/orders': 'buy_history',
    } as Record<string, string>;
    const grants = ['profile', 'buy', 'buy_history', 'profile buy', 'profile buy_history', 'buy buy_history'];
    const tokens = new Map<string, string>();
    beforeAll(async () => {
      for (const scope of grants) {
        const t = await seedToken(scope);
        expect(t.scope.split(' ').sort()).toEqual(scope.split(' ').sort());
        tokens.set(scope, t.token);
      }
    });

    const rows = endpoints.flatMap((e) =>
      grants.map((scope) => ({
        ...e,
        scope,
        needed: needs[e.name]!,
        allowed: scope.split(' ').includes(needs[e.name]!),
      })),
    );
    test.each(rows)(
      '$name with a token for "$scope" (needs $needed): allowed=$allowed',
      async ({ send, scope, needed, allowed }) => {
        const res = await send(tokens.get(scope));
        if (allowed) {
          expect(res.status).toBe(200);
          expect(res.body).toMatchObject({ code: 0, success: true });
          expect(res.headers.get('www-authenticate')).toBeNull();
        } else {
          expectEnvelopeError(res, 403);
          expect(res.headers.get('www-authenticate')).toBe(`Bearer error="insufficient_scope", scope="${needed}"`);
        }
      },
    );
  });
});

describe('an expired access token (ACCESS_TOKEN_TTL=2)', () => {
  let short: TestServer;
  beforeAll(async () => {
    short = await startServer({ ACCESS_TOKEN_TTL: '2' });
  });
  afterAll(() => short.close());

  test('works at first, then → 401 invalid_token once expired', async () => {
    const { token } = await seedToken('profile buy buy_history', { srv: short });
    const first = await call('/api/me', { token, base: short.issuer });
    expect(first.status).toBe(200);
    travel(3);
    for (const path of ['/api/me', '/api/orders']) {
      const res = await call(path, { token, base: short.issuer });
      expectInvalidToken(res);
    }
  });
});

// --- OpenID Connect clients and resource indicators -------------------------------

describe('sender-constrained tokens (RFC 9449, DPoP)', () => {
  test('an access token bound to a DPoP key is refused when presented as a plain Bearer token (§7.1): the key is the point', async () => {
    const c = await server.client({ redirectUris: [REDIRECT_URI] });
    const user = await server.user();
    const config = await client.discovery(
      new URL(server.issuer),
      c.client_id,
      c.client_secret,
      client.ClientSecretBasic(c.client_secret!),
      { execute: [client.allowInsecureRequests] },
    );
    const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair());
    const pkceCodeVerifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'profile buy buy_history',
      code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
      code_challenge_method: 'S256',
      state: 'dpop',
    });
    const { callback } = await authorize(new UserAgent(server.issuer), url.href, { ...user, consent: 'allow' });
    const tokens = await client.authorizationCodeGrant(
      config,
      callback,
      { pkceCodeVerifier, expectedState: 'dpop' },
      undefined,
      { DPoP },
    );
    expect(tokens.token_type).toBe('dpop');
    for (const path of ['/api/me', '/api/orders']) expectInvalidToken(await call(path, { token: tokens.access_token }));
    // The same flow without DPoP: a Bearer token, which works.
    const plain = await seedToken('profile');
    expect((await call('/api/me', { token: plain.token })).status).toBe(200);
  });
});

describe('tokens and audiences (RFC 8707)', () => {
  test('an OpenID Connect client (openid-client) asking "openid profile buy buy_history" with no resource: its access token works at /oauth/userinfo and at /api/me, /api/items/buy and /api/orders', async () => {
    const c = await server.client({ redirectUris: [REDIRECT_URI] });
    const user = await server.user({ serverId: 'oidc_server' });
    const config = await client.discovery(
      new URL(server.issuer),
      c.client_id,
      c.client_secret,
      client.ClientSecretBasic(c.client_secret!),
      {
        execute: [client.allowInsecureRequests],
      },
    );
    const pkceCodeVerifier = client.randomPKCECodeVerifier();
    const expectedState = client.randomState();
    const expectedNonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid profile buy buy_history',
      code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
      code_challenge_method: 'S256',
      state: expectedState,
      nonce: expectedNonce,
    });
    const { callback } = await authorize(new UserAgent(server.issuer), url.href, {
      username: user.username,
      password: user.password,
      consent: 'allow',
    });
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier,
      expectedState,
      expectedNonce,
      idTokenExpected: true,
    });
    expect(tokens.claims()!.sub).toBe(user.id);

    expect(await client.fetchUserInfo(config, tokens.access_token, user.id)).toMatchObject({ sub: user.id });

    const me = await call('/api/me', { token: tokens.access_token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      code: 0,
      success: true,
      username: user.username,
      server_id: 'oidc_server',
      msg: '查詢成功',
      ts: expect.any(Number),
    });
    expectBought(await buy(tokens.access_token, 'ITEM_001', 'OIDC-TX'));
    const orders = await call('/api/orders', { token: tokens.access_token });
    expect(orders.status).toBe(200);
    expect(orders.body.orders.map((o: Json) => o.tx_id)).toEqual(['OIDC-TX']);
  });

  test("a resource other than the API's → invalid_target at the authorization endpoint (at the redirect URI)", async () => {
    const c = await server.client({ redirectUris: [REDIRECT_URI] });
    const user = await server.user();
    const url = `${server.issuer}/oauth/authorize?response_type=code&client_id=${c.client_id}&scope=profile%20buy&state=s-target&resource=${encodeURIComponent(OTHER_RESOURCE)}`;
    const { callback } = await authorize(new UserAgent(server.issuer), url, {
      username: user.username,
      password: user.password,
      consent: 'allow',
    });
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('error')).toBe('invalid_target');
    expect(callback.searchParams.get('state')).toBe('s-target');
    expect(callback.searchParams.get('code')).toBeNull();
  });

  test("a resource other than the API's → invalid_target at the token endpoint, and no token", async () => {
    const c = await server.client();
    const user = await server.user();
    const url = `${server.issuer}/oauth/authorize?response_type=code&client_id=${c.client_id}&scope=profile%20buy&state=s`;
    const { callback } = await authorize(new UserAgent(server.issuer), url, {
      username: user.username,
      password: user.password,
      consent: 'allow',
    });
    const res = await fetch(`${server.issuer}/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic(c), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        resource: OTHER_RESOURCE,
      }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Json;
    expect(body.error).toBe('invalid_target');
    expect(body.access_token).toBeUndefined();
  });

  test("client_credentials for a resource other than the API's → invalid_target", async () => {
    const c = await server.client({ grantTypes: ['client_credentials'], redirectUris: [] });
    const res = await fetch(`${server.issuer}/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic(c), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'buy', resource: OTHER_RESOURCE }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error).toBe('invalid_target');
  });
});

describe('unknown paths and methods', () => {
  test('an unknown path under /api → 404 envelope; a wrong method → 405 envelope with Allow (RFC 9110 §15.5.6)', async () => {
    expectEnvelopeError(await call('/api/nope'), 404);
    const res = await call('/api/me', { method: 'DELETE' });
    expectEnvelopeError(res, 405);
    expect(res.headers.get('allow')).toMatch(/GET/);
  });
});

describe('no stack traces', () => {
  test('error answers across the API carry no stack trace or internal path', async () => {
    const { token } = await seedToken('profile buy buy_history');
    const answers = await Promise.all([
      call('/api/nope'),
      call('/api/me', { method: 'DELETE', token }),
      call('/api/items/buy', { token, body: '{"a":', headers: { 'content-type': 'application/json' } }),
      call('/api/items/buy', {
        token,
        body: '\u0000\u0001',
        headers: { 'content-type': 'application/json; charset=utf-16' },
      }),
      call('/api/orders?limit=1&limit=2', { token }),
    ]);
    for (const res of answers) {
      // (Whether each is rightly a 4xx is asserted in the tests above; here: what the body reveals.)
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.text).not.toMatch(STACK);
      expect(res.body).toMatchObject({ success: false, code: expect.any(Number), msg: expect.any(String) });
    }
  });
});
