// "Try the code flow" in the console over real HTTP, as a browser uses it:
// the authorization request it builds, the callback's checks, every step
// button, and every curl command the page shows, run with bash and curl as a
// person would paste it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { startServer, type TestServer } from './helpers/server.js';
import { type UserAgent, decode, isPage, type Page } from './helpers/user-agent.js';
import {
  CODE_CLIENT,
  createClient as createConsoleClient,
  csrfIn,
  pageAt as page,
  signedUp as signedUpAt,
} from './helpers/console.js';

const run = promisify(execFile);

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
  // The catalog the first start seeds (tests start with an empty one); the page buys its first item.
  await server.prepared.shop.putItem({
    itemId: 'ITEM_TRY',
    name: '品項1',
    imgUrl: 'https://img.example.com/img/item_001.png',
    amount: 100,
  });
});
afterAll(() => server?.close());

const signedUp = (lang = 'en') => signedUpAt(server.issuer, { lang, prefix: 'try' });

/** A code client made on the console's form, by default with the console's callback and every scope the flow asks. */
async function createClient(
  ua: UserAgent,
  fields: { auth?: string; redirect?: string; scopes?: string[] } = {},
): Promise<{ clientId: string; secret?: string; page: Page }> {
  const { shown, clientId, secret } = await createConsoleClient(ua, {
    ...CODE_CLIENT,
    name: 'Try shop',
    redirect_uris: fields.redirect ?? `${server.issuer}/console/callback`,
    token_endpoint_auth_method: fields.auth ?? 'client_secret_basic',
    scope: fields.scopes ?? ['openid', 'offline_access', 'profile', 'buy', 'buy_history'],
  });
  expect(clientId).not.toBe('');
  return { clientId, secret, page: shown };
}

const tryPath = (clientId: string) => `/console/clients/${encodeURIComponent(clientId)}/try`;

/** The authorization URL the page shows (and links to). */
function authorizationUrl(html: string): URL {
  return new URL(decode(/id="open-authorization" href="([^"]*)"/.exec(html)?.[1] ?? ''));
}

/**
 * Follows the link as a person would: signs in, allows, and lands where the
 * server sends the browser back (the console's callback, then its page).
 */
async function signInAndAllow(ua: UserAgent, url: string, who: { username: string; password: string }) {
  let step = await ua.navigate(url);
  for (let i = 0; i < 5 && isPage(step); i++) {
    if (step.html.includes('/login"'))
      step = await ua.submit(step, '/login', { username: who.username, password: who.password });
    else if (step.html.includes('/confirm"')) step = await ua.submit(step, '/confirm');
    else return step;
  }
  if (!isPage(step)) throw new Error(`left the server for ${step.redirect}`);
  return step;
}

/** Presses a step's button on the page (a POST with the page's form token). */
async function press(ua: UserAgent, shown: Page, clientId: string, step: string): Promise<Page> {
  const res = await ua.submit(shown, `${tryPath(clientId)}/${step}`);
  if (!isPage(res)) throw new Error('left the server');
  return res;
}

/** Every curl command of a kind on the page, by step. */
function curls(html: string, kind: 'sent' | 'preview'): { step: string; curl: string }[] {
  return [...html.matchAll(/<pre class="curl" data-step="(\w+)" data-kind="(\w+)">([\s\S]*?)<\/pre>/g)]
    .filter((m) => m[2] === kind)
    .map((m) => ({ step: m[1] ?? '', curl: decode(m[3] ?? '') }));
}

