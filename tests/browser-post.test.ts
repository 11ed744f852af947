// A relying party on another site posts its requests to us, in real Chromium:
// its page at http://localhost:<port> auto-submits (an external script, as a
// CSP-respecting RP would) an application/x-www-form-urlencoded form to our
// authorization endpoint (OIDC Core 1.0 §3.1.2.1) and logout endpoint
// (RP-Initiated Logout 1.0 §2) at http://127.0.0.1:<port>. The two hosts are
// different sites, so the POST carries none of our SameSite=Lax cookies; the
// 303 of src/oidc/post-as-get-shim.ts turns it into a top-level GET, which does.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { launchChromium } from './helpers/chromium.js';
import { ROUTES } from '../src/routes.js';
import { startServer, type TestServer } from './helpers/server.js';
import { basic } from './helpers/http.js';

let server: TestServer;
let browser: Browser;
let rp: Server;
let rpOrigin: string;
let client: { client_id: string; client_secret?: string };
let user: { username: string; password: string };

/** The forms the RP's pages submit, by page path. */
const forms = new Map<string, { action: string; fields: Record<string, string> }>();
const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** The relying party's site: form pages, the script that submits them, and its callback pages. */
function startRelyingParty(): Promise<Server> {
  const srv = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const form = forms.get(url.pathname);
    if (form) {
      const inputs = Object.entries(form.fields).map(
        ([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`,
      );
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(
        `<!doctype html><html lang="en"><title>RP</title><form id="f" method="post" action="${escapeHtml(form.action)}">${inputs.join('')}` +
          '<button type="submit">Continue</button></form><script src="/submit.js"></script></html>',
      );
    } else if (url.pathname === '/submit.js') {
      res.setHeader('content-type', 'text/javascript');
      res.end("document.getElementById('f').submit();");
    } else if (url.pathname === '/cb' || url.pathname === '/logged-out') {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(
        `<!doctype html><html lang="en"><title>RP</title><h1>Back at the RP</h1><p>${escapeHtml(url.search)}</p></html>`,
      );
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

beforeAll(async () => {
  server = await startServer();
  rp = await startRelyingParty();
  rpOrigin = `http://localhost:${(rp.address() as AddressInfo).port}`;
  client = await server.client({
    name: 'Cross-site RP',
    redirectUris: [`${rpOrigin}/cb`],
    postLogoutRedirectUris: [`${rpOrigin}/logged-out`],
  });
  user = await server.user();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => rp?.close(resolve));
  await server?.close();
});

/** Puts a form on the RP's site and returns the page that submits it. */
function rpPage(path: string, action: string, fields: Record<string, string>): string {
  forms.set(path, { action, fields });
  return `${rpOrigin}${path}`;
}

function authorizationForm(state: string): Record<string, string> {
  return {
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: `${rpOrigin}/cb`,
    scope: 'openid profile',
    state,
    nonce: `n-${state}`,
  };
}

async function exchange(code: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${server.issuer}${ROUTES.oauth.token}`, {
    method: 'POST',
    headers: {
      authorization: basic(client),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: `${rpOrigin}/cb` }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The main-frame navigations to our server, and error statuses or script errors anywhere. */
function watch(page: Page) {
  const navigations: Request[] = [];
  const problems: string[] = [];
  page.on('request', (req) => {
    if (req.isNavigationRequest() && req.frame() === page.mainFrame() && req.url().startsWith(server.issuer))
      navigations.push(req);
  });
  page.on('response', (res) => {
    if (res.status() >= 400 && !res.url().endsWith('/favicon.ico')) problems.push(`${res.status()}: ${res.url()}`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  return { navigations, problems };
}

/** The provider's cookies as Chromium stores them: HttpOnly, and never SameSite=None without Secure. */
async function expectProviderCookiesSafe(context: BrowserContext, mustInclude: string[]) {
  const cookies = await context.cookies(server.issuer);
  for (const name of mustInclude) expect(cookies.map((c) => c.name)).toContain(name);
  const offenders = cookies
    .filter((c) => !c.httpOnly || (c.sameSite === 'None' && !c.secure))
    .map((c) => `${c.name} httpOnly=${c.httpOnly} sameSite=${c.sameSite} secure=${c.secure}`);
  expect(offenders).toEqual([]);
  // Over plain HTTP nothing can be Secure, and nothing needs to be: all are Lax.
  expect(cookies.map((c) => c.sameSite)).toEqual(cookies.map(() => 'Lax'));
}

describe('a cross-site form POST, in Chromium', () => {
  let context: BrowserContext;
  let page: Page;
  let idToken: string;
  beforeAll(async () => {
    context = await browser.newContext({ locale: 'en-US' });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
  });
  afterAll(() => context.close());

  test('to the authorization endpoint without a session: sign in, allow, back at the RP with a code that redeems', async () => {
    const { navigations, problems } = watch(page);
    await page.goto(
      rpPage('/authorize-1', `${server.issuer}${ROUTES.oauth.authorization}`, authorizationForm('cross-1')),
    );
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(new URL(page.url()).pathname).toMatch(/^\/interaction\//);

    // It was a real cross-site POST, followed by the 303's GET.
    const posted = navigations.find(
      (r) => r.method() === 'POST' && new URL(r.url()).pathname === ROUTES.oauth.authorization,
    )!;
    expect(posted).toBeDefined();
    expect((await posted.allHeaders())['sec-fetch-site']).toBe('cross-site');
    expect((await posted.response())?.status()).toBe(303);

    await page.fill('input[name="username"]', user.username);
    await page.fill('input[name="password"]', user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Allow access' }).waitFor();
    await Promise.all([page.waitForURL(`${rpOrigin}/cb?**`), page.getByRole('button', { name: 'Allow' }).click()]);

    const back = new URL(page.url());
    expect(back.searchParams.get('state')).toBe('cross-1');
    expect(back.searchParams.get('iss')).toBe(server.issuer);
    const tokens = await exchange(back.searchParams.get('code')!);
    expect(tokens.status).toBe(200);
    idToken = String(tokens.body.id_token);
    expect(idToken.split('.')).toHaveLength(3);
    expect(problems).toEqual([]);
    await expectProviderCookiesSafe(context, ['_session']);
  });

  test('again, with the session: no login page, straight back to the RP with a code', async () => {
    const { navigations, problems } = watch(page);
    await page.goto(
      rpPage('/authorize-2', `${server.issuer}${ROUTES.oauth.authorization}`, authorizationForm('cross-2')),
    );
    await page.waitForURL(`${rpOrigin}/cb?**`);
    const back = new URL(page.url());
    expect(back.searchParams.get('state')).toBe('cross-2');
    expect((await exchange(back.searchParams.get('code')!)).status).toBe(200);
    expect(navigations.filter((r) => new URL(r.url()).pathname.startsWith('/interaction/'))).toEqual([]);

    // Why the 303 is needed: the cross-site POST carried no Lax session
    // cookie; the top-level GET it was turned into did.
    const posted = navigations.find((r) => r.method() === 'POST')!;
    const followed = navigations.find((r) => r.redirectedFrom() === posted)!;
    expect(followed.method()).toBe('GET');
    expect((await posted.allHeaders()).cookie ?? '').not.toMatch(/(^|; )_session=/);
    expect((await followed.allHeaders()).cookie ?? '').toMatch(/(^|; )_session=/);
    expect(problems).toEqual([]);
    await expectProviderCookiesSafe(context, ['_session']);
  });

  test('to the logout endpoint: the confirmation page, "yes", back at the RP with state, and the session is gone', async () => {
    const { problems } = watch(page);
    await page.goto(
      rpPage('/logout', `${server.issuer}${ROUTES.oauth.end_session}`, {
        id_token_hint: idToken,
        post_logout_redirect_uri: `${rpOrigin}/logged-out`,
        state: 'bye-cross',
      }),
    );
    await page.getByRole('heading', { name: 'Sign out' }).waitFor();
    expect(new URL(page.url()).pathname).toBe(ROUTES.oauth.end_session);
    await Promise.all([
      page.waitForURL(`${rpOrigin}/logged-out?**`),
      page.getByRole('button', { name: 'Yes, sign me out' }).click(),
    ]);
    expect(new URL(page.url()).searchParams.get('state')).toBe('bye-cross');
    expect(problems).toEqual([]);

    expect((await context.cookies(server.issuer)).map((c) => c.name)).not.toContain('_session');
    // OIDC Core §3.1.2.6: prompt=none now finds no session.
    const silent = new URLSearchParams({ ...authorizationForm('after'), prompt: 'none' });
    await page.goto(`${server.issuer}${ROUTES.oauth.authorization}?${silent}`);
    await page.waitForURL(`${rpOrigin}/cb?**`);
    expect(new URL(page.url()).searchParams.get('error')).toBe('login_required');
    await expectProviderCookiesSafe(context, []);
  });
});
