// Login, consent and abort: the pages the library sends a person to when an
// authorization request needs them (interactions.url). The pattern is the
// library's example/routes/koa.js: load the interaction once, switch on the
// prompt, check the prompt again on each POST, finish with interactionFinished.
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import { errors, type Provider } from 'oidc-provider';
import type { ProviderHolder } from '../oidc/provider-holder.js';
import { ROUTES, interactionPath } from '../routes.js';
import type { Context } from 'koa';
import type { Accounts } from '../accounts/accounts.js';
import type { Consents } from '../consents/consents.js';
import type { Views } from '../web/views.js';
import type { Throttle } from '../security/throttle.js';
import type { Metrics } from '../observability/metrics.js';
import { checkCsrf, issueCsrf } from '../web/csrf.js';
import { translator, hasMessage, type Locale } from '../web/i18n.js';
import { KdfBusy } from '../accounts/password.js';

export interface InteractionDeps {
  /** Read at each use: the provider is replaced when the signing keys change. */
  provider: ProviderHolder;
  accounts: Accounts;
  consents: Consents;
  views: Views;
  throttle: Throttle;
  metrics: Metrics;
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/** What the library's consent prompt says is missing (lib/helpers/interaction_policy/prompts/consent.js). */
interface ConsentDetails {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

const field = (body: unknown, name: string): string => {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
};

export function interactionRoutes({ provider, accounts, consents, views, throttle, metrics }: InteractionDeps): Router {
  const router = new Router({ prefix: ROUTES.interaction });
  const form = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });

  const clientName = async (details: Details) => {
    const client = await provider.current.Client.find(String(details.params.client_id));
    return client?.clientName ?? String(details.params.client_id);
  };

  const localeOf = (ctx: Context, details: Details): Locale => views.locale(ctx, details.params.ui_locales);

  // Pages answering a POST send the language switcher back to the interaction's page.
  const page = (details: Details) => ({ back: interactionPath(details.uid) });

  /** A bad CSRF token: the interaction's page in its language. */
  const csrfProblem = (ctx: Context, details: Details) =>
    views.problem(ctx, 403, 'error.csrf', { locale: localeOf(ctx, details), ...page(details) });

  async function renderLogin(ctx: Context, details: Details, error?: string, username?: string) {
    const locale = localeOf(ctx, details);
    views.render(
      ctx,
      'login',
      locale,
      (t) => t('login.title'),
      {
        clientName: await clientName(details),
        action: interactionPath(details.uid, 'login'),
        abortAction: interactionPath(details.uid, 'abort'),
        csrf: issueCsrf(ctx, interactionPath(details.uid)),
        // OIDC Core §3.1.2.1: login_hint pre-fills the username.
        username:
          username ?? (typeof details.params.login_hint === 'string' ? details.params.login_hint.slice(0, 64) : ''),
        error,
      },
      page(details),
    );
  }

  async function renderConsent(ctx: Context, details: Details) {
    const locale = localeOf(ctx, details);
    const t = translator(locale);
    const prompt = details.prompt.details as ConsentDetails;
    const scopes = new Set([
      ...(prompt.missingOIDCScope ?? []),
      ...Object.values(prompt.missingResourceScopes ?? {}).flat(),
    ]);
    const account = details.session?.accountId ? await accounts.findById(details.session.accountId) : undefined;
    views.render(
      ctx,
      'consent',
      locale,
      () => t('consent.title'),
      {
        clientName: await clientName(details),
        username: account?.username ?? '',
        scopes: [...scopes].map((s) => {
          const key = `scope.${s}`;
          return hasMessage(key) ? t(key) : s;
        }),
        // Each claim in words (a claim we have no words for keeps its protocol name).
        claims: (prompt.missingOIDCClaims ?? [])
          .filter((c) => !['sub', 'sid', 'auth_time', 'acr', 'amr', 'iss'].includes(c))
          .map((c) => {
            const key = `claim.${c}`;
            return hasMessage(key) ? t(key) : c;
          }),
        action: interactionPath(details.uid, 'confirm'),
        abortAction: interactionPath(details.uid, 'abort'),
        csrf: issueCsrf(ctx, interactionPath(details.uid)),
      },
      page(details),
    );
  }

  // Expired or unknown interactions, and POSTs for a prompt that is no longer
  // current (a double submit, the back button), end on a page, never a 500.
  router.use(async (ctx, next) => {
    ctx.set('cache-control', 'no-store');
    try {
      await next();
    } catch (err) {
      if (err instanceof errors.SessionNotFound || err instanceof WrongPrompt) {
        views.problem(ctx, 400, 'error.expired');
        return;
      }
      throw err;
    }
  });

  router.get('/:uid', async (ctx) => {
    const details = await provider.current.interactionDetails(ctx.req, ctx.res);
    if (details.prompt.name === 'login') return renderLogin(ctx, details);
    if (details.prompt.name === 'consent') return renderConsent(ctx, details);
    throw new WrongPrompt();
  });