/** The last record shown for a step: status, content type, the response body as JSON. */
function lastRecord(html: string, step: string) {
  const articles = [...html.matchAll(/<article class="step" id="record-\d+" data-step="(\w+)">([\s\S]*?)<\/article>/g)];
  const found = articles.filter((a) => a[1] === step).at(-1);
  if (!found) throw new Error(`no record of ${step}`);
  const inner = found[2] ?? '';
  const body = decode(/<pre class="response">([\s\S]*?)<\/pre>/.exec(inner)?.[1] ?? '');
  return {
    html: inner,
    status: Number(/<code class="status">(\d+)</.exec(inner)?.[1]),
    contentType: decode(/<code class="content-type">([^<]*)</.exec(inner)?.[1] ?? ''),
    json: body ? (JSON.parse(body) as Record<string, unknown>) : undefined,
    curl: curls(inner, 'sent')[0]?.curl ?? '',
  };
}

/** Runs a shown command with bash, the secret set as the page says; parses curl -i's answer. */
async function paste(curl: string, secret?: string) {
  const { stdout } = await run('bash', ['-c', curl], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(secret ? { client_secret: secret } : {}) },
  });
  const blocks = stdout.split('\r\n\r\n');
  const head = blocks[0] ?? '';
  const text = blocks.slice(1).join('\r\n\r\n');
  const status = Number(/^HTTP\/[\d.]+ (\d+)/.exec(head)?.[1]);
  const contentType = /^content-type: (.*)$/im.exec(head)?.[1]?.trim() ?? '';
  return { status, contentType, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

/** Keys and the values that stay the same from one call to the next. */
const stable = (json: Record<string, unknown> | undefined) =>
  json &&
  Object.fromEntries(
    Object.entries(json).map(([k, v]) => [k, ['ts', 'iat', 'exp'].includes(k) ? typeof v : v] as const),
  );

/** A signed-up person with a client, its try page, signed in and allowed: the page after the callback. */
async function codeInHand(auth = 'client_secret_basic') {
  const who = await signedUp();
  const client = await createClient(who.ua, { auth });
  const start = await page(who.ua, tryPath(client.clientId));
  const landed = await signInAndAllow(who.ua, authorizationUrl(start.html).href, who);
  return { ...who, ...client, start, landed };
}

describe('the authorization request', () => {
  test('has response_type=code, the console callback, default scopes, state, nonce and an S256 PKCE challenge of the verifier it shows, each explained with a spec link', async () => {
    const { ua } = await signedUp();
    const { clientId, page: clientPage } = await createClient(ua);
    expect(clientPage.html).toContain(`href="${tryPath(clientId)}"`);
    expect(clientPage.html).toContain('Try the code flow');
    const start = await page(ua, tryPath(clientId));
    expect(start.status).toBe(200);
    const url = authorizationUrl(start.html);
    expect(`${url.origin}${url.pathname}`).toBe(`${server.issuer}/oauth/authorize`);
    const q = url.searchParams;
    expect(q.get('response_type')).toBe('code');
    expect(q.get('client_id')).toBe(clientId);
    expect(q.get('redirect_uri')).toBe(`${server.issuer}/console/callback`);
    expect(q.get('scope')).toBe('openid offline_access profile buy buy_history');
    expect(q.get('prompt')).toBe('consent');
    expect(q.get('state')).toMatch(/^[\w-]{43}$/);
    expect(q.get('nonce')).toMatch(/^[\w-]{43}$/);
    expect(q.get('code_challenge_method')).toBe('S256');
    const verifier = decode(
      /data-param="code_verifier">[\s\S]*?<code class="value">([^<]*)</.exec(start.html)?.[1] ?? '',
    );
    expect(q.get('code_challenge')).toBe(createHash('sha256').update(verifier).digest('base64url'));
    for (const name of ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'nonce', 'code_challenge']) {
      expect(start.html).toMatch(
        new RegExp(`data-param="${name}">[\\s\\S]*?href="https://(www.rfc-editor.org|openid.net)/`),
      );
    }
    // The verifier is the session's, not the URL's.
    expect(url.href).not.toContain(verifier);
    // The same page again: the same request (the flow is kept in the session).
    expect(authorizationUrl((await page(ua, tryPath(clientId))).html).href).toBe(url.href);
  });

  test('the ticked scopes make a new request with a new state; unticking offline_access drops prompt=consent', async () => {
    const { ua } = await signedUp();
    const { clientId } = await createClient(ua);
    const start = await page(ua, tryPath(clientId));
    const body = new URLSearchParams({ csrf: csrfIn(start.html) });
    for (const s of ['openid', 'profile', 'nonsense']) body.append('scope', s);
    const again = await page(ua, tryPath(clientId), { method: 'POST', body });
    const q = authorizationUrl(again.html).searchParams;
    expect(q.get('scope')).toBe('openid profile');
    expect(q.get('prompt')).toBeNull();
    expect(q.get('state')).not.toBe(authorizationUrl(start.html).searchParams.get('state'));
  });

  test('a client without the console callback says so, and the button adds it keeping the other redirect URIs', async () => {
    const { ua } = await signedUp();
    const { clientId } = await createClient(ua, { redirect: 'https://app.example/cb' });
    const start = await page(ua, tryPath(clientId));
    expect(start.html).toContain('has not registered the console’s callback');
    const after = await ua.submit(start, `${tryPath(clientId)}/redirect-uri`);
    if (!isPage(after)) throw new Error('left');
    expect(after.html).not.toContain('has not registered');
    const settings = await page(ua, `/console/clients/${clientId}`);
    expect(decode(/<textarea[^>]*name="redirect_uris"[^>]*>([^<]*)</.exec(settings.html)?.[1] ?? '')).toBe(
      `https://app.example/cb\n${server.issuer}/console/callback`,
    );
  });

  test('another account’s client, or one that does not exist, is a 404 page for every try path', async () => {
    const owner = await signedUp();
    const { clientId } = await createClient(owner.ua);
    const other = await signedUp();
    const csrf = csrfIn((await page(other.ua, '/')).html);
    for (const [method, path] of [
      ['GET', tryPath(clientId)],
      ['POST', tryPath(clientId)],
      ['POST', `${tryPath(clientId)}/redirect-uri`],
      ['POST', `${tryPath(clientId)}/token`],
      ['GET', tryPath('no-such-client')],
    ] as const) {
      const res = await other.ua.request(path, {
        method,
        body: method === 'POST' ? new URLSearchParams({ csrf }) : undefined,
      });
      expect([method, path, res.status]).toEqual([method, path, 404]);
      expect(await res.text()).toContain('There is no such client among yours.');
    }
  });
});

