// The login, consent and logout pages as a person meets them, over real HTTP:
// a browser-like user agent (cookie jar, plain form posts, no JavaScript)
// against the real app. Protocol behaviour cites OpenID Connect Core 1.0
// (OIDC §…), RFC 6749, RFC 9700 and OpenID Connect RP-Initiated Logout 1.0.
import { randomBytes } from 'node:crypto';
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, authorize, findForm, isPage, decode, type Page } from './helpers/user-agent.js';
import { STACK, basic } from './helpers/http.js';
import { travel } from './helpers/clock.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const REDIRECT = 'http://127.0.0.1:9999/cb';
const LOGGED_OUT = 'http://127.0.0.1:9999/logged-out';

type Client = Awaited<ReturnType<TestServer['client']>>;
type User = Awaited<ReturnType<TestServer['user']>>;

/** A user agent that also keeps every Set-Cookie line it was sent, with the URL that sent it. */
class RecordingAgent extends UserAgent {
  readonly setCookies: { url: string; line: string }[] = [];
  override async request(url: string, init: Parameters<UserAgent['request']>[1] = {}): Promise<Response> {
    const res = await super.request(url, init);
    for (const line of res.headers.getSetCookie())
      this.setCookies.push({ url: new URL(url, this.origin).pathname, line });
    return res;
  }
}

// What a browser sends on a top-level navigation; the library picks HTML or
// JSON for its error answers by it.
const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const browser = (headers: Record<string, string> = {}) => new UserAgent(server.issuer, { ...BROWSER, ...headers });

function authUrl(client: Client, params: Record<string, string> = {}): string {
  const url = new URL('/oauth/authorize', server.issuer);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    scope: 'openid profile',
    state: randomBytes(8).toString('hex'),
    ...params,
  }).toString();
  return url.href;
}

/** The token endpoint's answer for a code (RFC 6749 §4.1.3). */
async function exchange(client: Client, code: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.issuer}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic(client), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

function claimsOf(idToken: unknown): Record<string, unknown> {
  expect(typeof idToken).toBe('string');
  const [, payload = ''] = String(idToken).split('.');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function page(ua: UserAgent, url: string): Promise<Page> {
  const step = await ua.navigate(url);
  if (!isPage(step)) throw new Error(`expected a page, was sent to ${step.redirect}`);
  return step;
}

async function redirected(ua: UserAgent, url: string): Promise<URL> {
  const step = await ua.navigate(url);
  if (isPage(step))
    throw new Error(
      `expected a redirect to the client, got a page (${step.status}) at ${step.url}: ${step.html.slice(0, 300)}`,
    );
  return new URL(step.redirect);
}

/** The text of the login page's alert, if any. */
const alertOf = (html: string) => /<p class="error" role="alert">([^<]*)<\/p>/.exec(html)?.[1];
const inputNamed = (html: string, name: string) => new RegExp(`<input\\b[^>]*name="${name}"[^>]*>`).exec(html)?.[0];
const inputValue = (input: string | undefined) => decode(/value="([^"]*)"/.exec(input ?? '')?.[1] ?? '');
const htmlLang = (html: string) => /<html lang="([^"]*)"/.exec(html)?.[1];

let client: Client;
let user: User;
beforeAll(async () => {
  client = await server.client({
    name: 'Acme Photo Printer',
    redirectUris: [REDIRECT],
    postLogoutRedirectUris: [LOGGED_OUT],
  });
  user = await server.user();
});

