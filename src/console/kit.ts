// What every console page shares: who is signed in, the form token, the
// page and error renderers, and the guards. Built once (src/console/index.ts)
// and handed to each of the console's routers, so a new console page is a
// router of its own that uses these instead of copying them.
import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware, Next } from 'koa';
import type { ClientMetadata } from 'oidc-provider';
import type { Accounts, Account } from '../accounts/accounts.js';
import { ClientNotFound, type Clients } from '../clients/clients.js';
import { clientFault } from '../errors/handler.js';
import { ROUTES, consoleClientPath } from '../routes.js';
import { checkCsrf, issueCsrf } from '../web/csrf.js';
import type { MessageKey } from '../web/i18n.js';
import type { ConsolePage, Views } from '../web/views.js';
import type { ConsoleSessions, Session } from './sessions.js';

const CSRF_COOKIE = '_console_csrf';

export interface SignedIn {
  session: Session;
  account: Account;
}

export interface ConsoleKit {
  views: Views;
  sessions: ConsoleSessions;
  /** Parses a console form (urlencoded, at most 64 KiB; more is a 413 page). */
  form: Middleware;
  /** Sends a visitor who is not signed in to the home page's sign-in form. */
  requireSignIn: Middleware;
  /** After `form`: refuses with a 403 page a form without this browser's token. */
  requireCsrf: Middleware;
  /** The signed-in account and its session, after requireSignIn. */
  signedIn(ctx: Context): SignedIn;
  /** Renders a console page with what every one of them shows (who is signed in, the form token). */
  page(ctx: Context, name: ConsolePage, title: MessageKey, model?: Record<string, unknown>, status?: number): void;
  /** An error page in the reader's language. */
  problem(ctx: Context, status: number, message: MessageKey): void;
  /**
   * One of the signed-in account's clients, with its secret; when it is
   * someone else's or does not exist, the same 404 page for both, and undefined.
   */
  ownClient(ctx: Context, clientId: string): Promise<ClientMetadata | undefined>;
}

type State = { console?: SignedIn };

export function consoleKit(views: Views, sessions: ConsoleSessions, clients: Clients): ConsoleKit {
  const problem = (ctx: Context, status: number, message: MessageKey) => views.problem(ctx, status, message);
  const signedIn = (ctx: Context) => {
    const current = (ctx.state as State).console;
    if (!current) throw new Error('signedIn() before requireSignIn');
    return current;
  };

  return {
    views,
    sessions,
    form: bodyParser({ enableTypes: ['form'], formLimit: '64kb' }),
    requireSignIn: async (ctx: Context, next: Next) => {
      if (!(ctx.state as State).console) return ctx.redirect(ROUTES.home);
      return next();
    },
    requireCsrf: async (ctx: Context, next: Next) => {
      const submitted = (ctx.request.body as Record<string, unknown> | undefined)?.csrf;
      if (!checkCsrf(ctx, submitted, CSRF_COOKIE)) return problem(ctx, 403, 'console.csrf');
      return next();
    },
    signedIn,
    page(ctx, name, title, model = {}, status = 200) {
      views.render(ctx, name, views.locale(ctx), (t) => t(title), {
        ...model,
        wide: true,
        username: (ctx.state as State).console?.account.username,
        csrf: issueCsrf(ctx, '/', CSRF_COOKIE),
        routes: ROUTES,
        // The navigation marks where the reader is (views/console/layout.pug).
        currentPath: ctx.path,
        clientPath: consoleClientPath,
      });
      ctx.status = status;
    },
    problem,
    async ownClient(ctx, clientId) {
      try {
        return await clients.owned(signedIn(ctx).account.id, clientId);
      } catch (err) {
        if (!(err instanceof ClientNotFound)) throw err;
        problem(ctx, 404, 'console.client.notFound');
        return undefined;
      }
    },
  };
}

const isConsolePath = (path: string) =>
  path === ROUTES.home || path === ROUTES.console || path.startsWith(`${ROUTES.console}/`);

/**
 * Around every console route: failures become pages in the reader's
 * language (never JSON), nothing is cached, and the signed-in account, if
 * any, is on ctx.state.
 */
export function consoleBoundary(kit: ConsoleKit, accounts: Accounts): Middleware {
  return async (ctx, next) => {
    if (!isConsolePath(ctx.path)) return next();
    ctx.set('cache-control', 'no-store');
    try {
      const session = await kit.sessions.current(ctx);
      const account = session ? await accounts.findById(session.data.accountId) : undefined;
      if (session && account) (ctx.state as State).console = { session, account };
      await next();
    } catch (err) {
      const fault = clientFault(err);
      if (fault) return kit.problem(ctx, fault.status, 'console.badRequest');
      ctx.app.emit('error', err, ctx);
      kit.problem(ctx, 500, 'error.server_error');
    }
  };
}

/** Last: anything else under /console is a 404 page, and / answers only GET and HEAD. */
export function consoleNotFound(kit: ConsoleKit): Middleware {
  return async (ctx, next) => {
    if (ctx.path === ROUTES.home) {
      ctx.set('allow', 'GET, HEAD');
      return kit.problem(ctx, 405, 'console.methodNotAllowed');
    }
    if (isConsolePath(ctx.path)) return kit.problem(ctx, 404, 'console.notFound');
    return next();
  };
}
