// The console's own pages in real Chromium, in English and in 繁體中文, as a
// newcomer meets them: the home page, sign-up, the empty client list, the
// new-client form, a refused redirect URI next to its field, the client's
// page with its secret shown once, the delete confirmation. Each page is in
// the browser's language, axe-core finds no serious or critical problem on
// it, and a screenshot is left in test-artifacts/screenshots/.
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/chromium.js';
import { startServer, type TestServer } from './helpers/server.js';
import { screenshot, seriousViolations } from './helpers/a11y.js';
import { translator, type Locale, type MessageKey } from '../src/web/i18n.js';

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startServer();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function check(page: Page, name: string, locale: Locale, heading: string) {
  await expect(page.locator('html').getAttribute('lang')).resolves.toBe(locale);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  await screenshot(page, `console-${name}`, locale);
  expect({ page: name, violations: await seriousViolations(page) }).toEqual({ page: name, violations: [] });
}

describe.each(['en', 'zh-TW'] as const)('in %s', (locale) => {
  const t = translator(locale);
  const label = (key: MessageKey) => t(key);

  test('sign up, create a client (a refused redirect URI first), see its secret once, then delete it', async () => {
    const context = await browser.newContext({ locale: locale === 'en' ? 'en-US' : 'zh-TW' });
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    try {
      await page.goto(`${server.issuer}/`);
      await check(page, 'home', locale, t('console.home.title'));

      await page.getByRole('link', { name: t('console.signUp.link') }).click();
      await check(page, 'sign-up', locale, t('console.signUp.title'));
      const username = `browser-${locale}`;
      await page.getByLabel(label('login.username')).fill(username);
      await page.getByLabel(label('login.password')).fill('a long enough password');
      await page.getByRole('button', { name: t('console.signUp.submit') }).click();

      await check(page, 'clients-empty', locale, t('console.clients.title'));
      await page.getByText(t('console.clients.none')).waitFor();
      await page.getByRole('link', { name: t('console.clients.create') }).click();

      await check(page, 'client-new', locale, t('console.client.newTitle'));
      // The console's callback is filled in; a fragment is added to it, and refused.
      const redirects = page.getByLabel(t('console.client.redirectUris'), { exact: true });
      await expect(redirects.inputValue()).resolves.toBe(`${server.issuer}/console/callback`);
      await page.getByLabel(t('console.client.name'), { exact: true }).fill('Browser shop');
      await redirects.fill(`${server.issuer}/console/callback#oops`);
      await page.getByRole('button', { name: t('console.client.create') }).click();
      await check(page, 'client-new-refused', locale, t('console.client.newTitle'));
      // The message is tied to the field (aria-describedby), and the field is marked invalid.
      await expect(redirects.getAttribute('aria-invalid')).resolves.toBe('true');
      const described = (await redirects.getAttribute('aria-describedby')) ?? '';
      const message = await page.locator(`#${described.split(' ')[0]}`).textContent();
      expect(message).toBe(
        t('console.client.problem.uriFragment', { detail: `${server.issuer}/console/callback#oops` }),
      );

      await redirects.fill(`${server.issuer}/console/callback`);
      await page.getByRole('button', { name: t('console.client.create') }).click();
      await check(page, 'client-created', locale, 'Browser shop');
      const secret = await page.locator('#client-secret').textContent();
      expect(secret).toMatch(/^[\w-]{43}$/);
      const clientId = await page.locator('#client-id').textContent();

      // Once: a reload shows the client without it.
      await page.reload();
      await check(page, 'client', locale, 'Browser shop');
      await expect(page.locator('#client-secret').count()).resolves.toBe(0);
      await expect(page.locator('#client-id').textContent()).resolves.toBe(clientId);

      await page.getByRole('link', { name: t('console.client.deleteLink') }).click();
      await check(page, 'client-delete', locale, t('console.client.deleteTitle'));
      await page.getByRole('button', { name: t('console.client.deleteConfirm') }).click();
      await check(page, 'clients-after-delete', locale, t('console.clients.title'));
      await page.getByText(t('console.clients.none')).waitFor();
    } finally {
      await context.close();
    }
  });
});