  router.post('/:uid/login', form, async (ctx) => {
    const details = await load(ctx, 'login');
    if (!checkCsrf(ctx, field(ctx.request.body, 'csrf'))) return csrfProblem(ctx, details);
    const username = field(ctx.request.body, 'username').trim();
    const password = field(ctx.request.body, 'password');
    const t = translator(localeOf(ctx, details));
    if (!username || !password) return renderLogin(ctx, details, t('login.missing'), username.slice(0, 64));
    // Counted before the password is even checked, by the name typed,
    // whether or not such an account exists.
    const wait = await throttle.loginAttempt(username, ctx.ip);
    if (wait > 0) {
      metrics.loginFailures.inc({ reason: 'throttled' });
      ctx.status = 429;
      ctx.set('retry-after', String(wait));
      return renderLogin(
        ctx,
        details,
        t('login.throttled', { minutes: String(Math.ceil(wait / 60)) }),
        username.slice(0, 64),
      );
    }
    let account: Awaited<ReturnType<typeof accounts.authenticate>>;
    try {
      account = await accounts.authenticate(username, password);
    } catch (err) {
      if (!(err instanceof KdfBusy)) throw err;
      ctx.status = 503;
      ctx.set('retry-after', '1');
      return renderLogin(ctx, details, t('login.busy'), username.slice(0, 64));
    }
    if (!account) {
      metrics.loginFailures.inc({ reason: 'bad_credentials' });
      ctx.status = 401;
      return renderLogin(ctx, details, t('login.failed'), username.slice(0, 64));
    }
    await throttle.loginSucceeded(username, ctx.ip);
    await provider.current.interactionFinished(
      ctx.req,
      ctx.res,
      { login: { accountId: account.id, amr: ['pwd'] } },
      { mergeWithLastSubmission: false },
    );
  });

  router.post('/:uid/confirm', form, async (ctx) => {
    const details = await load(ctx, 'consent');
    if (!checkCsrf(ctx, field(ctx.request.body, 'csrf'))) return csrfProblem(ctx, details);
    // The consent prompt only comes after a sign-in: the session has an account.
    const accountId = details.session?.accountId;
    if (!accountId) throw new WrongPrompt();
    const clientId = String(details.params.client_id);
    const prompt = details.prompt.details as ConsentDetails;

    // The grant this authorization was given from remembered consent, if any
    // (src/oidc/remembered-grant.ts): widen it with what is allowed now.
    const existing = details.grantId ? await provider.current.Grant.find(details.grantId) : undefined;
    const grant =
      existing && existing.accountId === accountId && existing.clientId === clientId
        ? existing
        : new provider.current.Grant({ accountId, clientId });
    const allowed = {
      scopes: prompt.missingOIDCScope ?? [],
      claims: prompt.missingOIDCClaims ?? [],
      resourceScopes: prompt.missingResourceScopes ?? {},
    };
    if (allowed.scopes.length) grant.addOIDCScope(allowed.scopes);
    if (allowed.claims.length) grant.addOIDCClaims(allowed.claims);
    for (const [indicator, scopes] of Object.entries(allowed.resourceScopes)) grant.addResourceScope(indicator, scopes);
    const grantId = await grant.save();
    // Remembered for the next authorizations, which get grants of their own.
    await consents.remember(accountId, clientId, allowed);

    await provider.current.interactionFinished(
      ctx.req,
      ctx.res,
      { consent: { grantId } },
      { mergeWithLastSubmission: true },
    );
  });

  // "Cancel" at login and "Deny" at consent: the client gets access_denied
  // at its redirect URI (RFC 6749 §4.1.2.1).
  router.post('/:uid/abort', form, async (ctx) => {
    const details = await provider.current.interactionDetails(ctx.req, ctx.res);
    if (!checkCsrf(ctx, field(ctx.request.body, 'csrf'))) return csrfProblem(ctx, details);
    await provider.current.interactionFinished(
      ctx.req,
      ctx.res,
      { error: 'access_denied', error_description: 'End-User aborted interaction' },
      { mergeWithLastSubmission: false },
    );
  });

  // Any other method, or any other path under the interaction's: a page
  // saying so (these are pages for people), not the provider's JSON 404.
  const refuse = (allow: string) => (ctx: Context) => {
    ctx.set('allow', allow);
    views.failure(ctx, 405);
  };
  router.all('/:uid', refuse('GET, HEAD'));
  router.all('/:uid/:action', (ctx) => {
    const action = ctx.params.action as (typeof ROUTES.interactionActions)[number];
    if (ROUTES.interactionActions.includes(action)) return refuse('POST')(ctx);
    views.failure(ctx, 404);
  });
  router.all('/{*rest}', (ctx) => views.failure(ctx, 404));

  async function load(ctx: Context, expected: 'login' | 'consent'): Promise<Details> {
    const details = await provider.current.interactionDetails(ctx.req, ctx.res);
    if (details.prompt.name !== expected) throw new WrongPrompt();
    return details;
  }

  return router;
}

class WrongPrompt extends Error {}
