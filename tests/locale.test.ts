// Which language a page is in, and how a person changes it; and that a
// browser on a page meant for people gets a page in its language when
// something fails, while programs keep getting OAuth JSON. Over real HTTP.
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, findForm } from './helpers/user-agent.js';
import { STACK } from './helpers/http.js';
import { LOCALES, pickLocale, translator } from '../src/web/i18n.js';

let server: TestServer;
let client: Awaited<ReturnType<TestServer['client']>>;
beforeAll(async () => {
  server = await startServer();
  client = await server.client({ name: 'Locale shop', redirectUris: ['http://127.0.0.1:9999/cb'] });
});
afterAll(() => server.close());

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const en = translator('en');
const zh = translator('zh-TW');

function authUrl(params: Record<string, string> = {}): string {
  return `/oauth/authorize?${new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: 'http://127.0.0.1:9999/cb',
    scope: 'openid profile',
    state: 'st',
    ...params,
  })}`;
}

const langOf = (html: string) => /<html lang="([^"]+)"/.exec(html)?.[1];

/** Starts an authorization and returns the login page's path and HTML. */
async function loginPage(ua: UserAgent, params: Record<string, string> = {}) {
  const page = await ua.navigate(authUrl(params));
  if (!('html' in page)) throw new Error(`no login page: ${page.redirect}`);
  return { path: new URL(page.url).pathname, html: page.html };
}

/** Follows a switcher link as the page wrote it; returns where it sent the browser. */
async function clickSwitcher(ua: UserAgent, html: string, lang: string): Promise<Response> {
  const href = new RegExp(`href="(/locale\\?lang=${lang}&amp;back=[^"]*)"`).exec(html)?.[1];
  if (!href) throw new Error(`no switcher link to ${lang}`);
  return ua.request(href.replace(/&amp;/g, '&'));
}

describe('pickLocale, the one place that decides (src/web/i18n.ts)', () => {
  test('order: a click on this page, then ui_locales, then the remembered choice, then Accept-Language, then English', () => {
    expect(pickLocale(undefined, undefined)).toBe('en');
    expect(pickLocale(undefined, 'fr, zh-Hant;q=0.5, en;q=0.4')).toBe('zh-TW');
    expect(pickLocale(undefined, 'zh-TW', { remembered: 'en' })).toBe('en');
    expect(pickLocale('zh-TW', 'en', { remembered: 'en' })).toBe('zh-TW');
    expect(pickLocale('fr zh-TW', 'en')).toBe('zh-TW');
    expect(pickLocale('zh-TW', 'zh-TW', { picked: 'en', remembered: 'zh-TW' })).toBe('en');
    // What is not a language we offer is no choice at all.
    expect(pickLocale('fr', 'de', { picked: 'klingon', remembered: 'x'.repeat(100) })).toBe('en');
  });
});

