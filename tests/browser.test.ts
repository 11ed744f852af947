// The seed's flow in a real browser (Chromium through playwright-core): a
// person opens the authorization URL, signs in, allows, and sees the code on
// our /demo/callback page; the client then exchanges that code.
import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './helpers/chromium.js';
import { startServer, type TestServer } from './helpers/server.js';
import { basic } from './helpers/http.js';

const SHOTS = '/tmp/shots';

let server: TestServer;
let browser: Browser;
let client: { client_id: string; client_secret?: string };
let user: { username: string; password: string };
let authUrl: string;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  client = await server.client({ name: 'Browser shop', redirectUris: [`${server.issuer}/demo/callback`] });
  user = await server.user();
  authUrl = `${server.issuer}/oauth/authorize?response_type=code&client_id=${client.client_id}&scope=profile buy buy_history&state=unique_state_code`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** A fresh browser profile (no cookies), English, failing fast rather than at jest's timeout. */
async function newContext(options: { javaScriptEnabled?: boolean } = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ locale: 'en-US', ...options });
  context.setDefaultTimeout(10_000);
  return context;
}

/** What a person sees on /demo/callback: the name/value pairs listed on the page. */
async function shownOnCallback(page: Page): Promise<Record<string, string>> {
  const names = await page.locator('dl dt').allTextContents();
  const values = await page.locator('dl dd').allTextContents();
  expect(values).toHaveLength(names.length);
  return Object.fromEntries(names.map((n, i) => [n.trim(), values[i]!.trim()]));
}

/** Problems a person would notice: failed loads (the stylesheet), script errors, error statuses. */
function watchForProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('requestfailed', (req) => problems.push(`failed: ${req.url()} ${req.failure()?.errorText}`));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`${res.status()}: ${res.url()}`);
  });
  page.on('console', (msg) => {
    // Chromium asks every site for /favicon.ico on its own; a missing tab icon is not a broken page.
    if (msg.type() === 'error' && !msg.location().url.endsWith('/favicon.ico'))
      problems.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  return problems;
}

async function signInAndAllow(page: Page, who: { username: string; password: string }, shots?: string) {
  await page.goto(authUrl);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  expect(new URL(page.url()).pathname).toMatch(/^\/interaction\//);
  if (shots) await page.screenshot({ path: `${SHOTS}/${shots}-login.png`, fullPage: true });
  await page.fill('input[name="username"]', who.username);
  await page.fill('input[name="password"]', who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Allow access' }).waitFor();
  await expect(page.getByText(`Signed in as ${who.username}`).isVisible()).resolves.toBe(true);
  expect(new URL(page.url()).pathname).toMatch(/^\/interaction\//);
  await expect(page.getByText('Browser shop wants to:').isVisible()).resolves.toBe(true);
  await expect(page.locator('ul.scopes li').allTextContents()).resolves.toEqual([
    'Read your profile: your name, username and server ID',
    'Buy items on your behalf',
    'Read your purchase history',
  ]);
  if (shots) await page.screenshot({ path: `${SHOTS}/${shots}-consent.png`, fullPage: true });
  await Promise.all([
    page.waitForURL(`${server.issuer}/demo/callback?**`),
    page.getByRole('button', { name: 'Allow' }).click(),
  ]);
}

async function exchange(code: string) {
  const res = await fetch(`${server.issuer}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: basic(client),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('with JavaScript on', () => {
  let context: BrowserContext;
  let page: Page;
  beforeAll(async () => {
    context = await newContext();
    page = await context.newPage();
  });
  afterAll(() => context.close());

  test('sign in, allow, and the callback page shows the code and state; the code buys an access token', async () => {
    const problems = watchForProblems(page);
    await signInAndAllow(page, user, 'js');

    const shown = await shownOnCallback(page);
    expect(shown.state).toBe('unique_state_code');
    expect(shown.code).toMatch(/^[\w-]{20,}$/);
    expect(shown.iss).toBe(server.issuer);
    await expect(page.getByRole('heading', { name: 'Authorization response' }).isVisible()).resolves.toBe(true);
    // What the page shows is what the browser was sent back with.
    const url = new URL(page.url());
    expect(url.searchParams.get('code')).toBe(shown.code);
    await page.screenshot({ path: `${SHOTS}/js-callback.png`, fullPage: true });

    const { status, body } = await exchange(shown.code!);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      access_token: expect.stringMatching(/^[\w-]{40,}$/),
      token_type: 'Bearer',
      scope: 'profile buy buy_history',
    });

    expect(problems).toEqual([]);
  });

  test('a second authorization in the same browser goes straight to the callback, showing no page on the way', async () => {
    const documents: string[] = [];
    page.on('request', (req) => {
      if (req.isNavigationRequest() && req.frame() === page.mainFrame()) documents.push(new URL(req.url()).pathname);
    });
    const before = new URL(page.url()).searchParams.get('code');
    await page.goto(authUrl);
    expect(new URL(page.url()).pathname).toBe('/demo/callback');
    expect(documents.filter((p) => p.startsWith('/interaction/'))).toEqual([]);
    const shown = await shownOnCallback(page);
    expect(shown.state).toBe('unique_state_code');
    expect(shown.code).toMatch(/^[\w-]{20,}$/);
    expect(shown.code).not.toBe(before);
    expect((await exchange(shown.code!)).status).toBe(200);
  });
});

test('with JavaScript off the login and consent pages still work to the end', async () => {
  const context = await newContext({ javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    const problems = watchForProblems(page);
    // Another person: consent is remembered per account and client, and this one has not given it yet.
    await signInAndAllow(page, await server.user(), 'nojs');
    const shown = await shownOnCallback(page);
    expect(shown.state).toBe('unique_state_code');
    expect(shown.code).toMatch(/^[\w-]{20,}$/);
    expect((await exchange(shown.code!)).status).toBe(200);
    expect(problems).toEqual([]);
  } finally {
    await context.close();
  }
});

test('a wrong password shows an error on the login page and keeps the username', async () => {
  const context = await newContext();
  const user = await server.user();
  try {
    const page = await context.newPage();
    await page.goto(authUrl);
    await page.fill('input[name="username"]', user.username);
    await page.fill('input[name="password"]', 'not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    await expect(page.getByRole('alert').textContent()).resolves.toBe('Wrong username or password.');
    await expect(page.inputValue('input[name="username"]')).resolves.toBe(user.username);
    await page.screenshot({ path: `${SHOTS}/login-error.png`, fullPage: true });
    // And the right one still gets through from this page.
    await page.fill('input[name="password"]', user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Allow access' }).waitFor();
  } finally {
    await context.close();
  }
});
