// What every test file does over HTTP, whatever runs the server (in-process
// via ./server.ts or a child process via ./processes.ts): client credentials,
// the seed's code flow, calls to the resource API, and the check that no
// answer carries a stack trace or a path of this machine.
import { expect } from '@jest/globals';
import { ROUTES } from '../../src/routes.js';
import { UserAgent, authorize } from './user-agent.js';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are whatever the server sent; each test asserts their shape
export type Json = any;

export interface ClientCredentials {
  client_id: string;
  client_secret?: string | null;
}
export interface Credentials {
  username: string;
  password: string;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * What a stack trace or an internal path would look like in a body: a V8
 * frame ("at fn (", "at file:1:2"), a source position ("x.ts:12"), an error
 * class name with its message ("TypeError:"), node_modules, /src/, or this
 * checkout's own directory. None of these appear in a page, a JSON answer or
 * a token the server sends on purpose (tests/observability.test.ts checks
 * real bodies against it, and real stack traces).
 */
const FRAME = [/\bat [\w.<>$]+ \(/, /\bat [^\s]+:\d+:\d+/, /\.[cm]?[jt]s:\d+/, /\b\w*Error: /].map((re) => re.source);
export const STACK = new RegExp(
  [...FRAME, 'node_modules', '/src/', ...(process.cwd() === '/' ? [] : [escapeRegExp(process.cwd())])].join('|'),
);

/**
 * STACK without the paths: a stack frame or a thrown error's header only, for
 * output that names a path on purpose (tests/first-start.test.ts: the Node 20
 * refusal names the node_modules file it comes from).
 */
export const STACK_FRAME = new RegExp(FRAME.join('|'));

/** RFC 6749 §2.3.1 client_secret_basic: id and secret form-urlencoded, then base64. */
export const basic = (c: ClientCredentials, secret = c.client_secret) =>
  `Basic ${Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(secret ?? '')}`).toString('base64')}`;

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  body: Json;
}

/** Status, headers, the raw text, and the body parsed as JSON (undefined when it is not JSON). */
export async function readResponse(res: Response): Promise<ApiResponse> {
  const text = await res.text();
  let body: Json;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, text, body };
}

export interface CallInit {
  method?: string;
  /** Sent as `Authorization: Bearer …`. */
  token?: string;
  /** Sent as an application/json body (unless `headers` names another type). */
  json?: unknown;
  body?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** A request to `base + path` (GET unless there is a body); no answer may carry a stack trace. */
export async function call(base: string, path: string, init: CallInit = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  let body = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
    signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
  });
  const answer = await readResponse(res);
  expect(answer.text).not.toMatch(STACK);
  return answer;
}

/** An application/x-www-form-urlencoded POST with client_secret_basic. */
export async function postForm(
  url: string,
  c: ClientCredentials,
  fields: Record<string, string>,
): Promise<ApiResponse> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      authorization: basic(c),
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams(fields),
  });
  return readResponse(res);
}

let counter = 0;

/**
 * The authorization request as a person would answer it (sign in, allow), at
 * `authBase`, with no redirect_uri, PKCE or openid (the seed's flow); returns
 * the code the client got back.
 */
export async function authorizationCode(
  authBase: string,
  c: ClientCredentials,
  user: Credentials,
  scope: string,
  extra: Record<string, string> = {},
): Promise<{ code: string; callback: URL }> {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: c.client_id,
    scope,
    state: `state-${++counter}`,
    ...extra,
  });
  const { callback } = await authorize(new UserAgent(authBase), `${authBase}${ROUTES.oauth.authorization}?${params}`, {
    username: user.username,
    password: user.password,
    consent: 'allow',
  });
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in ${callback.href}`);
  return { code, callback };
}

/** The seed's token request: `curl -u id:secret -F grant_type=authorization_code -F code=…` (multipart). */
export async function redeemMultipart(
  tokenBase: string,
  c: ClientCredentials,
  code: string,
): Promise<{ status: number; body: Json }> {
  const form = new FormData();
  form.append('grant_type', 'authorization_code');
  form.append('scope', 'profile buy buy_history');
  form.append('code', code);
  const res = await fetch(`${tokenBase}${ROUTES.oauth.token}`, {
    method: 'POST',
    headers: { authorization: basic(c) },
    body: form,
  });
  return { status: res.status, body: await res.json() };
}

/** The seed's flow end to end: the token response `c` gets for `user` (a Bearer access token). */
export async function seedTokens(
  base: string,
  c: ClientCredentials,
  user: Credentials,
  scope = 'profile buy buy_history',
): Promise<Json> {
  const { code } = await authorizationCode(base, c, user, scope);
  const { status, body } = await redeemMultipart(base, c, code);
  if (status !== 200 || typeof body.access_token !== 'string' || body.token_type !== 'Bearer') {
    throw new Error(`token request failed: ${status} ${JSON.stringify(body)}`);
  }
  return body;
}

/** The seed's flow end to end: an access token for `user` from `c`. */
export async function seedToken(
  base: string,
  c: ClientCredentials,
  user: Credentials,
  scope = 'profile buy buy_history',
): Promise<string> {
  return (await seedTokens(base, c, user, scope)).access_token;
}

export const buy = (base: string, token: string, item_id: string, tx_id: string, buy_at = '2023-09-01 13:22:22') =>
  call(base, ROUTES.apiBuy, { token, json: { item_id, tx_id, buy_at } });

/** Every order of the token's user, following next_cursor with small pages. */
export async function allOrders(base: string, token: string, limit = 37): Promise<Json[]> {
  const orders: Json[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const res: ApiResponse = await call(
      base,
      `${ROUTES.apiOrders}?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      { token },
    );
    if (res.status !== 200) throw new Error(`GET ${ROUTES.apiOrders}: ${res.status} ${res.text}`);
    orders.push(...res.body.orders);
    cursor = res.body.next_cursor;
    if (!cursor) return orders;
  }
  throw new Error('too many pages');
}

/** The API envelope's `ts`: whole seconds, close to now. */
export function expectTs(ts: unknown) {
  expect(Number.isInteger(ts)).toBe(true);
  expect(Math.abs((ts as number) - Date.now() / 1000)).toBeLessThanOrEqual(5);
}

/** An error answer: the status, JSON, and exactly the envelope {code≠0, success:false, msg, ts}. */
export function expectEnvelopeError(res: ApiResponse, status: number, msg?: RegExp) {
  expect({ status: res.status, body: res.body }).toEqual({
    status,
    body: { code: expect.any(Number), success: false, msg: expect.any(String), ts: expect.any(Number) },
  });
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.body.code).not.toBe(0);
  expectTs(res.body.ts);
  if (msg) expect(res.body.msg).toMatch(msg);
}

/** RFC 6750 §3.1: 401 with `Bearer error="invalid_token"`, in the envelope. */
export function expectInvalidToken(res: ApiResponse) {
  expectEnvelopeError(res, 401);
  expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"(,|$)/);
}

/** A success answer of POST /api/items/buy. */
export function expectBought(res: ApiResponse) {
  expect({ status: res.status, body: res.body }).toEqual({
    status: 200,
    body: { code: 0, success: true, msg: '購買成功', ts: expect.any(Number) },
  });
  expectTs(res.body.ts);
}