describe('the callback', () => {
  test('checks state and iss, keeps the code, and offers the token exchange', async () => {
    const { ua, landed, clientId, start } = await codeInHand();
    expect(landed.status).toBe(200);
    expect(new URL(landed.url).pathname).toBe(tryPath(clientId));
    expect(decode(/<code id="code">([^<]*)</.exec(landed.html)?.[1] ?? '')).toMatch(/^[\w-]{20,}$/);
    expect(landed.html).toContain('state is the one this browser’s request sent');
    expect(landed.html).toContain('iss is this server');
    expect(curls(landed.html, 'preview').map((c) => c.step)).toEqual(['token']);
    // The code stays server-side: no URL on the page carries it.
    expect(landed.url).not.toContain('code=');
    // The answered request is not offered again (its state works once).
    expect(landed.html).not.toContain('id="open-authorization"');
    expect(landed.html).toContain('This request has been answered');
    // The same response again (a replay) is refused: the state was used up.
    const state = authorizationUrl(start.html).searchParams.get('state') ?? '';
    const replay = await page(
      ua,
      `/console/callback?code=again&state=${state}&iss=${encodeURIComponent(server.issuer)}`,
    );
    expect(replay.status).toBe(400);
    expect(replay.html).toContain('does not answer the request this browser made');
  });

  test('a response with another state is refused with an explained 400 page and nothing is exchanged', async () => {
    const who = await signedUp();
    const { clientId } = await createClient(who.ua);
    const start = await page(who.ua, tryPath(clientId));
    const url = authorizationUrl(start.html);
    url.searchParams.set('state', 'forged-state');
    // The server echoes the forged state back; signing in and allowing reaches the callback with it.
    const refused = await signInAndAllow(who.ua, url.href, who);
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('does not answer the request this browser made');
    const after = await page(who.ua, tryPath(clientId));
    expect(after.html).not.toContain('id="code"');
    expect(curls(after.html, 'preview')).toEqual([]);
  });

  test('a response without iss, or with another issuer, is refused (RFC 9207)', async () => {
    const who = await signedUp();
    const { clientId } = await createClient(who.ua);
    const start = await page(who.ua, tryPath(clientId));
    const state = authorizationUrl(start.html).searchParams.get('state') ?? '';
    for (const iss of ['', '&iss=https%3A%2F%2Fevil.example']) {
      const res = await page(who.ua, `/console/callback?code=abc&state=${state}${iss}`);
      expect(res.status).toBe(400);
      expect(res.html).toContain('names another issuer');
    }
  });

  test('a denied consent comes back as an explained error, with no exchange offered', async () => {
    const who = await signedUp();
    const { clientId } = await createClient(who.ua);
    const start = await page(who.ua, tryPath(clientId));
    let step = await who.ua.navigate(authorizationUrl(start.html).href);
    if (isPage(step)) step = await who.ua.submit(step, '/login', { username: who.username, password: who.password });
    if (isPage(step)) step = await who.ua.submit(step, '/abort');
    if (!isPage(step)) throw new Error('left');
    expect(decode(/id="response-error">([^<]*)</.exec(step.html)?.[1] ?? '')).toBe('access_denied');
    expect(curls(step.html, 'preview')).toEqual([]);
  });
});

