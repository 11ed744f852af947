// Renders our pug pages. Views receive plain view-models, never library
// objects; pug escapes every interpolation (only the library's own logout
// form is inserted as HTML). Every page carries the language switcher
// (src/web/locale.ts) in the layout.
import { join } from 'node:path';
import pug from 'pug';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Context } from 'koa';
import {
  hasMessage,
  LANGUAGE_NAMES,
  LOCALES,
  pickLocale,
  translator,
  type Locale,
  type MessageKey,
  type Translate,
} from './i18n.js';
import { backTo, localeChoice } from './locale.js';
import { browserOnPeoplePage } from './wants-html.js';
import { ROUTES } from '../routes.js';

/** The console's pages (src/console/), in views/console/. */
export type ConsolePage =
  | 'console/home'
  | 'console/sign-up'
  | 'console/clients'
  | 'console/client-new'
  | 'console/client'
  | 'console/client-delete'
  | 'console/try'
  | 'console/discovery'
  | 'console/inspect'
  | 'console/api';

type Page = 'login' | 'consent' | 'logout' | 'logout-success' | 'error' | 'callback' | ConsolePage;

/** Our own page-level problems: what the page says, by the status it answers. */
export type Problem =
  | 'error.expired'
  | 'error.csrf'
  | 'error.notFound'
  | 'error.methodNotAllowed'
  | 'error.badRequest'
  | 'error.server_error'
  | 'error.temporarily_unavailable';

/** The code an error page shows for a status of ours (OAuth's where one fits, else HTTP's name). */
const PROBLEM_CODES: Record<number, string> = {
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'request_too_large',
  429: 'too_many_requests',
  500: 'server_error',
  502: 'bad_gateway',
  503: 'temporarily_unavailable',
};

export interface RenderOptions {
  /** The page the language switcher comes back to, when not this request's URL (a page answering a POST). */
  back?: string;
}

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

  /**
   * The language of a page: the one place that decides (with pickLocale).
   * `uiLocales` is the authorization or logout request's, when the page is
   * part of one; otherwise this request's own `ui_locales` query parameter.
   */
  locale(ctx: Context, uiLocales?: unknown): Locale {
    return pickLocale(uiLocales ?? ctx.query.ui_locales, ctx.get('accept-language'), localeChoice(ctx));
  }

  render(
    ctx: Context,
    page: Page,
    locale: Locale,
    title: (t: Translate) => string,
    model: Record<string, unknown>,
    options: RenderOptions = {},
  ): void {
    const t = translator(locale);
    const back = encodeURIComponent(backTo(ctx, options.back));
    const languages = LOCALES.map((l) => ({
      locale: l,
      name: LANGUAGE_NAMES[l],
      href: `${ROUTES.locale}?lang=${l}&back=${back}`,
      current: l === locale,
    }));
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = this.#template(page)({
      ...model,
      t,
      locale,
      languages,
      title: title(t),
      stylesheet: ROUTES.stylesheet,
    });
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

  /**
   * A page-level problem of our own (expired interaction, bad CSRF token,
   * no such page, a failure): a page in the person's language, never JSON.
   */
  problem(
    ctx: Context,
    status: number,
    message: MessageKey,
    { locale = this.locale(ctx), back }: RenderOptions & { locale?: Locale } = {},
  ): void {
    const t = translator(locale);
    this.render(
      ctx,
      'error',
      locale,
      () => t('error.title'),
      { explanation: t(message), error: PROBLEM_CODES[status] ?? 'invalid_request' },
      { back },
    );
    ctx.status = status;
  }

  /**
   * A failure's answer when the request is a person's browser on a page meant
   * for people: the page, and true; false (nothing written) for JSON. Passed
   * to the error handler and the provider's post-processing alike.
   */
  readonly pageForPeople = (ctx: Context, status: number): boolean => {
    if (!browserOnPeoplePage(ctx)) return false;
    this.failure(ctx, status);
    return true;
  };

  /** A failure by its HTTP status, as a page: for browsers on pages meant for people. */
  failure(ctx: Context, status: number): void {
    const message: Problem =
      status === 404
        ? 'error.notFound'
        : status === 405
          ? 'error.methodNotAllowed'
          : status === 503
            ? 'error.temporarily_unavailable'
            : status >= 500
              ? 'error.server_error'
              : 'error.badRequest';
    this.problem(ctx, status, message);
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
