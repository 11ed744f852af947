// "Try the code flow" in a real browser (Debian's Chromium through
// playwright-core), in English and in 繁體中文: sign up, create a client,
// follow the authorization link through sign-in and consent, and press each
// step's button. No JavaScript of ours runs (the page needs none); the
// screenshots under test-artifacts/ are for a person to look at.
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/chromium.js';
import { startServer, type TestServer } from './helpers/server.js';
import { seriousViolations } from './helpers/a11y.js';

const SHOTS = 'test-artifacts/screenshots';

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  await server.prepared.shop.putItem({
    itemId: 'ITEM_001',
    name: '品項1',
    imgUrl: 'https://img.example.com/img/item_001.png',
    amount: 100,
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Problems a person would notice: failed loads, script or CSP errors, server errors. */
function watchForProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('requestfailed', (req) => problems.push(`failed: ${req.url()} ${req.failure()?.errorText}`));
  page.on('response', (res) => {
    if (res.status() >= 500) problems.push(`${res.status()}: ${res.url()}`);
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.location().url.endsWith('/favicon.ico'))
      problems.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  return problems;
}

const WORDS = {
  en: {
    clients: 'Your clients',
    tryLink: 'Try the code flow',
    open: 'Open the authorization URL',
    valid: 'Signature valid, and every check passed.',
    rotated: 'the refresh token sent is now used up',
  },
  'zh-TW': {
    clients: '您的用戶端',
    tryLink: '試用授權碼流程',
    open: '開啟授權網址',
    valid: '簽章有效，且所有檢查皆通過。',
    rotated: '送出的 refresh token 已用掉',
  },
} as const;

let n = 0;

describe.each(['en', 'zh-TW'] as const)('trying the code flow in a browser (%s)', (locale) => {
  test('sign up, create a client, then token, /api/me, a purchase, introspection, refresh and revocation', async () => {
    const words = WORDS[locale];
    const context = await browser.newContext({ locale, viewport: { width: 1100, height: 900 } });
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const problems = watchForProblems(page);
    // Each full page is also checked by axe-core: no serious or critical problem.
    const shot = async (step: string) => {
      await page.screenshot({ path: `${SHOTS}/try-${step}-${locale}.png`, fullPage: true });
      expect({ step, violations: await seriousViolations(page) }).toEqual({ step, violations: [] });
    };
    const username = `browser${++n}${locale === 'en' ? 'en' : 'zh'}`;
    const password = 'a long enough password';

    await page.goto(`${server.issuer}/console/sign-up`);
    await page.fill('#username', username);
    await page.fill('#password', password);
    await page.locator('form[action="/console/sign-up"] button[type="submit"]').click();
    await page.getByRole('heading', { name: words.clients }).waitFor();

    await page.goto(`${server.issuer}/console/clients/new`);
    await page.fill('#name', 'Browser shop');
    await page.check('input[name="scope"][value="offline_access"]');
    await page.locator('form[action="/console/clients"] button[type="submit"]').click();
    const clientId = (await page.locator('#client-id').textContent()) ?? '';
    expect(clientId).not.toBe('');

    await page.getByRole('link', { name: words.tryLink }).click();
    await page.getByRole('heading', { level: 1, name: words.tryLink }).waitFor();
    await shot('start');

    await page.getByRole('link', { name: words.open }).click();
    await page.waitForURL(/\/interaction\//);
    await page.fill('input[name="username"]', username);
    await page.fill('input[name="password"]', password);
    await page.locator('form[action$="/login"] button[type="submit"]').click();
    await page.locator('form[action$="/confirm"] button').waitFor();
    await page.locator('form[action$="/confirm"] button').click();
    await page.waitForURL((url) => url.pathname.endsWith('/try'));
    await expect(page.locator('#code').textContent()).resolves.toMatch(/^[\w-]{20,}$/);
    await shot('callback');

    const press = async (step: string) => {
      const before = await page.locator('article.step').count();
      await page.locator(`form[action$="/try/${step}"] button`).click();
      await page.locator('article.step').nth(before).waitFor();
      const record = page.locator('article.step').last();
      await expect(record.getAttribute('data-step')).resolves.toBe(step);
      // The step's own record: a full page grows with every step and is unreadable when shrunk.
      await record.screenshot({ path: `${SHOTS}/try-${step}-${locale}.png` });
      return record;
    };
    const status = async (record: ReturnType<Page['locator']>) =>
      Number(await record.locator('code.status').textContent());
    const body = async (record: ReturnType<Page['locator']>) =>
      JSON.parse((await record.locator('pre.response').textContent()) ?? '') as Record<string, unknown>;

    const token = await press('token');
    expect(await status(token)).toBe(200);
    await expect(token.locator('.id-token-valid').textContent()).resolves.toContain(words.valid);

    const me = await press('me');
    expect(await body(me)).toMatchObject({ code: 0, success: true, username });

    const buy = await press('buy');
    expect(await body(buy)).toMatchObject({ code: 0, success: true });

    const introspect = await press('introspect');
    expect(await body(introspect)).toMatchObject({ active: true, client_id: clientId });

    const refresh = await press('refresh');
    expect(await status(refresh)).toBe(200);
    await expect(refresh.locator('.rotated').textContent()).resolves.toContain(words.rotated);

    const revoke = await press('revoke');
    expect(await status(revoke)).toBe(200);

    const again = await press('introspect');
    expect(await body(again)).toEqual({ active: false });
    await page.locator('#next').scrollIntoViewIfNeeded();
    await shot('done');

    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);
});