describe('login page', () => {
  test('has a plain HTML form (no JavaScript) posting fields named username and password, and signing in through it works', async () => {
    const ua = browser();
    const login = await page(ua, authUrl(client));
    expect(login.status).toBe(200);
    expect(login.url).toMatch(/\/interaction\/[\w-]+$/);
    expect(login.headers.get('content-type')).toMatch(/^text\/html/);
    expect(login.html).not.toMatch(/<script\b/i);
    const formTag = /<form\b[^>]*action="[^"]*\/login"[^>]*>/.exec(login.html)?.[0];
    expect(formTag).toMatch(/method="post"/);
    expect(inputNamed(login.html, 'username')).toMatch(/type="text"/);
    expect(inputNamed(login.html, 'password')).toMatch(/type="password"/);

    // What a browser without JavaScript sends: the form's fields, urlencoded.
    const step = await ua.submit(login, '/login', { username: user.username, password: user.password });
    expect(isPage(step)).toBe(true);
    expect((step as Page).html).toContain('/confirm"');
  });

  test('a wrong password and an unknown username get the same status and the same message (no user enumeration)', async () => {
    const ua = browser();
    const login = await page(ua, authUrl(client));
    const wrongPassword = (await ua.submit(login, '/login', {
      username: user.username,
      password: 'not-the-password-1',
    })) as Page;
    const login2 = await page(ua, authUrl(client));
    const unknownUser = (await ua.submit(login2, '/login', {
      username: 'nobody-by-this-name',
      password: 'not-the-password-1',
    })) as Page;

    expect(isPage(wrongPassword) && isPage(unknownUser)).toBe(true);
    expect(wrongPassword.status).toBe(unknownUser.status);
    expect(wrongPassword.status).toBeGreaterThanOrEqual(400);
    expect(alertOf(wrongPassword.html)).toBe('Wrong username or password.');
    expect(alertOf(unknownUser.html)).toBe(alertOf(wrongPassword.html));
    // Both are the login form again, ready for another try.
    expect(inputNamed(wrongPassword.html, 'password')).toBeDefined();
    expect(inputNamed(unknownUser.html, 'password')).toBeDefined();
  });

  test('a failed sign-in never echoes the password back into the page', async () => {
    const ua = browser();
    const login = await page(ua, authUrl(client));
    const secret = `Pw-${randomBytes(6).toString('hex')}-echo`;
    const failed = (await ua.submit(login, '/login', { username: user.username, password: secret })) as Page;
    expect(alertOf(failed.html)).toBe('Wrong username or password.');
    expect(failed.html).not.toContain(secret);
    expect(inputValue(inputNamed(failed.html, 'password'))).toBe('');
    // The username is kept so the person does not retype it.
    expect(inputValue(inputNamed(failed.html, 'username'))).toBe(user.username);
  });

  test('login_hint pre-fills the username (OIDC Core §3.1.2.1)', async () => {
    const ua = browser();
    const login = await page(ua, authUrl(client, { login_hint: 'hinted.person@example.com' }));
    expect(inputValue(inputNamed(login.html, 'username'))).toBe('hinted.person@example.com');
  });

  test('ui_locales=zh-TW renders the page in Traditional Chinese with html lang="zh-TW" (OIDC Core §3.1.2.1)', async () => {
    const ua = browser();
    const login = await page(ua, authUrl(client, { ui_locales: 'zh-TW' }));
    expect(htmlLang(login.html)).toBe('zh-TW');
    expect(login.html).toContain('<h1>登入</h1>');
    expect(login.html).toContain('使用者名稱');
    expect(login.html).toContain('密碼');
    expect(login.html).not.toContain('Sign in');
    // A failed attempt stays in the same language.
    const failed = (await ua.submit(login, '/login', {
      username: user.username,
      password: 'wrong-password-1',
    })) as Page;
    expect(htmlLang(failed.html)).toBe('zh-TW');
    expect(alertOf(failed.html)).toBe('使用者名稱或密碼錯誤。');
  });

  test('a browser sending Accept-Language: zh-TW gets Traditional Chinese without ui_locales', async () => {
    const ua = browser({ 'accept-language': 'zh-TW,zh;q=0.9,en;q=0.5' });
    const login = await page(ua, authUrl(client));
    expect(htmlLang(login.html)).toBe('zh-TW');
    expect(login.html).toContain('<h1>登入</h1>');
  });

  test('with neither ui_locales nor Accept-Language the page is English', async () => {
    const ua = browser();
    const login = await page(ua, authUrl(client));
    expect(htmlLang(login.html)).toBe('en');
    expect(login.html).toContain('<h1>Sign in</h1>');
    expect(login.html).toContain('to continue to Acme Photo Printer');
    expect(login.html).not.toContain('登入');
  });
});