describe('the steps', () => {
  test('every button works and shows its request and raw response; every curl shown, pasted, answers the same', async () => {
    const { ua, clientId, secret, landed, username } = await codeInHand();
    expect(secret).toBeDefined();
    expect(landed.html).toContain('client_secret=…  # the secret shown when you created the client');

    let shown = await press(ua, landed, clientId, 'token');
    const token = lastRecord(shown.html, 'token');
    expect(token.status).toBe(200);
    expect(token.contentType).toMatch(/^application\/json/);
    expect(Object.keys(token.json ?? {}).sort()).toEqual(
      ['access_token', 'expires_in', 'id_token', 'refresh_token', 'scope', 'token_type'].sort(),
    );
    expect(token.curl).toContain(`-u "${clientId}:\${client_secret}"`);
    expect(token.curl).toContain('code_verifier=');
    expect(token.html).toContain('https://www.rfc-editor.org/rfc/rfc6749#section-5.1');
    // The id_token decoded and checked against /oauth/jwks.
    expect(token.html).toContain('Signature valid, and every check passed.');
    for (const check of ['signature', 'iss', 'aud', 'exp', 'nonce']) {
      expect(token.html).toContain(`<tr class="ok" data-check="${check}">`);
    }
    expect(token.html).toMatch(/<code>nonce<\/code><\/th><td>Must equal the nonce/);
    expect(shown.html).not.toContain('data-step="token" data-kind="preview"');

    const expectations: [string, number, (json: Record<string, unknown>) => void][] = [
      ['userinfo', 200, (j) => expect(j.preferred_username).toBe(username)],
      ['me', 200, (j) => expect(j).toMatchObject({ code: 0, success: true, username })],
      ['buy', 200, (j) => expect(j).toMatchObject({ code: 0, success: true })],
      ['orders', 200, (j) => expect((j.orders as { item_id: string }[])[0]?.item_id).toBe('ITEM_TRY')],
      ['introspect', 200, (j) => expect(j).toMatchObject({ active: true, client_id: clientId })],
    ];
    for (const [step, status, check] of expectations) {
      shown = await press(ua, shown, clientId, step);
      const record = lastRecord(shown.html, step);
      expect([step, record.status]).toEqual([step, status]);
      check(record.json ?? {});
      // Pasted as shown: the same answer (a purchase again with the same tx_id is recorded once).
      const pasted = await paste(record.curl, secret);
      expect([step, pasted.status]).toEqual([step, status]);
      expect(pasted.contentType).toBe(record.contentType);
      expect(stable(pasted.json)).toEqual(stable(record.json));
    }
    const orders = lastRecord((await press(ua, shown, clientId, 'orders')).html, 'orders');
    expect(orders.json?.orders).toHaveLength(1);

    // Refresh: rotation, and a new id_token checked again.
    shown = await press(ua, shown, clientId, 'refresh');
    const refresh = lastRecord(shown.html, 'refresh');
    expect(refresh.status).toBe(200);
    expect(refresh.json?.refresh_token).not.toBe(token.json?.refresh_token);
    expect(refresh.html).toContain('the refresh token sent is now used up');
    expect(refresh.html).toContain('Signature valid, and every check passed.');

    // Revocation, then introspection again: active:false.
    shown = await press(ua, shown, clientId, 'revoke');
    const revoke = lastRecord(shown.html, 'revoke');
    expect(revoke.status).toBe(200);
    const pastedRevoke = await paste(revoke.curl, secret);
    expect(pastedRevoke.status).toBe(200);
    shown = await press(ua, shown, clientId, 'introspect');
    const inactive = lastRecord(shown.html, 'introspect');
    expect(inactive.json).toEqual({ active: false });
    expect((await paste(inactive.curl, secret)).json).toEqual({ active: false });
    const me = lastRecord((await press(ua, shown, clientId, 'me')).html, 'me');
    expect(me.status).toBe(401);
    expect(me.html).toContain('invalid_token');
  });

  test('the token exchange’s and the refresh’s shown commands, pasted instead of pressing, work (each works once)', async () => {
    const first = await codeInHand();
    const [exchange] = curls(first.landed.html, 'preview');
    expect(exchange?.step).toBe('token');
    const pasted = await paste(exchange?.curl ?? '', first.secret);
    expect(pasted.status).toBe(200);
    expect(pasted.json).toMatchObject({ token_type: 'Bearer', scope: 'openid offline_access profile buy buy_history' });
    expect(typeof pasted.json?.id_token).toBe('string');
    // The page's own button now finds the code used: invalid_grant, shown as it came.
    const after = lastRecord((await press(first.ua, first.landed, first.clientId, 'token')).html, 'token');
    expect(after.status).toBe(400);
    expect(after.json?.error).toBe('invalid_grant');

    const second = await codeInHand();
    const shown = await press(second.ua, second.landed, second.clientId, 'token');
    const oldRefresh = lastRecord(shown.html, 'token').json?.refresh_token;
    const refreshCurl = curls(shown.html, 'preview').find((c) => c.step === 'refresh')?.curl ?? '';
    expect(refreshCurl).toContain(`refresh_token=${oldRefresh}`);
    const refreshed = await paste(refreshCurl, second.secret);
    expect(refreshed.status).toBe(200);
    expect(refreshed.json?.refresh_token).toEqual(expect.any(String));
    expect(refreshed.json?.refresh_token).not.toBe(oldRefresh);
    // Rotation: the same command a second time is refused.
    expect((await paste(refreshCurl, second.secret)).json?.error).toBe('invalid_grant');
  });

  test('a client_secret_post client sends its secret in the form, and a public client only PKCE; both complete the flow', async () => {
    for (const auth of ['client_secret_post', 'none']) {
      const { ua, clientId, secret, landed } = await codeInHand(auth);
      if (auth === 'none') {
        expect(secret).toBeUndefined();
        expect(landed.html).toContain('This is a public client');
      }
      const shown = await press(ua, landed, clientId, 'token');
      const token = lastRecord(shown.html, 'token');
      expect([auth, token.status]).toEqual([auth, 200]);
      expect(token.curl).not.toContain(' -u ');
      expect(token.curl).toContain(`client_id=${clientId}`);
      if (auth === 'client_secret_post')
        expect(token.curl).toContain(`--data-urlencode "client_secret=\${client_secret}"`);
      else expect(token.curl).not.toContain('client_secret');
      expect(token.html).toContain('Signature valid');
      const me = lastRecord((await press(ua, shown, clientId, 'me')).html, 'me');
      expect(me.status).toBe(200);
      const introspect = lastRecord((await press(ua, shown, clientId, 'introspect')).html, 'introspect');
      const pasted = await paste(introspect.curl, secret);
      expect([auth, pasted.status, stable(pasted.json)]).toEqual([auth, introspect.status, stable(introspect.json)]);
    }
  });

  test('a step that cannot be taken yet, an unknown step, or a form without its token is refused with a page, not a 500', async () => {
    const who = await signedUp();
    const { clientId } = await createClient(who.ua);
    const start = await page(who.ua, tryPath(clientId));
    const csrf = csrfIn(start.html);
    const early = await who.ua.request(`${tryPath(clientId)}/me`, {
      method: 'POST',
      body: new URLSearchParams({ csrf }),
    });
    expect(early.status).toBe(409);
    expect(await early.text()).toContain('This step cannot be taken now');
    const unknown = await who.ua.request(`${tryPath(clientId)}/nope`, {
      method: 'POST',
      body: new URLSearchParams({ csrf }),
    });
    expect(unknown.status).toBe(404);
    const forged = await who.ua.request(`${tryPath(clientId)}/token`, {
      method: 'POST',
      body: new URLSearchParams({ csrf: 'x' }),
    });
    expect(forged.status).toBe(403);
  });

  test('in 繁體中文 the page explains the request, the response and the id_token in Chinese', async () => {
    const who = await signedUp('zh-TW');
    const { clientId } = await createClient(who.ua);
    const start = await page(who.ua, tryPath(clientId));
    expect(start.html).toContain('<html lang="zh-TW">');
    expect(start.html).toContain('開啟授權網址');
    const landed = await signInAndAllow(who.ua, authorizationUrl(start.html).href, who);
    const shown = await press(who.ua, landed, clientId, 'token');
    expect(shown.html).toContain('簽章有效，且所有檢查皆通過。');
    expect(shown.html).toContain('以授權碼交換 token');
  });
});

