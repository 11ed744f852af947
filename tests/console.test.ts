// The developer console at / over real HTTP, as a browser would use it
// (cookies, forms, redirects): sign-up and sign-in, creating, editing,
// re-keying and deleting clients, and what one account may do to another's.
// The clients it makes are then used as any application would use them.
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, findForm, isPage, decode, authorize } from './helpers/user-agent.js';
import {
  CODE_CLIENT,
  createClient,
  csrfIn,
  formBody,
  pageAt as page,
  signedUp as signedUpAt,
} from './helpers/console.js';
import { postForm, STACK } from './helpers/http.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer({ LOGIN_MAX_FAILURES_PER_USER: '3' });
});
afterAll(() => server?.close());

/** The console's form token, as the page at `path` hands it out. */
const csrfOf = async (ua: UserAgent, path = '/') => csrfIn((await page(ua, path)).html);
let n = 0;
const signedUp = (lang = 'en') => signedUpAt(server.issuer, { lang });

function clientCredentials(clientId: string, secret: string) {
  return postForm(
    `${server.issuer}/oauth/token`,
    { client_id: clientId, client_secret: secret },
    {
      grant_type: 'client_credentials',
      scope: 'buy',
    },
  );
}

describe('signing up and in', () => {
  test('/ is a page, not JSON: the console home with a sign-in form and a sign-up link, in English or 繁體中文', async () => {
    const en = await page(new UserAgent(server.issuer, { 'accept-language': 'en-US' }), '/');
    expect(en.status).toBe(200);
    expect(en.headers.get('content-type')).toMatch(/^text\/html/);
    expect(en.html).toContain('<html lang="en">');
    expect(en.html).toContain('Developer console');
    expect(findForm(en.html, '/console/sign-in').hidden.csrf).toMatch(/^[\w-]{43}$/);
    expect(en.html).toContain('href="/console/sign-up"');

    const zh = await page(new UserAgent(server.issuer, { 'accept-language': 'zh-TW,zh;q=0.9' }), '/');
    expect(zh.html).toContain('<html lang="zh-TW">');
    expect(zh.html).toContain('開發者主控台');
  });

  test('signing up signs you in with a session cookie that is HttpOnly and SameSite=Lax, and not readable by scripts', async () => {
    const ua = new UserAgent(server.issuer);
    const signUp = await page(ua, '/console/sign-up');
    const form = findForm(signUp.html, '/console/sign-up');
    const res = await ua.request('/console/sign-up', {
      method: 'POST',
      body: new URLSearchParams({ ...form.hidden, username: `new${++n}`, password: 'long enough pw' }),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('console_session='));
    expect(cookie).toMatch(/httponly/i);
    expect(cookie).toMatch(/samesite=lax/i);
    // Plain HTTP here: Secure would make the browser drop it (behind TLS it is set: tests below).
    expect(cookie).not.toMatch(/secure/i);
    expect((await page(ua, '/')).html).toContain('You have no clients yet.');
  });

  test('a taken username, a short password, a bad e-mail: the form again with the reason, nothing created', async () => {
    const { username } = await signedUp();
    const before = await server.prepared.accounts.count();
    const cases: [Record<string, string>, number, string][] = [
      [{ username, password: 'long enough pw' }, 409, 'This username is taken.'],
      [{ username: `x${++n}`, password: 'short' }, 400, 'The password needs 8 to 1024 characters.'],
      [{ username: 'has space', password: 'long enough pw' }, 400, 'Choose a username'],
      [{ username: `y${++n}`, password: 'long enough pw', email: 'nope' }, 400, 'This is not an e-mail address.'],
    ];
    for (const [fields, status, message] of cases) {
      const ua = new UserAgent(server.issuer);
      const res = await ua.submit(await page(ua, '/console/sign-up'), '/console/sign-up', fields);
      if (!isPage(res)) throw new Error('redirected');
      expect(res.status).toBe(status);
      expect(res.html).toContain(message);
      expect(res.html).toContain('<form method="post" action="/console/sign-up"');
    }
    expect(await server.prepared.accounts.count()).toBe(before);
  });

  test('signing in with the right password shows your clients; a wrong one says so with 401', async () => {
    const user = await server.user();
    const ua = new UserAgent(server.issuer);
    const wrong = await ua.submit(await page(ua, '/'), '/console/sign-in', {
      username: user.username,
      password: 'nope',
    });
    if (!isPage(wrong)) throw new Error('redirected');
    expect(wrong.status).toBe(401);
    expect(wrong.html).toContain('Wrong username or password.');
    const right = await ua.submit(wrong, '/console/sign-in', { username: user.username, password: user.password });
    if (!isPage(right)) throw new Error('redirected');
    expect(right.html).toContain('Your clients');
    expect(right.html).toContain(`Signed in as ${user.username}`);
  });

  test('console sign-in counts on the provider’s own limits: after LOGIN_MAX_FAILURES_PER_USER failures, 429 even with the right password', async () => {
    const user = await server.user();
    const ua = new UserAgent(server.issuer);
    for (let i = 0; i < 3; i++) {
      const res = await ua.submit(await page(ua, '/'), '/console/sign-in', {
        username: user.username,
        password: 'bad',
      });
      expect(isPage(res) && res.status).toBe(401);
    }
    const locked = await ua.submit(await page(ua, '/'), '/console/sign-in', {
      username: user.username,
      password: user.password,
    });
    if (!isPage(locked)) throw new Error('redirected');
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(locked.html).toContain('Too many failed sign-ins.');
  });

  test('signing out ends the session on the server: the old cookie no longer signs anyone in', async () => {
    const { ua } = await signedUp();
    const stolen = new Map(ua.cookies);
    const home = await page(ua, '/');
    const out = await ua.submit(home, '/console/sign-out');
    expect(isPage(out) && out.html).toContain('action="/console/sign-in"');
    const replay = new UserAgent(server.issuer);
    for (const [k, v] of stolen) replay.cookies.set(k, v);
    expect((await page(replay, '/')).html).toContain('action="/console/sign-in"');
    expect((await replay.request('/console/clients/new')).status).toBe(302);
  });

  test('behind TLS (X-Forwarded-Proto with TRUST_PROXY) the session cookie is also Secure', async () => {
    const tls = await startServer({ TRUST_PROXY: 'true' });
    try {
      const ua = new UserAgent(tls.issuer, { 'x-forwarded-proto': 'https' });
      const form = findForm((await page(ua, '/console/sign-up')).html, '/console/sign-up');
      const res = await ua.request('/console/sign-up', {
        method: 'POST',
        body: new URLSearchParams({ ...form.hidden, username: 'tlsuser', password: 'long enough pw' }),
      });
      const cookie = res.headers.getSetCookie().find((c) => c.startsWith('console_session='));
      expect(cookie).toMatch(/;\s*secure/i);
      expect(cookie).toMatch(/httponly/i);
      expect(cookie).toMatch(/samesite=lax/i);
    } finally {
      await tls.close();
    }
  });

  test('with CONSOLE_SIGN_UP=false there is no sign-up: no link, and the page and its form answer 404 pages', async () => {
    const closed = await startServer({ CONSOLE_SIGN_UP: 'false' });
    try {
      const ua = new UserAgent(closed.issuer);
      const home = await page(ua, '/');
      expect(home.html).not.toContain('/console/sign-up');
      const get = await page(ua, '/console/sign-up');
      expect(get.status).toBe(404);
      expect(get.html).toContain('Creating accounts here is closed');
      const csrf = findForm(home.html, '/console/sign-in').hidden.csrf ?? '';
      const post = await ua.request('/console/sign-up', {
        method: 'POST',
        body: new URLSearchParams({ csrf, username: 'sneaky', password: 'long enough pw' }),
      });
      expect(post.status).toBe(404);
      expect(await closed.prepared.accounts.count()).toBe(0);
    } finally {
      await closed.close();
    }
  });
});

describe('clients', () => {
  test('a client made on the page does the seed’s code flow: its id and secret shown once, then code, token and /api/me', async () => {
    const { ua, username, password } = await signedUp();
    const { shown, clientId, secret } = await createClient(ua);
    expect(shown.html).toContain('Copy it now: it is shown this once.');
    expect(clientId).toMatch(/^[\w-]{20,}$/);
    expect(secret).toMatch(/^[\w-]{43}$/);

    // Reloading the page does not show the secret again.
    const again = await page(ua, `/console/clients/${clientId}`);
    expect(again.html).toContain(clientId);
    expect(again.html).not.toContain(secret!);

    // It is listed on the home page.
    expect((await page(ua, '/')).html).toContain(`/console/clients/${clientId}`);

    // The seed's quick start with it (the person is signed in to the console, not to the provider).
    const browser = new UserAgent(server.issuer);
    const { callback } = await authorize(
      browser,
      `${server.issuer}/oauth/authorize?response_type=code&client_id=${clientId}&scope=profile%20buy%20buy_history&state=s1`,
      { username, password },
    );
    expect(callback.origin + callback.pathname).toBe('http://127.0.0.1:9999/cb');
    const token = await postForm(
      `${server.issuer}/oauth/token`,
      { client_id: clientId, client_secret: secret },
      {
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code') ?? '',
      },
    );
    expect(token.status).toBe(200);
    expect(token.body.scope).toBe('profile buy buy_history');
    const me = await fetch(`${server.issuer}/api/me`, {
      headers: { authorization: `Bearer ${token.body.access_token}` },
    });
    expect(((await me.json()) as { username: string }).username).toBe(username);
  });

  test.each([
    ['javascript:alert(1)', 'This scheme cannot receive a redirect: javascript:alert(1)'],
    [
      'https://app.example/cb#frag',
      'A redirect URI may not contain a # fragment (RFC 6749 §3.1.2): https://app.example/cb#frag',
    ],
    ['not a uri', 'Not an absolute URI: not a uri'],
    [
      'http://app.example/cb',
      'Plain http is allowed only to this machine (127.0.0.1, localhost) or to this server; use https: http://app.example/cb',
    ],
  ])('redirect URI %s is refused with a message next to the field, and nothing is created', async (uri, message) => {
    const { ua } = await signedUp();
    const { shown, clientId } = await createClient(ua, { ...CODE_CLIENT, redirect_uris: uri });
    expect(shown.status).toBe(400);
    expect(clientId).toBe('');
    // Next to the textarea, tied to it for screen readers, the value kept for correcting.
    const field =
      /<textarea id="redirect_uris"[^>]*>([^<]*)<\/textarea>(?:<p[^>]*>[^<]*<\/p>)?<p class="error" role="alert" id="redirectUris-error">([^<]*)</.exec(
        shown.html,
      );
    expect(field && decode(field[1] ?? '')).toBe(uri);
    expect(field && decode(field[2] ?? '')).toBe(message);
    expect(shown.html).toMatch(/aria-invalid="true"[^>]*>|id="redirect_uris"[^>]*aria-invalid="true"/);
    expect((await page(ua, '/')).html).toContain('You have no clients yet.');
  });

  test('the same refusal in 繁體中文 for a reader who prefers it', async () => {
    const { ua } = await signedUp('zh-TW');
    const { shown } = await createClient(ua, { ...CODE_CLIENT, redirect_uris: 'https://app.example/cb#x' });
    expect(shown.status).toBe(400);
    expect(decode(shown.html)).toContain('重新導向 URI 不可含 # 片段（RFC 6749 §3.1.2）：https://app.example/cb#x');
  });

  test('the command line and the console refuse the same values: one client service holds the rules', async () => {
    await expect(server.client({ redirectUris: ['javascript:alert(1)'] })).rejects.toThrow(
      'redirect_uris: "javascript:alert(1)": the javascript: scheme cannot receive a redirect',
    );
    await expect(server.client({ redirectUris: ['https://a.example/cb#x'] })).rejects.toThrow(
      'may not have a fragment',
    );
    await expect(server.client({ postLogoutRedirectUris: ['http://a.example/bye'] })).rejects.toThrow(
      'post_logout_redirect_uris: "http://a.example/bye": plain http is allowed only to this machine',
    );
    // Plain http to this machine, or to this server itself (here on http), is a development setup: allowed.
    for (const uri of [
      'http://127.0.0.1:8080/cb',
      'http://localhost/cb',
      'http://[::1]:3000/cb',
      `${server.issuer}/console/callback`,
    ])
      await expect(server.client({ redirectUris: [uri] })).resolves.toMatchObject({ redirect_uris: [uri] });
  });

  test('the grant types stored are the ones in force: `code` brings authorization_code, which nothing else keeps', async () => {
    const { ua } = await signedUp();
    const { clientId, shown } = await createClient(ua, {
      ...CODE_CLIENT,
      grant_types: ['client_credentials'],
      response_types: ['code'],
    });
    expect(clientId).not.toBe('');
    expect(shown.html).toContain('<code>client_credentials authorization_code</code>');
    const none = await createClient(ua, {
      ...CODE_CLIENT,
      grant_types: ['authorization_code', 'client_credentials'],
      response_types: [],
    });
    // No response type: the form's default, code, as before; then authorization_code stays.
    expect(none.shown.html).toContain('<code>authorization_code client_credentials</code>');
  });

  test('editing redirect URIs and scopes takes effect at the authorization endpoint at once', async () => {
    const { ua, username, password } = await signedUp();
    const { clientId, secret } = await createClient(ua);
    const csrf = await csrfOf(ua, `/console/clients/${clientId}`);
    const saved = await page(ua, `/console/clients/${clientId}`, {
      method: 'POST',
      body: formBody(csrf, {
        name: 'Renamed',
        redirect_uris: 'http://127.0.0.1:9999/new',
        scope: ['openid', 'profile'],
      }),
    });
    expect(saved.html).toContain('Saved.');
    expect(saved.html).toContain('<h1>Renamed</h1>');

    const browser = new UserAgent(server.issuer);
    // The old redirect URI is no longer registered: an error page, no redirect.
    const old = await browser.navigate(
      `/oauth/authorize?response_type=code&client_id=${clientId}&scope=profile&redirect_uri=${encodeURIComponent('http://127.0.0.1:9999/cb')}`,
    );
    expect(isPage(old) && old.status).toBe(400);
    // buy is no longer among its scopes: asking for it is refused (RFC 6749 §4.1.2.1).
    const refused = await authorize(
      browser,
      `${server.issuer}/oauth/authorize?response_type=code&client_id=${clientId}&scope=profile%20buy&state=s`,
      { username, password },
    );
    expect(refused.callback.searchParams.get('error')).toBe('invalid_scope');
    const { callback } = await authorize(
      browser,
      `${server.issuer}/oauth/authorize?response_type=code&client_id=${clientId}&scope=profile&state=s`,
      { username, password },
    );
    expect(callback.origin + callback.pathname).toBe('http://127.0.0.1:9999/new');
    const token = await postForm(
      `${server.issuer}/oauth/token`,
      { client_id: clientId, client_secret: secret },
      {
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code') ?? '',
      },
    );
    expect([token.status, token.body.scope]).toEqual([200, 'profile']);
  });

  test('a new secret replaces the old one at once: the old one answers invalid_client, the new one gets a token', async () => {
    const { ua } = await signedUp();
    const { clientId, secret } = await createClient(ua, {
      ...CODE_CLIENT,
      grant_types: ['client_credentials'],
      response_types: [],
    });
    expect((await clientCredentials(clientId, secret!)).status).toBe(200);
    const rotated = await ua.submit(
      await page(ua, `/console/clients/${clientId}`),
      `/console/clients/${clientId}/secret`,
    );
    if (!isPage(rotated)) throw new Error('redirected');
    const fresh = decode(/id="client-secret">([^<]*)</.exec(rotated.html)?.[1] ?? '');
    expect(fresh).toMatch(/^[\w-]{43}$/);
    expect(fresh).not.toBe(secret);
    const old = await clientCredentials(clientId, secret!);
    expect(old.status).toBe(401);
    expect(old.body.error).toBe('invalid_client');
    expect((await clientCredentials(clientId, fresh)).status).toBe(200);
  });

  test('deleting a client asks first, then the client is gone: its page 404s and it can no longer authenticate', async () => {
    const { ua } = await signedUp();
    const { clientId, secret } = await createClient(ua, {
      ...CODE_CLIENT,
      grant_types: ['client_credentials'],
      response_types: [],
    });
    const confirm = await page(ua, `/console/clients/${clientId}/delete`);
    expect(confirm.html).toContain('This cannot be undone.');
    const after = await ua.submit(confirm, `/console/clients/${clientId}/delete`);
    expect(isPage(after) && after.html).toContain('You have no clients yet.');
    expect((await page(ua, `/console/clients/${clientId}`)).status).toBe(404);
    expect((await clientCredentials(clientId, secret!)).body.error).toBe('invalid_client');
  });
});

describe('one account, its own clients only', () => {
  test('another account sees, edits, re-keys and deletes none of my clients, even with forged ids and its own valid form token', async () => {
    const me = await signedUp();
    const { clientId, secret } = await createClient(me.ua, {
      ...CODE_CLIENT,
      grant_types: ['client_credentials'],
      response_types: [],
    });
    const other = await signedUp();
    expect((await page(other.ua, '/')).html).not.toContain(clientId);
    const csrf = await csrfOf(other.ua, '/');
    const attempts: [string, string, URLSearchParams | undefined][] = [
      ['GET', `/console/clients/${clientId}`, undefined],
      ['GET', `/console/clients/${clientId}/delete`, undefined],
      [
        'POST',
        `/console/clients/${clientId}`,
        formBody(csrf, { name: 'hijacked', redirect_uris: 'https://evil.example/cb' }),
      ],
      ['POST', `/console/clients/${clientId}/secret`, new URLSearchParams({ csrf })],
      ['POST', `/console/clients/${clientId}/delete`, new URLSearchParams({ csrf })],
    ];
    for (const [method, path, body] of attempts) {
      const res = await other.ua.request(path, { method, body });
      expect([method, path, res.status]).toEqual([method, path, 404]);
      const html = await res.text();
      expect(html).toContain('There is no such client among yours.');
      // Nothing of the client shows: not its name, not its settings.
      expect(html).not.toContain('My shop');
      expect(html).not.toContain('id="client-id"');
    }
    // Untouched: same name, same secret still works.
    const mine = await page(me.ua, `/console/clients/${clientId}`);
    expect(mine.html).toContain('<h1>My shop</h1>');
    expect((await clientCredentials(clientId, secret!)).status).toBe(200);
  });

  test('a client made by the command line belongs to no console account: no one sees it', async () => {
    const cli = await server.client({ name: 'From the CLI' });
    const { ua } = await signedUp();
    expect((await page(ua, '/')).html).not.toContain(cli.client_id);
    expect((await ua.request(`/console/clients/${cli.client_id}`)).status).toBe(404);
  });

  test('without signing in, client pages send you to the sign-in page', async () => {
    const ua = new UserAgent(server.issuer);
    for (const path of ['/console/clients/new', '/console/clients/anything']) {
      const res = await ua.request(path);
      expect([path, res.status, res.headers.get('location')]).toEqual([path, 302, '/']);
    }
  });
});

describe('forms and failures', () => {
  test('a form sent without the console’s token, or with another browser’s, is refused with 403 and changes nothing', async () => {
    const { ua } = await signedUp();
    const other = await signedUp();
    const foreign = await csrfOf(other.ua, '/');
    for (const csrf of ['', foreign.slice(0, 42) + (foreign.endsWith('A') ? 'B' : 'A')]) {
      const res = await ua.request('/console/clients', { method: 'POST', body: formBody(csrf, CODE_CLIENT) });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('This form was not sent from this site');
    }
    expect((await page(ua, '/')).html).toContain('You have no clients yet.');
  });

  test('a NUL in a client id or a username (which PostgreSQL cannot compare) is an unknown client or a wrong password, not a 500', async () => {
    const { ua } = await signedUp();
    const client = await ua.request('/console/clients/a%00b');
    expect(client.status).toBe(404);
    expect(await client.text()).toContain('There is no such client among yours.');
    const stranger = new UserAgent(server.issuer);
    const signIn = await stranger.submit(await page(stranger, '/'), '/console/sign-in', {
      username: 'a\u0000b',
      password: 'whatever it is',
    });
    expect(isPage(signIn) && [signIn.status, signIn.html.includes('Wrong username or password.')]).toEqual([401, true]);
  });

  test('unknown console paths, wrong methods and oversized forms answer HTML pages, never JSON or a stack trace', async () => {
    const { ua } = await signedUp('zh-TW');
    const cases: [string, string, URLSearchParams | undefined, number][] = [
      ['GET', '/console/nope', undefined, 404],
      ['POST', '/', new URLSearchParams({ a: 'b' }), 405],
      ['POST', '/console/clients', new URLSearchParams({ csrf: 'x', name: 'x'.repeat(70_000) }), 413],
    ];
    for (const [method, path, body, status] of cases) {
      const res = await ua.request(path, { method, body });
      const html = await res.text();
      expect([method, path, res.status]).toEqual([method, path, status]);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(html).toContain('<html lang="zh-TW">');
      expect(html).not.toMatch(STACK);
    }
  });
});
