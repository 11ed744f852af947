// Every page a person sees, in real Chromium, in English and in 繁體中文,
// reached each way a language is chosen (Accept-Language, the switcher,
// ui_locales): the page is in that language, axe-core finds no serious or
// critical accessibility problem, and a screenshot is left in
// test-artifacts/screenshots/ for a person to look at.
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/chromium.js';
import { startServer, type TestServer } from './helpers/server.js';
import { screenshot, seriousViolations } from './helpers/a11y.js';
import { LANGUAGE_NAMES, translator, type Locale, type MessageKey } from '../src/web/i18n.js';

let server: TestServer;
let browser: Browser;
let client: { client_id: string };

beforeAll(async () => {
  server = await startServer();
  client = await server.client({
    name: 'A11y shop',
    redirectUris: [`${server.issuer}/demo/callback`],
    postLogoutRedirectUris: [`${server.issuer}/demo/logged-out`],
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

type Way = 'accept-language' | 'switcher' | 'ui_locales';
const other = (l: Locale): Locale => (l === 'en' ? 'zh-TW' : 'en');
/** What Chromium sends as Accept-Language for a context's locale. */
const browserLocale = (l: Locale) => (l === 'en' ? 'en-US' : 'zh-TW');

function authorizeUrl(params: Record<string, string>): string {
  return `${server.issuer}/oauth/authorize?${new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    scope: 'openid profile buy',
    state: 'a11y-state',
    ...params,
  })}`;
}

/** The page is in `locale`: its lang attribute, and a message of ours in its heading or body. */
async function expectLanguage(page: Page, locale: Locale, key: MessageKey, vars?: Record<string, string>) {
  await expect(page.locator('html').getAttribute('lang')).resolves.toBe(locale);
  const text = translator(locale)(key, vars);
  await page.getByText(text, { exact: false }).first().waitFor();
}

/** Checks one page: language, screenshot, no serious or critical axe violation. */
async function check(page: Page, name: string, locale: Locale, key: MessageKey, vars?: Record<string, string>) {
  await expectLanguage(page, locale, key, vars);
  await screenshot(page, name, locale);
  expect({ page: name, locale, violations: await seriousViolations(page) }).toEqual({
    page: name,
    locale,
    violations: [],
  });
}

describe.each(['en', 'zh-TW'] as const)('in %s', (locale) => {
  const t = translator(locale);

  test.each<Way>(['accept-language', 'switcher', 'ui_locales'])(
    'chosen by %s: sign-in, consent, callback, logout, errors',
    async (way) => {
      // The browser's own language is the other one unless Accept-Language is the way under test.
      const context = await browser.newContext({
        locale: browserLocale(way === 'accept-language' ? locale : other(locale)),
      });
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      const ui: Record<string, string> = way === 'ui_locales' ? { ui_locales: locale } : {};
      // Pages that no ui_locales reaches (the demo pages, the logout success page) are checked the other two ways.
      const reachable = way !== 'ui_locales';
      const user = await server.user();
      try {
        await page.goto(authorizeUrl(ui));
        if (way === 'switcher') {
          const login = page.url();
          await Promise.all([page.waitForURL(login), page.getByRole('link', { name: LANGUAGE_NAMES[locale] }).click()]);
        }
        await check(page, 'login', locale, 'login.title');

        await page.getByLabel(t('login.username')).fill(user.username);
        await page.getByLabel(t('login.password')).fill('not the password');
        await page.getByRole('button', { name: t('login.submit') }).click();
        await page.getByRole('alert').waitFor();
        await check(page, 'login-error', locale, 'login.failed');

        await page.getByLabel(t('login.password')).fill(user.password);
        await page.getByRole('button', { name: t('login.submit') }).click();
        await page.getByRole('heading', { name: t('consent.title') }).waitFor();
        await check(page, 'consent', locale, 'consent.lead', { client: 'A11y shop' });

        await Promise.all([
          page.waitForURL(`${server.issuer}/demo/callback?**`),
          page.getByRole('button', { name: t('consent.allow') }).click(),
        ]);
        if (reachable) await check(page, 'callback', locale, 'callback.lead');

        await page.goto(`${server.issuer}/oauth/logout?${new URLSearchParams({ client_id: client.client_id, ...ui })}`);
        await check(page, 'logout', locale, 'logout.title');
        await Promise.all([
          page.waitForURL(`${server.issuer}/oauth/logout/success**`),
          page.getByRole('button', { name: t('logout.yes') }).click(),
        ]);
        // "Yes" ends the whole session, not just this client's part: the page names no client.
        if (reachable) await check(page, 'logout-success', locale, 'logoutSuccess.lead');

        if (reachable) {
          // Signed out already: the library confirms by itself and sends the browser to the client.
          await page.goto(
            `${server.issuer}/oauth/logout?${new URLSearchParams({
              client_id: client.client_id,
              post_logout_redirect_uri: `${server.issuer}/demo/logged-out`,
              state: 'bye',
            })}`,
          );
          await page.waitForURL(`${server.issuer}/demo/logged-out?**`);
          await check(page, 'logged-out', locale, 'loggedOut.lead');
        }

        await page.goto(
          `${server.issuer}/oauth/authorize?${new URLSearchParams({ client_id: 'no-such-client', ...ui })}`,
        );
        await check(page, 'error', locale, 'error.invalid_client');

        await page.goto(`${server.issuer}/no-such-page`);
        if (reachable) await check(page, 'not-found', locale, 'error.notFound');
      } finally {
        await context.close();
      }
    },
    60_000,
  );
});

test('the accessibility check does run inside our pages, CSP and all: it finds a field stripped of its label', async () => {
  const context = await browser.newContext({ locale: 'en-US' });
  context.setDefaultTimeout(10_000);
  try {
    const page = await context.newPage();
    const response = await page.goto(authorizeUrl({}));
    // The page under test keeps its real policy: no inline script.
    expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self'/);
    await expect(seriousViolations(page)).resolves.toEqual([]);
    await page.locator('label[for="username"]').evaluate((label) => label.remove());
    const violations = await seriousViolations(page);
    expect(violations.map((v) => v.rule)).toContain('label');
    expect(violations.find((v) => v.rule === 'label')?.nodes.map((n) => n.target)).toEqual(['#username']);
  } finally {
    await context.close();
  }
});

test('in a dark colour scheme the pages keep their contrast: sign-in with an error, consent, an error page', async () => {
  const context = await browser.newContext({ locale: 'zh-TW', colorScheme: 'dark' });
  context.setDefaultTimeout(10_000);
  const t = translator('zh-TW');
  const user = await server.user();
  try {
    const page = await context.newPage();
    await page.goto(authorizeUrl({}));
    await page.getByLabel(t('login.username')).fill(user.username);
    await page.getByLabel(t('login.password')).fill('not the password');
    await page.getByRole('button', { name: t('login.submit') }).click();
    await page.getByRole('alert').waitFor();
    await check(page, 'dark-login-error', 'zh-TW', 'login.failed');
    await page.getByLabel(t('login.password')).fill(user.password);
    await page.getByRole('button', { name: t('login.submit') }).click();
    await check(page, 'dark-consent', 'zh-TW', 'consent.title');
    await page.goto(`${server.issuer}/oauth/authorize?client_id=no-such-client`);
    await check(page, 'dark-error', 'zh-TW', 'error.invalid_client');
  } finally {
    await context.close();
  }
});

test.each(['en', 'zh-TW'] as const)(
  'on a phone-sized screen (%s) the sign-in page fits its width, with nothing to scroll sideways',
  async (locale) => {
    const context = await browser.newContext({ locale, viewport: { width: 360, height: 740 } });
    context.setDefaultTimeout(10_000);
    try {
      const page = await context.newPage();
      await page.goto(authorizeUrl({}));
      await expectLanguage(page, locale, 'login.title');
      await screenshot(page, 'phone-login', locale);
      await expect(
        page.evaluate(
          () =>
            (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
              .documentElement.scrollWidth,
        ),
      ).resolves.toBeLessThanOrEqual(360);
      expect(await seriousViolations(page)).toEqual([]);
    } finally {
      await context.close();
    }
  },
);

test("a click on the switcher beats the client's ui_locales for that sign-in only; remembered, it beats Accept-Language", async () => {
  const context = await browser.newContext({ locale: 'zh-TW' });
  context.setDefaultTimeout(10_000);
  const heading = (page: Page) => page.getByRole('heading', { level: 1 }).textContent();
  try {
    const page = await context.newPage();
    await page.goto(authorizeUrl({ ui_locales: 'zh-TW' }));
    const first = page.url();
    await expect(heading(page)).resolves.toBe(translator('zh-TW')('login.title'));
    await Promise.all([page.waitForURL(first), page.getByRole('link', { name: 'English' }).click()]);
    await expect(heading(page)).resolves.toBe(translator('en')('login.title'));
    await expect(page.locator('html').getAttribute('lang')).resolves.toBe('en');

    // A new sign-in (another interaction): the client's ui_locales is heard again...
    await page.goto(authorizeUrl({ ui_locales: 'zh-TW' }));
    expect(page.url()).not.toBe(first);
    await expect(heading(page)).resolves.toBe(translator('zh-TW')('login.title'));
    // ...and without one, the remembered English beats the browser's zh-TW.
    await page.goto(authorizeUrl({}));
    await expect(heading(page)).resolves.toBe(translator('en')('login.title'));
  } finally {
    await context.close();
  }
});
