// BUY_AT_TIME_ZONE (src/api/buy-at.ts): the seed's buy_at "2023-09-01 13:22:22"
// has no offset, so it is read as a wall-clock time in that zone; an ISO 8601
// time with an offset means what it says, whatever the zone. Checked over
// HTTP: POST /api/items/buy, then the instant GET /api/orders reports (seconds
// since the epoch). Asia/Taipei has a fixed offset (+08:00); America/New_York
// changes it twice a year (EST -05:00, EDT -04:00; 2024-03-10 02:00 → 03:00,
// 2023-11-05 02:00 → 01:00).
import { startServer, type TestServer } from './helpers/server.js';
import { buy, call, expectBought, expectEnvelopeError, seedToken } from './helpers/http.js';
import { ROUTES } from '../src/routes.js';

/** Seconds since the epoch of a UTC time, as the API writes them. */
const utc = (iso: string) => String(Date.parse(iso) / 1000);

async function serverIn(zone: string) {
  const server = await startServer({ BUY_AT_TIME_ZONE: zone });
  await server.prepared.shop.putItem({
    itemId: 'ITEM_001',
    name: '品項1',
    imgUrl: 'https://img.example.com/img/item_001.png',
    amount: 100,
  });
  const token = await seedToken(server.issuer, await server.client(), await server.user(), 'buy buy_history');
  return { server, token };
}

/** Buys once per [tx_id, buy_at]; returns each tx_id's buy_at as GET /api/orders reports it. */
async function recorded(
  server: TestServer,
  token: string,
  purchases: [string, string][],
): Promise<Record<string, string>> {
  for (const [tx, at] of purchases) expectBought(await buy(server.issuer, token, 'ITEM_001', tx, at));
  const orders = await call(server.issuer, `${ROUTES.apiOrders}?limit=200`, { token });
  expect(orders.status).toBe(200);
  return Object.fromEntries(
    (orders.body.orders as { tx_id: string; buy_at: string }[]).map((o) => [o.tx_id, o.buy_at]),
  );
}

describe('BUY_AT_TIME_ZONE=Asia/Taipei (UTC+8, no DST)', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => ({ server, token } = await serverIn('Asia/Taipei')));
  afterAll(() => server.close());

  test('the seed\'s "2023-09-01 13:22:22" is 13:22:22 in Taipei (05:22:22 UTC); an explicit offset is kept as sent', async () => {
    expect(
      await recorded(server, token, [
        ['TPE_PLAIN', '2023-09-01 13:22:22'],
        ['TPE_Z', '2023-09-01T13:22:22Z'],
        ['TPE_OFFSET', '2023-09-01T13:22:22-05:00'],
      ]),
    ).toEqual({
      TPE_PLAIN: utc('2023-09-01T05:22:22Z'),
      TPE_Z: utc('2023-09-01T13:22:22Z'),
      TPE_OFFSET: utc('2023-09-01T18:22:22Z'),
    });
  });

  test('an unparseable buy_at → 400 in the envelope, naming the zone it is read in', async () => {
    expectEnvelopeError(
      await buy(server.issuer, token, 'ITEM_001', 'TPE_BAD', '2023-09-01 25:00:00'),
      400,
      /Asia\/Taipei/,
    );
  });
});

describe('BUY_AT_TIME_ZONE=America/New_York (DST)', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => ({ server, token } = await serverIn('America/New_York')));
  afterAll(() => server.close());

  test('winter times are read as EST (-05:00) and summer times as EDT (-04:00)', async () => {
    expect(
      await recorded(server, token, [
        ['NY_WINTER', '2023-01-15 12:00:00'],
        ['NY_SUMMER', '2023-07-01 12:00:00'],
      ]),
    ).toMatchObject({ NY_WINTER: utc('2023-01-15T17:00:00Z'), NY_SUMMER: utc('2023-07-01T16:00:00Z') });
  });

  test('across the spring change (2024-03-10): 01:30 is EST and 03:30 is EDT, one real hour apart', async () => {
    const got = await recorded(server, token, [
      ['NY_SPRING_BEFORE', '2024-03-10 01:30:00'],
      ['NY_SPRING_AFTER', '2024-03-10 03:30:00'],
    ]);
    expect(got).toMatchObject({
      NY_SPRING_BEFORE: utc('2024-03-10T06:30:00Z'),
      NY_SPRING_AFTER: utc('2024-03-10T07:30:00Z'),
    });
  });

  test('a time the spring change skips (2024-03-10 02:30) takes the offset from before the gap: 03:30 EDT, as RFC 5545 §3.3.5 and Temporal read it', async () => {
    const got = await recorded(server, token, [
      ['NY_GAP', '2024-03-10 02:30:00'],
      ['NY_GAP_START', '2024-03-10 02:00:00'],
    ]);
    expect(got).toMatchObject({ NY_GAP: utc('2024-03-10T07:30:00Z'), NY_GAP_START: utc('2024-03-10T07:00:00Z') });
  });

  test('across the autumn change (2023-11-05): 00:30 is EDT, 02:30 is EST, and the repeated 01:30 is read as its first (EDT) occurrence', async () => {
    const got = await recorded(server, token, [
      ['NY_FALL_BEFORE', '2023-11-05 00:30:00'],
      ['NY_FALL_TWICE', '2023-11-05 01:30:00'],
      ['NY_FALL_AFTER', '2023-11-05 02:30:00'],
    ]);
    expect(got).toMatchObject({
      NY_FALL_BEFORE: utc('2023-11-05T04:30:00Z'),
      NY_FALL_TWICE: utc('2023-11-05T05:30:00Z'),
      NY_FALL_AFTER: utc('2023-11-05T07:30:00Z'),
    });
  });
});