describe('consent page', () => {
  test('names the client and says what each requested scope allows, in plain words', async () => {
    const ua = browser();
    const login = await page(ua, authUrl(client, { scope: 'openid profile email buy' }));
    const consent = (await ua.submit(login, '/login', { username: user.username, password: user.password })) as Page;
    expect(isPage(consent)).toBe(true);
    expect(consent.html).toContain('Acme Photo Printer wants to:');
    const items = [...consent.html.matchAll(/<li>([^<]*)<\/li>/g)].map((m) => decode(m[1]!));
    expect(items).toEqual(
      expect.arrayContaining([
        'Know who you are (your account identifier)',
        'Read your profile: your name, username and server ID',
        'Read your e-mail address',
        'Buy items on your behalf',
      ]),
    );
    // No bare scope tokens in place of words.
    for (const token of ['openid', 'profile', 'email', 'buy']) expect(items).not.toContain(token);
    expect(consent.html).toContain(`Signed in as ${user.username}`);
    expect(findForm(consent.html, '/confirm').hidden.csrf).toMatch(/^[\w-]{43}$/);
    expect(findForm(consent.html, '/abort').hidden.csrf).toMatch(/^[\w-]{43}$/);
  });

  test('"Deny" sends the client error=access_denied with its state at its redirect URI (RFC 6749 §4.1.2.1)', async () => {
    const ua = browser();
    const u = await server.user();
    const { callback, shown } = await authorize(ua, authUrl(client, { state: 'deny-state-42' }), {
      ...u,
      consent: 'deny',
    });
    expect(shown).toEqual(['login', 'consent']);
    expect(callback.origin + callback.pathname).toBe(REDIRECT);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe('deny-state-42');
    expect(callback.searchParams.get('code')).toBeNull();
  });
});

