// CORS on the resource API, for browser clients from the origins configured
// in API_CORS_ORIGINS (and no other).
import { startServer, type TestServer } from './helpers/server.js';

const ALLOWED = 'https://shop.example';
let server: TestServer;
beforeAll(async () => {
  server = await startServer({ API_CORS_ORIGINS: `${ALLOWED}, https://other.example` });
});
afterAll(() => server.close());

const preflight = (origin: string) =>
  fetch(`${server.issuer}/api/me`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
  });

test('a preflight from an allowed origin is answered for Authorization', async () => {
  const res = await preflight(ALLOWED);
  expect(res.status).toBe(204);
  expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  expect(res.headers.get('access-control-allow-methods')).toContain('GET');
});

test('a preflight from any other origin gets no CORS permission', async () => {
  const res = await preflight('https://evil.example');
  expect(res.headers.get('access-control-allow-origin')).toBeNull();
});

test('an allowed origin can read the answer, and the WWW-Authenticate challenge of a 401', async () => {
  const res = await fetch(`${server.issuer}/api/me`, { headers: { origin: ALLOWED } });
  expect(res.status).toBe(401);
  expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  expect(res.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('www-authenticate');
  const items = await fetch(`${server.issuer}/api/items`, { headers: { origin: ALLOWED } });
  expect(items.headers.get('access-control-allow-origin')).toBe(ALLOWED);
});

test('without API_CORS_ORIGINS no origin is allowed', async () => {
  const plain = await startServer();
  try {
    const res = await fetch(`${plain.issuer}/api/items`, { headers: { origin: ALLOWED } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  } finally {
    await plain.close();
  }
});
