// Renders our pug pages. Views receive plain view-models, never library
// objects; pug escapes every interpolation (only the library's own logout
// form is inserted as HTML).
import { join } from 'node:path';
import pug from 'pug';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Context } from 'koa';
import { hasMessage, pickLocale, translator, type Locale, type Translate } from './i18n.js';
import { ROUTES } from '../routes.js';

/** The console's pages (src/console/), in views/console/. */
export type ConsolePage =
  | 'console/home'
  | 'console/sign-up'
  | 'console/clients'
  | 'console/client-new'
  | 'console/client'
  | 'console/client-delete'
  | 'console/discovery'
  | 'console/inspect'
  | 'console/api';

type Page = 'login' | 'consent' | 'logout' | 'logout-success' | 'error' | 'callback' | ConsolePage;

export interface ErrorOut {
  error: string;
  error_description?: string;
}

export class Views {
  readonly #compiled = new Map<Page, pug.compileTemplate>();

  constructor(
    private readonly dir: string,
    private readonly cache: boolean,
  ) {}

  #template(page: Page): pug.compileTemplate {
    let fn = this.cache ? this.#compiled.get(page) : undefined;
    if (!fn) {
      fn = pug.compileFile(join(this.dir, `${page}.pug`));
      this.#compiled.set(page, fn);
    }
    return fn;
  }

  locale(ctx: Context, uiLocales?: unknown): Locale {
    return pickLocale(uiLocales ?? ctx.query.ui_locales, ctx.get('accept-language'));
  }

  render(
    ctx: Context,
    page: Page,
    locale: Locale,
    title: (t: Translate) => string,
    model: Record<string, unknown>,
  ): void {
    const t = translator(locale);
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = this.#template(page)({ ...model, t, locale, title: title(t), stylesheet: ROUTES.stylesheet });
  }

  /** OAuth errors shown to a person: what the code means, in their language. */
  error(
    ctx: Context,
    out: ErrorOut,
    locale = this.locale(ctx, (ctx as KoaContextWithOIDC).oidc?.params?.ui_locales),
  ): void {
    const key = `error.${out.error}`;
    this.render(ctx, 'error', locale, (t) => t('error.title'), {
      lead: translator(locale)('error.lead'),
      explanation: translator(locale)(hasMessage(key) ? key : 'error.other'),
      error: out.error,
      description: out.error_description,
    });
  }

  /** A page-level problem of our own (expired interaction, bad CSRF token). */
  problem(ctx: Context, status: number, message: 'error.expired' | 'error.csrf'): void {
    const locale = this.locale(ctx);
    const t = translator(locale);
    this.render(ctx, 'error', locale, () => t('error.title'), {
      explanation: t(message),
      error: status === 403 ? 'forbidden' : 'invalid_request',
    });
    ctx.status = status;
  }

  logout(ctx: KoaContextWithOIDC, form: string): void {
    const locale = this.locale(ctx, ctx.oidc.params?.ui_locales);
    this.render(ctx, 'logout', locale, (t) => t('logout.title'), { form, host: ctx.host });
  }

  logoutSuccess(ctx: KoaContextWithOIDC): void {
    const client = ctx.oidc.client;
    this.render(ctx, 'logout-success', this.locale(ctx), (t) => t('logoutSuccess.title'), {
      clientName: client ? (client.clientName ?? client.clientId) : undefined,
    });
  }
}