describe('remembered consent and prompts', () => {
  test('a second authorization for the same client and scopes in the same session shows no page', async () => {
    const ua = browser();
    const u = await server.user();
    const first = await authorize(ua, authUrl(client), { ...u, consent: 'allow' });
    expect(first.shown).toEqual(['login', 'consent']);
    const second = await authorize(ua, authUrl(client, { state: 'again' }));
    expect(second.shown).toEqual([]);
    expect(second.callback.searchParams.get('code')).toBeTruthy();
    expect(second.callback.searchParams.get('state')).toBe('again');
  });

  test('after signing in again in a new session, consent is not asked again for the same scopes, but is for a new scope', async () => {
    const u = await server.user();
    const first = await authorize(browser(), authUrl(client, { scope: 'openid profile' }), { ...u, consent: 'allow' });
    expect(first.shown).toEqual(['login', 'consent']);

    // A new browser: new session, same person, same client, same scopes.
    const ua = browser();
    const again = await authorize(ua, authUrl(client, { scope: 'openid profile' }), u);
    expect(again.shown).toEqual(['login']);
    expect(again.callback.searchParams.get('code')).toBeTruthy();

    // Same session, one more scope: only the consent page, which asks for the new one.
    const consent = await page(ua, authUrl(client, { scope: 'openid profile email' }));
    expect(consent.html).toContain('/confirm"');
    expect(consent.html).toContain('Read your e-mail address');
    expect(consent.html).not.toContain('Know who you are');
    const done = await ua.submit(consent, '/confirm');
    expect(isPage(done)).toBe(false);
    expect(new URL((done as { redirect: string }).redirect).searchParams.get('code')).toBeTruthy();

    // And the widened grant is remembered too.
    const fourth = await authorize(browser(), authUrl(client, { scope: 'openid profile email' }), u);
    expect(fourth.shown).toEqual(['login']);
  });

  test('prompt=login shows the login page even with a session (OIDC Core §3.1.2.1)', async () => {
    const ua = browser();
    const u = await server.user();
    await authorize(ua, authUrl(client), { ...u, consent: 'allow' });
    const { shown, callback } = await authorize(ua, authUrl(client, { prompt: 'login' }), u);
    expect(shown).toEqual(['login']);
    expect(callback.searchParams.get('code')).toBeTruthy();
  });

  test('max_age=1 after more than a second asks to sign in again and the id_token carries the new auth_time (OIDC Core §3.1.2.1, §2)', async () => {
    const ua = browser();
    const u = await server.user();
    const first = await authorize(ua, authUrl(client, { max_age: '1', nonce: 'n-1' }), { ...u, consent: 'allow' });
    const t1 = claimsOf((await exchange(client, first.callback.searchParams.get('code')!)).id_token);
    expect(t1.sub).toBe(u.id);
    expect(t1.nonce).toBe('n-1');
    expect(typeof t1.auth_time).toBe('number');

    travel(2.1);
    const second = await authorize(ua, authUrl(client, { max_age: '1', nonce: 'n-2' }), u);
    expect(second.shown).toEqual(['login']);
    const t2 = claimsOf((await exchange(client, second.callback.searchParams.get('code')!)).id_token);
    expect(t2.nonce).toBe('n-2');
    expect(t2.auth_time as number).toBeGreaterThanOrEqual((t1.auth_time as number) + 2);
    expect(Math.abs((t2.auth_time as number) - Date.now() / 1000)).toBeLessThan(10);
  });

  test('prompt=none with a session and consent returns a code without showing any page (OIDC Core §3.1.2.1)', async () => {
    const ua = browser();
    const u = await server.user();
    await authorize(ua, authUrl(client), { ...u, consent: 'allow' });
    const callback = await redirected(ua, authUrl(client, { prompt: 'none', state: 'silent' }));
    expect(callback.origin + callback.pathname).toBe(REDIRECT);
    expect(callback.searchParams.get('code')).toBeTruthy();
    expect(callback.searchParams.get('state')).toBe('silent');
    expect(callback.searchParams.get('error')).toBeNull();
  });

  test('prompt=none without a session answers login_required at the redirect URI (OIDC Core §3.1.2.6)', async () => {
    const callback = await redirected(browser(), authUrl(client, { prompt: 'none', state: 's0' }));
    expect(callback.origin + callback.pathname).toBe(REDIRECT);
    expect(callback.searchParams.get('error')).toBe('login_required');
    expect(callback.searchParams.get('state')).toBe('s0');
  });

  test('prompt=consent shows the consent page again although consent was given (OIDC Core §3.1.2.1)', async () => {
    const ua = browser();
    const u = await server.user();
    await authorize(ua, authUrl(client), { ...u, consent: 'allow' });
    const { shown, callback } = await authorize(ua, authUrl(client, { prompt: 'consent' }), { consent: 'allow' });
    expect(shown).toEqual(['consent']);
    expect(callback.searchParams.get('code')).toBeTruthy();
  });
});

