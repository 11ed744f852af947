// The console's teaching pages over real HTTP: discovery and the JWKS
// explained field by field (against the live documents, so a field the
// library starts publishing fails here until it is explained), the token
// inspector (only the signed-in account's own clients' tokens, one answer for
// everything else), and the API reference from the OpenAPI document.
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, findForm, decode, authorize, type Page } from './helpers/user-agent.js';
import {
  CODE_CLIENT,
  createClient as createConsoleClient,
  pageAt as page,
  signedUp as signedUpAt,
} from './helpers/console.js';
import { postForm } from './helpers/http.js';
import { travel } from './helpers/clock.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.close());

let n = 0;

const text = (html: string) => decode(html.replace(/<[^>]*>/g, ''));

const signedUp = (lang = 'en') => signedUpAt(server.issuer, { lang, prefix: 'learner' });

/** A code client made on the console's form; its id and the secret shown once. */
async function createClient(ua: UserAgent): Promise<{ clientId: string; secret: string }> {
  const { shown, clientId, secret } = await createConsoleClient(ua, {
    ...CODE_CLIENT,
    name: 'Learning app',
    scope: ['openid', 'offline_access', 'profile', 'buy'],
  });
  if (!clientId || !secret) throw new Error(`no client made: ${shown.html.slice(0, 300)}`);
  return { clientId, secret };
}

