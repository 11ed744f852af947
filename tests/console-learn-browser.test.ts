// The console's teaching pages in a real browser (Debian's Chromium through
// playwright-core), in English and 繁體中文: each page loads with its
// stylesheet and no script error under the real CSP, the token inspector's
// countdown ticks with JavaScript and still says the minutes left without it,
// and a screenshot of each page in each language is written to
// test-artifacts/screenshots/ (git-ignored) for a person to look at; axe-core
// finds no serious or critical problem on any of them.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './helpers/chromium.js';
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, authorize } from './helpers/user-agent.js';
import { postForm } from './helpers/http.js';
import { SCREENSHOTS as SHOTS, seriousViolations } from './helpers/a11y.js';

const LOCALES = [
  ['en', 'en-US'],
  ['zh-TW', 'zh-TW'],
] as const;

let server: TestServer;
let browser: Browser;
let n = 0;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function newContext(locale: string, options: { javaScriptEnabled?: boolean } = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ locale, viewport: { width: 1000, height: 800 }, ...options });
  context.setDefaultTimeout(10_000);
  return context;
}

/** Failed loads, error statuses, script errors and CSP refusals: what a person would notice. */
function watchForProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('requestfailed', (req) => problems.push(`failed: ${req.url()} ${req.failure()?.errorText}`));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`${res.status()}: ${res.url()}`);
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.location().url.endsWith('/favicon.ico')) problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  return problems;
}

/** Signs up on the console's own form, in the browser. */
async function signUp(page: Page): Promise<void> {
  await page.goto(`${server.issuer}/console/sign-up`);
  await page.fill('#username', `viewer${++n}`);
  await page.fill('#password', `pw-${n}-correct horse`);
  await page.locator('form[action="/console/sign-up"] button[type=submit]').click();
  await page.waitForURL(`${server.issuer}/`);
}

/** Creates a client on the console's form; returns its id and secret as the page shows them. */
async function createClient(page: Page): Promise<{ client_id: string; client_secret: string }> {
  await page.goto(`${server.issuer}/console/clients/new`);
  await page.fill('#name', 'Screenshot app');
  await page.fill('#redirect_uris', 'http://127.0.0.1:9999/cb');
  await page.check('input[name=scope][value=offline_access]');
  await page.locator('form[action="/console/clients"] button[type=submit]').click();
  await page.waitForSelector('#client-secret');
  return {
    client_id: (await page.textContent('#client-id'))?.trim() ?? '',
    client_secret: (await page.textContent('#client-secret'))?.trim() ?? '',
  };
}

/** An access token of `client`, through a real code flow by another person. */
async function accessToken(client: { client_id: string; client_secret: string }): Promise<string> {
  const user = await server.user();
  const { callback } = await authorize(
    new UserAgent(server.issuer),
    `${server.issuer}/oauth/authorize?response_type=code&client_id=${client.client_id}&scope=openid%20profile%20buy&state=s${++n}`,
    { ...user, consent: 'allow' },
  );
  const res = await postForm(`${server.issuer}/oauth/token`, client, {
    grant_type: 'authorization_code',
    code: callback.searchParams.get('code') ?? '',
  });
  if (res.status !== 200) throw new Error(`token request: ${res.status}`);
  return res.body.access_token as string;
}

describe.each(LOCALES)('the teaching pages in %s', (lang, browserLocale) => {
  test('discovery and the API reference, signed out: styled, no errors, headings in the reader’s language', async () => {
    const context = await newContext(browserLocale);
    const page = await context.newPage();
    const problems = watchForProblems(page);
    await page.goto(`${server.issuer}/console/discovery`);
    expect(await page.getAttribute('html', 'lang')).toBe(lang);
    expect(await page.textContent('h1')).toBe(lang === 'en' ? 'Discovery explained' : '探索文件解說');
    expect(await page.locator('nav[aria-label] a[aria-current="page"]').textContent()).toBe(
      lang === 'en' ? 'Discovery' : '探索文件',
    );
    // The stylesheet applied: the navigation is a row, not a bulleted list.
    expect(await page.evaluate("getComputedStyle(document.querySelector('.console-nav ul')).display")).toBe('flex');
    await page.screenshot({ path: join(SHOTS, `discovery-${lang}.png`), fullPage: true });
    expect(await seriousViolations(page)).toEqual([]);

    await page.goto(`${server.issuer}/console/api`);
    expect(await page.textContent('h1')).toBe(lang === 'en' ? 'API reference' : 'API 參考');
    expect(await page.locator('section.operation').count()).toBeGreaterThanOrEqual(4);
    await page.screenshot({ path: join(SHOTS, `api-${lang}.png`), fullPage: true });
    expect(await seriousViolations(page)).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });

  test('inspect a token: the countdown ticks with JavaScript', async () => {
    const context = await newContext(browserLocale);
    const page = await context.newPage();
    const problems = watchForProblems(page);
    await signUp(page);
    const client = await createClient(page);
    const token = await accessToken(client);
    await page.goto(`${server.issuer}/console/inspect`);
    await page.fill('#token', token);
    await page.locator('form[action="/console/inspect"] button[type=submit]').click();
    await page.waitForSelector('#token-type');
    expect(await page.textContent('#token-client')).toContain(client.client_id);
    // The script replaced the server's "in N min" with a ticking m:ss, and it moves.
    const countdown = page.locator('#countdown');
    // Locator waits, not waitForFunction: the page's CSP forbids the eval that one polls with.
    await page.locator('#countdown', { hasText: /\d:\d\d/ }).waitFor();
    const first = (await countdown.textContent()) ?? '';
    await page.locator('#countdown', { hasNotText: first }).waitFor();
    expect(await countdown.textContent()).toMatch(
      lang === 'en' ? /^9 d 23:\d\d:\d\d left$/ : /^剩餘 9 天 23:\d\d:\d\d$/,
    );
    await page.screenshot({ path: join(SHOTS, `inspect-${lang}.png`), fullPage: true });
    expect(await seriousViolations(page)).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });
});

test('without JavaScript the inspector still says how many minutes are left', async () => {
  const context = await newContext('en-US', { javaScriptEnabled: false });
  const page = await context.newPage();
  await signUp(page);
  const token = await accessToken(await createClient(page));
  await page.goto(`${server.issuer}/console/inspect`);
  await page.fill('#token', token);
  await page.locator('form[action="/console/inspect"] button[type=submit]').click();
  await page.waitForSelector('#token-type');
  expect(await page.textContent('#countdown')).toMatch(/^in (9 d 23|10 d 0) h$/);
  await context.close();
});