describe('when the issuer URL does not reach this server', () => {
  let unreachable: TestServer;
  beforeAll(async () => {
    // Port 9 (discard) has no listener here: every server-side step fails to connect.
    unreachable = await startServer({ ISSUER: 'http://127.0.0.1:9' });
  });
  afterAll(() => unreachable?.close());

  test('a step answers an explained 502 page, not a 500', async () => {
    const { ua } = await signedUpAt(unreachable.issuer, { prefix: 'far' });
    const { clientId } = await createClient(ua, { redirect: 'http://127.0.0.1:9/console/callback' });
    const start = await page(ua, tryPath(clientId));
    const state = authorizationUrl(start.html).searchParams.get('state') ?? '';
    const landed = await page(
      ua,
      `/console/callback?code=abc&state=${state}&iss=${encodeURIComponent('http://127.0.0.1:9')}`,
    );
    expect(decode(/<code id="code">([^<]*)</.exec(landed.html)?.[1] ?? '')).toBe('abc');
    const res = await ua.request(`${tryPath(clientId)}/token`, {
      method: 'POST',
      body: new URLSearchParams({ csrf: csrfIn(landed.html) }),
    });
    expect(res.status).toBe(502);
    expect(await res.text()).toContain('could not reach its own endpoints');
  });
});