describe('the language switcher, GET /locale', () => {
  test('remembers the language for a year in a Lax cookie and sends the browser back to the page', async () => {
    const res = await fetch(`${server.issuer}/locale?lang=zh-TW&back=${encodeURIComponent('/demo/callback?x=1')}`, {
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/demo/callback?x=1');
    const cookies = res.headers.getSetCookie();
    const remembered = cookies.find((c) => c.startsWith('locale='));
    expect(remembered).toMatch(/^locale=zh-TW; path=\/; expires=[^;]+; samesite=lax; httponly$/);
    const expires = Date.parse(/expires=([^;]+)/.exec(remembered!)![1]!);
    expect(expires - Date.now()).toBeGreaterThan(364 * 24 * 3600 * 1000);
    // The click on that page, for that page only, for this browser session.
    expect(cookies.find((c) => c.startsWith('locale_here='))).toBe(
      'locale_here=zh-TW; path=/demo/callback; samesite=lax; httponly',
    );
  });

  test.each([
    ['//evil.example/x'],
    ['/\\evil.example/x'],
    ['\\\\evil.example'],
    ['https://evil.example/'],
    ['http:/evil.example'],
    ['javascript:alert(1)'],
    ['/ok\r\nSet-Cookie: a=b'],
    ['/\t/evil.example'],
    ['evil'],
    [''],
  ])('never sends the browser off this server: back=%j goes to /', async (back) => {
    const res = await fetch(`${server.issuer}/locale?lang=en&back=${encodeURIComponent(back)}`, {
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    expect(res.headers.get('set-cookie')).not.toMatch(/a=b/);
  });

  test('an unknown language changes nothing; the browser still goes back', async () => {
    const res = await fetch(`${server.issuer}/locale?lang=xx&back=/demo/callback`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/demo/callback');
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  test('a remembered choice beats Accept-Language on every page', async () => {
    const ua = new UserAgent(server.issuer, { accept: BROWSER, 'accept-language': 'en-US,en;q=0.9' });
    await (await ua.request('/locale?lang=zh-TW&back=/')).arrayBuffer();
    const { html } = await loginPage(ua);
    expect(langOf(html)).toBe('zh-TW');
    expect(html).toContain(zh('login.title'));
  });
});

describe('on the sign-in page', () => {
  test('ui_locales beats Accept-Language and a choice remembered from before', async () => {
    const ua = new UserAgent(server.issuer, { accept: BROWSER, 'accept-language': 'en' });
    ua.cookies.set('locale', 'en');
    const { html } = await loginPage(ua, { ui_locales: 'fr zh-TW' });
    expect(langOf(html)).toBe('zh-TW');
    expect(html).toContain(zh('login.username'));
  });

  test("the switcher keeps the person in the interaction, and their click beats the client's ui_locales there", async () => {
    const ua = new UserAgent(server.issuer, { accept: BROWSER, 'accept-language': 'zh-TW' });
    const { path, html } = await loginPage(ua, { ui_locales: 'zh-TW' });
    expect(langOf(html)).toBe('zh-TW');

    const res = await clickSwitcher(ua, html, 'en');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(path);
    // Scoped to this interaction's pages: the next authorization's ui_locales is heard again.
    expect(res.headers.getSetCookie()).toContain(`locale_here=en; path=${path}; samesite=lax; httponly`);

    const again = await ua.navigate(path);
    expect('html' in again && langOf(again.html)).toBe('en');
    expect('html' in again && again.html).toContain(en('login.username'));
    // A failed sign-in answers the POST in the chosen language too, and its switcher goes back to the page.
    if (!('html' in again)) throw new Error('no page');
    const failed = await ua.submit(again, '/login', { username: 'nobody', password: 'wrong' });
    expect('html' in failed && failed.html).toContain(en('login.failed'));
    expect('html' in failed && failed.html).toContain(`back=${encodeURIComponent(path)}"`);
  });

  test('a bad CSRF field is refused with a page in the interaction’s language (ui_locales)', async () => {
    const ua = new UserAgent(server.issuer, { accept: BROWSER, 'accept-language': 'en' });
    const { html } = await loginPage(ua, { ui_locales: 'zh-TW' });
    const { action } = findForm(html, '/login');
    const res = await ua.request(action, {
      method: 'POST',
      body: new URLSearchParams({ csrf: 'forged', username: 'a', password: 'b' }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await res.text();
    expect(langOf(page)).toBe('zh-TW');
    expect(page).toContain(zh('error.csrf'));
  });
});

test('the consent page names the claims asked for (OIDC Core §5.5) in words of the page’s language', async () => {
  const user = await server.user();
  const ua = new UserAgent(server.issuer, { accept: BROWSER, 'accept-language': 'zh-TW' });
  const claims = JSON.stringify({ id_token: { email: null, name: null } });
  const login = await ua.navigate(authUrl({ scope: 'openid', claims }));
  if (!('html' in login)) throw new Error('no login page');
  const consent = await ua.submit(login, '/login', { username: user.username, password: user.password });
  if (!('html' in consent)) throw new Error('no consent page');
  expect(consent.html).toContain(
    zh('consent.claims', { claims: [zh('claim.email'), zh('claim.name')].join(zh('list.separator')) }),
  );
});

describe('a browser on a page meant for people gets a page in its language, never OAuth JSON', () => {
  const get = (path: string, accept: string, language = 'zh-TW,zh;q=0.9', method = 'GET') =>
    fetch(`${server.issuer}${path}`, {
      method,
      redirect: 'manual',
      headers: { accept, 'accept-language': language },
    });

  test.each([
    ['an expired or unknown interaction', '/interaction/no-such-uid', 'GET', 400, 'error.expired'],
    ['the wrong method on a sign-in form', '/interaction/no-such-uid/login', 'GET', 405, 'error.methodNotAllowed'],
    ['the wrong method on an interaction page', '/interaction/no-such-uid', 'PUT', 405, 'error.methodNotAllowed'],
    ['an unknown page under the interactions', '/interaction/no-such-uid/nope', 'GET', 404, 'error.notFound'],
    ['a deeper unknown page under the interactions', '/interaction/a/b/c', 'GET', 404, 'error.notFound'],
    ['an unknown page', '/no/such/page', 'GET', 404, 'error.notFound'],
    ['the wrong method on the logout success page', '/oauth/logout/success', 'POST', 405, 'error.methodNotAllowed'],
    ['the wrong method on the switcher', '/locale', 'POST', 405, 'error.methodNotAllowed'],
    ['an authorization request without a client', '/oauth/authorize?response_type=code', 'GET', 400, 'error.lead'],
  ] as const)('%s: %s %s answers %i with a page', async (_what, path, method, status, key) => {
    const res = await get(path, BROWSER, 'zh-TW,zh;q=0.9', method);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(langOf(html)).toBe('zh-TW');
    expect(html).toContain(zh(key));
    expect(html).not.toMatch(STACK);
  });

  test('a sign-in form too large to read is answered with a page (413), not JSON', async () => {
    const ua = new UserAgent(server.issuer, { accept: BROWSER, 'accept-language': 'zh-TW' });
    const { html } = await loginPage(ua);
    const { action } = findForm(html, '/login');
    const res = await ua.request(action, {
      method: 'POST',
      body: new URLSearchParams({ csrf: 'x', username: 'a', password: 'p'.repeat(20_000) }),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await res.text();
    expect(langOf(page)).toBe('zh-TW');
    expect(page).toContain(zh('error.badRequest'));
  });

  test('the authorization error page follows the request’s ui_locales', async () => {
    const res = await get('/oauth/authorize?response_type=code&ui_locales=en', BROWSER);
    const html = await res.text();
    expect(langOf(html)).toBe('en');
    expect(html).toContain(en('error.invalid_request'));
  });

  test.each([
    ['an unknown page asked for by a program', '/no/such/page', 'GET', '*/*', 404],
    ['the token endpoint, even from a browser', '/oauth/token', 'GET', BROWSER, 405],
    ['the API, even from a browser', '/api/nope', 'GET', BROWSER, 404],
    [
      'the authorization endpoint asked with a method no browser navigates with',
      '/oauth/authorize',
      'PUT',
      BROWSER,
      405,
    ],
    ['the switcher asked by a program', '/locale', 'POST', 'application/json', 405],
  ] as const)('%s keeps the JSON answer', async (_what, path, method, accept, status) => {
    const res = await get(path, accept, 'zh-TW', method);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    // The OAuth shape, or the API's own envelope.
    expect(Object.keys((await res.json()) as object)).toEqual(
      expect.arrayContaining([path.startsWith('/api') ? 'msg' : 'error']),
    );
  });
});

describe('the catalogs (src/web/i18n.ts)', () => {
  // Words that are the same in both languages: names, protocol terms, and the switcher's own labels.
  // Protocol names, the same in every language.
  const SAME_IN_BOTH = new Set<string>(['console.client.id', 'try.record.contentType', 'try.record.wwwAuthenticate']);

  test('every language has every message, each one translated', async () => {
    const { messages } = await import('../src/web/i18n.js');
    const [first, ...others] = LOCALES.map((l) => messages(l));
    for (const other of others) {
      expect(Object.keys(other).sort()).toEqual(Object.keys(first!).sort());
      const untranslated = Object.keys(first!).filter(
        (k) => other[k as keyof typeof other] === first![k as keyof typeof first] && !SAME_IN_BOTH.has(k),
      );
      expect(untranslated).toEqual([]);
    }
  });

  test('placeholders are the same in every language', async () => {
    const { messages } = await import('../src/web/i18n.js');
    const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    const english = messages('en');
    for (const [key, text] of Object.entries(messages('zh-TW'))) {
      expect([key, names(text)]).toEqual([key, names(english[key as keyof typeof english])]);
    }
  });
});