describe('CSRF and stale interactions', () => {
  test('posting the login form with a wrong or missing csrf field is refused with 403 and does not sign in (RFC 9700 §4.4.1.8)', async () => {
    const ua = browser();
    const u = await server.user();
    const login = await page(ua, authUrl(client));
    const { action, hidden } = findForm(login.html, '/login');
    expect(hidden.csrf).toMatch(/^[\w-]{43}$/);

    const wrong = await ua.request(action, {
      method: 'POST',
      body: new URLSearchParams({
        csrf: `${hidden.csrf!.slice(0, -1)}${hidden.csrf!.endsWith('A') ? 'B' : 'A'}`,
        username: u.username,
        password: u.password,
      }),
    });
    expect(wrong.status).toBe(403);
    expect(wrong.headers.get('location')).toBeNull();
    const wrongHtml = await wrong.text();
    expect(wrongHtml).toContain('This form was not submitted from this page');

    const missing = await ua.request(action, {
      method: 'POST',
      body: new URLSearchParams({ username: u.username, password: u.password }),
    });
    expect(missing.status).toBe(403);
    expect(missing.headers.get('location')).toBeNull();
    await missing.arrayBuffer();

    // Still not signed in: the interaction still asks for the login, and a
    // silent request says login_required.
    const still = await page(ua, action.replace(/\/login$/, ''));
    expect(still.status).toBe(200);
    expect(inputNamed(still.html, 'password')).toBeDefined();
    const silent = await redirected(ua, authUrl(client, { prompt: 'none' }));
    expect(silent.searchParams.get('error')).toBe('login_required');
  });

  test('posting to an unknown interaction shows our error page with 400, not a 500', async () => {
    const ua = browser();
    const res = await ua.request('/interaction/this-interaction-does-not-exist/login', {
      method: 'POST',
      body: new URLSearchParams({ csrf: 'x', username: user.username, password: user.password }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('This sign-in page has expired or was already used');
    expect(html).not.toMatch(STACK);

    const get = await ua.request('/interaction/this-interaction-does-not-exist');
    expect(get.status).toBe(400);
    expect(await get.text()).toContain('This sign-in page has expired or was already used');
  });

  test('re-submitting a login form whose interaction already finished shows our error page with 400, not a 500', async () => {
    const ua = browser();
    const u = await server.user();
    const login = await page(ua, authUrl(client));
    const consent = (await ua.submit(login, '/login', { username: u.username, password: u.password })) as Page;
    const done = await ua.submit(consent, '/confirm');
    expect(isPage(done)).toBe(false);

    // The back button, then "Sign in" again; and the consent form again.
    for (const [old, suffix, fields] of [
      [login, '/login', { username: u.username, password: u.password }],
      [consent, '/confirm', {}],
    ] as const) {
      const again = await ua.submit(old, suffix, fields);
      expect(isPage(again)).toBe(true);
      expect((again as Page).status).toBe(400);
      expect((again as Page).html).toContain('This sign-in page has expired or was already used');
      expect((again as Page).html).not.toMatch(STACK);
    }
  });

  test('an authorization request with an unregistered redirect_uri gets an explanatory page, no redirect and no stack trace (RFC 6749 §3.1.2.4)', async () => {
    const ua = browser();
    const res = await ua.request(authUrl(client, { redirect_uri: 'https://evil.example/steal' }));
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('The address the application asked to return to is not one it registered.');
    expect(html).toContain('invalid_redirect_uri');
    expect(htmlLang(html)).toBe('en');
    expect(html).not.toMatch(STACK);
  });
});

describe('RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0)', () => {
  async function signedIn(ua: UserAgent, u: User): Promise<string> {
    const { callback } = await authorize(ua, authUrl(client), { ...u, consent: 'allow' });
    const tokens = await exchange(client, callback.searchParams.get('code')!);
    return String(tokens.id_token);
  }

  test('id_token_hint + registered post_logout_redirect_uri: our confirmation page, then "yes" returns there with state, and the session is gone (§2, §3)', async () => {
    const ua = browser();
    const u = await server.user();
    const idToken = await signedIn(ua, u);

    const logoutUrl = `/oauth/logout?${new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: LOGGED_OUT, state: 'bye-123' })}`;
    const confirm = await page(ua, logoutUrl);
    expect(confirm.status).toBe(200);
    // Our pug layout and words around the library's form.
    expect(htmlLang(confirm.html)).toBe('en');
    expect(confirm.html).toContain('<link rel="stylesheet" href="/static/app.css">');
    expect(confirm.html).toContain('<h1>Sign out</h1>');
    expect(confirm.html).toContain(`Do you want to sign out of ${new URL(server.issuer).host}?`);
    expect(confirm.html).toContain('id="op.logoutForm"');
    expect(confirm.html).toMatch(/<button[^>]*form="op\.logoutForm"[^>]*name="logout"[^>]*value="yes"/);
    const form = findForm(confirm.html, '/oauth/logout/confirm');
    expect(form.hidden.xsrf).toBeTruthy();

    const done = await ua.submit(confirm, '/oauth/logout/confirm', { logout: 'yes' });
    expect(isPage(done)).toBe(false);
    const back = new URL((done as { redirect: string }).redirect);
    expect(back.origin + back.pathname).toBe(LOGGED_OUT);
    expect(back.searchParams.get('state')).toBe('bye-123');

    // OIDC Core §3.1.2.6: no session any more.
    const silent = await redirected(ua, authUrl(client, { prompt: 'none', state: 'after-logout' }));
    expect(silent.searchParams.get('error')).toBe('login_required');
    expect(silent.searchParams.get('state')).toBe('after-logout');
  });

  test('the logout form without its xsrf field does not sign out', async () => {
    const ua = browser();
    const u = await server.user();
    const idToken = await signedIn(ua, u);
    const confirm = await page(
      ua,
      `/oauth/logout?${new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: LOGGED_OUT })}`,
    );
    const { action } = findForm(confirm.html, '/oauth/logout/confirm');
    const forged = await ua.request(action, { method: 'POST', body: new URLSearchParams({ logout: 'yes' }) });
    expect(forged.status).toBe(400);
    expect(forged.headers.get('location')).toBeNull();
    expect(await forged.text()).not.toMatch(STACK);
    const silent = await redirected(ua, authUrl(client, { prompt: 'none' }));
    expect(silent.searchParams.get('code')).toBeTruthy();
  });

  test('an unregistered post_logout_redirect_uri is not redirected to (§3.1: it must be registered)', async () => {
    const ua = browser();
    const u = await server.user();
    const idToken = await signedIn(ua, u);
    const res = await ua.request(
      `/oauth/logout?${new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: 'https://evil.example/after', state: 's' })}`,
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    const html = await res.text();
    expect(html).not.toContain('https://evil.example/after"');
    expect(html).not.toContain('op.logoutForm');
    expect(html).toContain('<h1>Something went wrong</h1>');
    expect(html).not.toMatch(STACK);
    // And the person is still signed in.
    const silent = await redirected(ua, authUrl(client, { prompt: 'none' }));
    expect(silent.searchParams.get('code')).toBeTruthy();
  });
});

test('every cookie set during sign-in, consent and logout is HttpOnly and SameSite', async () => {
  const ua = new RecordingAgent(server.issuer, BROWSER);
  const u = await server.user();
  const login = await page(ua, authUrl(client));
  await ua.submit(login, '/login', { username: u.username, password: 'wrong-password-1' }); // a failed try re-renders the page
  const again = await page(ua, login.url);
  const consent = (await ua.submit(again, '/login', { username: u.username, password: u.password })) as Page;
  const done = await ua.submit(consent, '/confirm');
  const code = new URL((done as { redirect: string }).redirect).searchParams.get('code')!;
  const idToken = String((await exchange(client, code)).id_token);
  const confirm = await page(
    ua,
    `/oauth/logout?${new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: LOGGED_OUT })}`,
  );
  await ua.submit(confirm, '/oauth/logout/confirm', { logout: 'yes' });

  const names = new Set(ua.setCookies.map((c) => c.line.split('=')[0]));
  // The library's interaction and session cookies and our CSRF cookie were all seen.
  for (const name of ['_interaction', '_interaction_resume', '_session', '_interaction_csrf'])
    expect(names).toContain(name);
  const offenders = ua.setCookies.filter(
    ({ line }) => !/;\s*httponly\b/i.test(line) || !/;\s*samesite=(lax|strict)\b/i.test(line),
  );
  expect(offenders).toEqual([]);
});