/** A real code flow for `user` with the client: its token response. */
async function tokensFor(
  client: { client_id: string; client_secret?: string },
  user: { username: string; password: string },
) {
  const { callback } = await authorize(
    new UserAgent(server.issuer),
    `${server.issuer}/oauth/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      scope: 'openid offline_access profile buy',
      prompt: 'consent',
      state: `s${++n}`,
    })}`,
    { ...user, consent: 'allow' },
  );
  const res = await postForm(`${server.issuer}/oauth/token`, client, {
    grant_type: 'authorization_code',
    code: callback.searchParams.get('code') ?? '',
  });
  if (res.status !== 200) throw new Error(`token request: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { access_token: string; refresh_token: string; expires_in: number };
}

/** Posts a token to the inspector the way its form does. */
async function inspect(ua: UserAgent, token: string): Promise<Page> {
  const form = findForm((await page(ua, '/console/inspect')).html, '/console/inspect');
  return page(ua, '/console/inspect', { method: 'POST', body: new URLSearchParams({ ...form.hidden, token }) });
}

const NOT_YOURS = 'Not active, or not issued to one of your clients.';

describe('discovery explained', () => {
  test('explains the fields a server with dynamic registration and the implicit and hybrid flows adds too', async () => {
    const other = await startServer({
      REGISTRATION_ENABLED: 'true',
      REGISTRATION_INITIAL_ACCESS_TOKEN: 'an initial access token of 16+',
      IMPLICIT_AND_HYBRID: 'true',
    });
    try {
      const live = (await (await fetch(`${other.issuer}/.well-known/openid-configuration`)).json()) as Record<
        string,
        unknown
      >;
      expect(live.registration_endpoint).toBe(`${other.issuer}/oauth/register`);
      const shown = await page(new UserAgent(other.issuer), '/console/discovery');
      const explainedFields = [
        ...shown.html.matchAll(/<div class="field"><dt><code>([^<]*)<\/code><\/dt><dd>[\s\S]*?<p class="meaning">/g),
      ].map((m) => decode(m[1] ?? ''));
      for (const name of Object.keys(live)) expect(explainedFields).toContain(name);
    } finally {
      await other.close();
    }
  });

  test.each([
    ['en', 'This page has no explanation'],
    ['zh-TW', '本頁尚未說明此欄位'],
  ])(
    'lists every field of the live discovery document with its value, its meaning and its spec (%s), signed out',
    async (lang, unexplained) => {
      const live = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<
        string,
        unknown
      >;
      const shown = await page(new UserAgent(server.issuer, { 'accept-language': lang }), '/console/discovery');
      expect(shown.status).toBe(200);
      expect(shown.html).toContain(`<html lang="${lang}">`);
      const fields = [
        ...shown.html.matchAll(/<div class="field"><dt><code>([^<]*)<\/code><\/dt><dd>([\s\S]*?)<\/dd><\/div>/g),
      ];
      const byName = new Map(fields.map(([, name = '', dd = '']) => [decode(name), dd]));
      expect(Object.keys(live).length).toBeGreaterThan(10);
      for (const [name, value] of Object.entries(live)) {
        const dd = byName.get(name);
        expect([name, dd !== undefined]).toEqual([name, true]);
        for (const v of [value].flat()) expect(text(dd ?? '')).toContain(typeof v === 'string' ? v : JSON.stringify(v));
        expect([name, /<p class="meaning">[^<]+<\/p>/.test(dd ?? '')]).toEqual([name, true]);
        expect([name, /<p class="spec"><a href="https:\/\/[^"]+"/.test(dd ?? '')]).toEqual([name, true]);
      }
      expect(decode(shown.html)).not.toContain(unexplained);
    },
  );

  test('a discovery document that cannot be fetched is a 503 page that says so, not a stack trace', async () => {
    // The issuer's address answers nothing (port 9 on loopback); this server is reached at its own.
    const lost = await startServer({ ISSUER: 'http://127.0.0.1:9' });
    try {
      const shown = await page(new UserAgent(lost.issuer), '/console/discovery');
      expect(shown.status).toBe(503);
      expect(decode(shown.html)).toContain('This server’s discovery document could not be fetched just now.');
      expect(shown.html).toContain('temporarily_unavailable');
      expect(shown.html).not.toMatch(/at \S+ \(/);
    } finally {
      await lost.close();
    }
  });

  test('the English and the Chinese page explain each field in their own words', async () => {
    const en = await page(new UserAgent(server.issuer, { 'accept-language': 'en' }), '/console/discovery');
    const zh = await page(new UserAgent(server.issuer, { 'accept-language': 'zh-TW' }), '/console/discovery');
    expect(decode(en.html)).toContain('The PKCE methods: S256 means');
    expect(decode(zh.html)).toContain('PKCE 的方法：S256 表示');
    const meanings = (html: string) => [...html.matchAll(/<p class="meaning">([^<]*)</g)].map((m) => m[1]);
    const enMeanings = meanings(en.html);
    const zhMeanings = meanings(zh.html);
    expect(zhMeanings).toHaveLength(enMeanings.length);
    for (const [i, m] of zhMeanings.entries()) expect(m).not.toBe(enMeanings[i]);
  });

  test('lists every key of /oauth/jwks by kid, each member explained, with a word on rotation', async () => {
    const jwks = (await (await fetch(`${server.issuer}/oauth/jwks`)).json()) as { keys: Record<string, string>[] };
    const shown = await page(new UserAgent(server.issuer), '/console/discovery');
    expect(jwks.keys.length).toBeGreaterThanOrEqual(2);
    for (const key of jwks.keys) {
      expect(shown.html).toContain(`<h3 id="key-${key.kid}">Key ${key.kid}</h3>`);
      for (const value of Object.values(key)) expect(shown.html).toContain(`<code class="value">${value}</code>`);
    }
    expect(shown.html).toContain('The key type: &quot;RSA&quot; or &quot;EC&quot;');
    expect(shown.html).toContain('The RSA modulus, base64url.');
    expect(shown.html).toContain('The elliptic curve (P-256 for ES256).');
    expect(decode(shown.html)).toContain('Keys are rotated: a new key is published before it signs anything');
  });
});

describe('inspect a token', () => {
  test('requires sign-in: the page and the form send a visitor to the home page', async () => {
    const ua = new UserAgent(server.issuer);
    const get = await ua.request('/console/inspect');
    expect([get.status, get.headers.get('location')]).toEqual([302, '/']);
    const post = await ua.request('/console/inspect', { method: 'POST', body: new URLSearchParams({ token: 'x' }) });
    expect([post.status, post.headers.get('location')]).toEqual([302, '/']);
  });

  test('refuses a form without the CSRF token with 403, and says nothing about the token', async () => {
    const { ua } = await signedUp();
    const { clientId, secret } = await createClient(ua);
    const user = await server.user();
    const tokens = await tokensFor({ client_id: clientId, client_secret: secret }, user);
    const res = await page(ua, '/console/inspect', {
      method: 'POST',
      body: new URLSearchParams({ token: tokens.access_token, csrf: 'forged' }),
    });
    expect(res.status).toBe(403);
    expect(res.html).not.toContain(clientId);
    expect(res.html).not.toContain(tokens.access_token);
  });

  test('shows an access token of my client: active, type, scopes, expiry with its minutes left, client and subject', async () => {
    const { ua } = await signedUp();
    const { clientId, secret } = await createClient(ua);
    const user = await server.user();
    const tokens = await tokensFor({ client_id: clientId, client_secret: secret }, user);
    const shown = await inspect(ua, tokens.access_token);
    expect(shown.status).toBe(200);
    const result = text(/<section id="inspect-result"[\s\S]*<\/section>/.exec(shown.html)?.[0] ?? '');
    expect(result).toContain('Access token (it calls the API)');
    expect(shown.html).toContain('<dd id="token-active">Yes</dd>');
    expect(
      text(/<dd id="token-scopes">([\s\S]*?)<\/dd>/.exec(shown.html)?.[1] ?? '')
        .split(/\s+/)
        .filter(Boolean)
        .sort(),
    ).toEqual(['buy', 'offline_access', 'openid', 'profile']);
    // ACCESS_TOKEN_TTL is 10 days by default (the seed's).
    expect(tokens.expires_in).toBe(864000);
    expect(shown.html).toMatch(/>in (9 d 23|10 d 0) h</);
    const remaining = Number(/data-countdown="(\d+)"/.exec(shown.html)?.[1]);
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThanOrEqual(tokens.expires_in);
    expect(shown.html).toMatch(/<time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z">/);
    expect(result).toContain(`Learning app ${clientId}`);
    expect(result).toContain(`${user.id} (username ${user.username})`);
    // The page's script, from /static (CSP script-src 'self'), is served.
    expect(shown.html).toContain('<script src="/static/countdown.js"></script>');
    const script = await fetch(`${server.issuer}/static/countdown.js`);
    expect([script.status, script.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
  });

  test('shows a refresh token of my client, in 繁體中文 for a reader who prefers it', async () => {
    const { ua } = await signedUp('zh-TW');
    const { clientId, secret } = await createClient(ua);
    const user = await server.user();
    const tokens = await tokensFor({ client_id: clientId, client_secret: secret }, user);
    const shown = await inspect(ua, tokens.refresh_token);
    const result = text(/<section id="inspect-result"[\s\S]*<\/section>/.exec(shown.html)?.[0] ?? '');
    expect(result).toContain('Refresh token（在 token 端點換取新的 access token）');
    expect(result).toContain(`使用者名稱 ${user.username}`);
    expect(result).toContain(clientId);
    expect(shown.html).toMatch(/>1[34] 天 \d+ 小時後</);
  });

  test('the same non-answer for another account’s client’s token, a CLI client’s token, a revoked token and garbage', async () => {
    const me = await signedUp();
    await createClient(me.ua);
    const other = await signedUp();
    const theirs = await createClient(other.ua);
    const user = await server.user();
    const theirTokens = await tokensFor({ client_id: theirs.clientId, client_secret: theirs.secret }, user);
    const cli = await server.client({
      scope: 'openid offline_access profile buy',
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    const cliTokens = await tokensFor(cli, user);
    const mine = await createClient(me.ua);
    const revoked = await tokensFor({ client_id: mine.clientId, client_secret: mine.secret }, user);
    const revocation = await postForm(
      `${server.issuer}/oauth/revoke`,
      { client_id: mine.clientId, client_secret: mine.secret },
      { token: revoked.refresh_token },
    );
    expect(revocation.status).toBe(200);
    // Revoking the refresh token revoked its grant: the access token too (RFC 7009 §2.1).
    const answers: string[] = [];
    for (const token of [
      theirTokens.access_token,
      theirTokens.refresh_token,
      cliTokens.access_token,
      revoked.refresh_token,
      revoked.access_token,
      'garbage',
      'x'.repeat(5000),
      '',
    ]) {
      const shown = await inspect(me.ua, token);
      expect(shown.status).toBe(200);
      expect(shown.html).not.toContain('id="token-type"');
      answers.push(text(/<p class="error" id="inspect-result"[^>]*>([^<]*)</.exec(shown.html)?.[1] ?? ''));
    }
    expect(new Set(answers)).toEqual(new Set([expect.stringContaining(NOT_YOURS)]));
    // The owner of the other client does see theirs.
    expect((await inspect(other.ua, theirTokens.access_token)).html).toContain('id="token-type"');
  });

  test('the same non-answer for my own access token once it has expired', async () => {
    const { ua } = await signedUp();
    const { clientId, secret } = await createClient(ua);
    const tokens = await tokensFor({ client_id: clientId, client_secret: secret }, await server.user());
    expect((await inspect(ua, tokens.access_token)).html).toContain('id="token-type"');
    // Past ACCESS_TOKEN_TTL (10 days), still within the console session (SESSION_TTL, 14 days).
    travel(tokens.expires_in + 60);
    const shown = await inspect(ua, tokens.access_token);
    expect(shown.html).not.toContain('id="token-type"');
    expect(text(shown.html)).toContain(NOT_YOURS);
  });
});

describe('API reference', () => {
  test.each([
    ['en', 'API reference', 'a bearer token with scope buy'],
    ['zh-TW', 'API 參考', '帶有 scope buy 的 bearer token'],
  ])(
    'renders every operation of /api/openapi.json with its scopes, parameters and responses (%s)',
    async (lang, title, scopeLine) => {
      const doc = (await (await fetch(`${server.issuer}/api/openapi.json`)).json()) as {
        paths: Record<
          string,
          Record<string, { operationId: string; responses: Record<string, unknown>; parameters?: { name: string }[] }>
        >;
      };
      const shown = await page(new UserAgent(server.issuer, { 'accept-language': lang }), '/console/api');
      expect(shown.status).toBe(200);
      expect(shown.html).toContain(`<h1>${title}</h1>`);
      for (const [path, item] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(item)) {
          const section =
            new RegExp(`<section class="operation" id="${op.operationId}"[\\s\\S]*?</section>`).exec(shown.html)?.[0] ??
            '';
          expect(section).toContain(`<span class="method">${method.toUpperCase()}</span> <code>${path}</code>`);
          for (const status of Object.keys(op.responses)) expect(section).toContain(`<dt><code>${status}</code></dt>`);
          for (const p of op.parameters ?? []) expect(section).toContain(`<code>${p.name}</code>`);
        }
      }
      expect(decode(shown.html)).toContain(scopeLine);
      // The document's `code spans` are code on the page, not backticks.
      expect(shown.html).toContain('<code>WWW-Authenticate</code>');
      expect(shown.html).not.toContain('`');
    },
  );
});

describe('navigation', () => {
  test('signed out: sign-in, discovery and the API reference, the current page marked; signed in: clients and the inspector too', async () => {
    const out = await page(new UserAgent(server.issuer), '/console/discovery');
    const nav = (html: string) =>
      /<nav class="console-nav" aria-label="Console">([\s\S]*?)<\/nav>/.exec(html)?.[1] ?? '';
    expect(nav(out.html)).toContain('<a href="/">Sign in</a>');
    expect(nav(out.html)).toContain('<a href="/console/discovery" aria-current="page">Discovery</a>');
    expect(nav(out.html)).toContain('<a href="/console/api">API reference</a>');
    expect(nav(out.html)).not.toContain('/console/inspect');

    const { ua } = await signedUp();
    const home = await page(ua, '/');
    expect(nav(home.html)).toContain('<a href="/" aria-current="page">Clients</a>');
    expect(nav(home.html)).toContain('<a href="/console/inspect">Inspect a token</a>');
    const inspector = await page(ua, '/console/inspect');
    expect(nav(inspector.html)).toContain('<a href="/console/inspect" aria-current="page">Inspect a token</a>');
    expect(nav(inspector.html)).toContain('<a href="/">Clients</a>');
  });
});
