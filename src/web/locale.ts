// The language switcher: a link on every page to GET /locale?lang=…&back=…,
// which remembers the choice in cookies and sends the person back to the
// page they were on. Two cookies, because a click says two things:
// - `locale` (path /, a year): "this is my language", for every page from
//   now on, weaker than a client's ui_locales (src/web/i18n.ts, pickLocale);
// - `locale_here` (path = the page's path, the browser session): "on this
//   page I want this language", which beats the client's ui_locales there.
//   On an interaction, the path /interaction/<uid> covers its login,
//   consent and error pages and nothing else, so the next authorization's
//   ui_locales is heard again.
// Neither is a secret nor proves anything: not signed, readable by no
// script (HttpOnly costs nothing), SameSite=Lax since the switch is a
// top-level GET.
import type { Context } from 'koa';
import { offeredLocale, type LocaleChoice } from './i18n.js';

const REMEMBERED = 'locale';
const HERE = 'locale_here';
const YEAR_MS = 365 * 24 * 3600 * 1000;

/** What the cookies say about this request's page. */
export function localeChoice(ctx: Context): LocaleChoice {
  return { picked: ctx.cookies.get(HERE), remembered: ctx.cookies.get(REMEMBERED) };
}

/**
 * `back` if it is a path on this server, else `/`: never an open redirector
 * (RFC 9700 §4.11). Refused: anything not starting with a single `/`
 * (absolute and scheme-relative URLs, `//evil`), backslashes (browsers read
 * `/\evil` as `//evil`), control characters (CR/LF would split the Location
 * header; tabs and newlines are dropped by URL parsers, `/\t/evil`).
 */
export function samePath(back: unknown): string {
  if (typeof back !== 'string' || back.length > 8192) return '/';
  const control = [...back].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  if (!back.startsWith('/') || back.startsWith('//') || back.includes('\\') || control) return '/';
  const base = 'http://same.invalid';
  const url = URL.parse(back, base);
  if (!url || url.origin !== base) return '/';
  return `${url.pathname}${url.search}`;
}

/** The page a switcher link on this request should come back to. */
export function backTo(ctx: Context, page?: string): string {
  return page ?? (ctx.method === 'GET' || ctx.method === 'HEAD' ? ctx.originalUrl : '/');
}

/** GET /locale?lang=zh-TW&back=/interaction/abc */
export function switchLocale(ctx: Context): void {
  const back = samePath(ctx.query.back);
  const lang = offeredLocale(ctx.query.lang);
  if (lang) {
    const common = { httpOnly: true, sameSite: 'lax' as const, secure: ctx.secure, overwrite: true };
    ctx.cookies.set(REMEMBERED, lang, { ...common, path: '/', maxAge: YEAR_MS });
    const path = new URL(back, 'http://same.invalid').pathname;
    // A path a cookie can carry (no `;`, no spaces: the URL parser encoded those but not `;`).
    if (path !== '/' && /^[\w\-./~%!$&'()*+,=:@]+$/.test(path)) ctx.cookies.set(HERE, lang, { ...common, path });
  }
  ctx.set('cache-control', 'no-store');
  ctx.status = 303;
  ctx.redirect(back);
}
