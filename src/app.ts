// The Koa application: our routes first, the provider last. Built by a
// function (tests start it on port 0 in-process); src/main.ts listens.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Koa from 'koa';
import Router from '@koa/router';
import type { Config } from './config/index.js';
import type { Db } from './db/client.js';
import type { Logger } from './log.js';
import type { Accounts } from './accounts/accounts.js';
import type { Consents } from './consents/consents.js';
import type { Clients } from './clients/clients.js';
import type { ConsoleSessions } from './console/sessions.js';
import { developerConsole } from './console/index.js';
import type { Views } from './web/views.js';
import { errorHandler } from './errors/handler.js';
import { oauthError } from './errors/oauth.js';
import { interactionRoutes } from './interactions/routes.js';
import { translator } from './web/i18n.js';
import { switchLocale } from './web/locale.js';
import { multipartTokenShim } from './oidc/multipart-token-shim.js';
import { postAsGetShim } from './oidc/post-as-get-shim.js';
import { ROUTES } from './routes.js';
import { apiMiddleware } from './api/routes.js';
import { openApiDocument } from './api/openapi.js';
import type { Shop } from './api/shop.js';
import type { ProviderHolder } from './oidc/provider-holder.js';
import type { TokenVerifier } from './api/token-verifier.js';
import type { Throttle } from './security/throttle.js';
import { securityHeaders } from './security/headers.js';
import { requestErrorLogger, requestLog } from './observability/request-log.js';
import type { Metrics } from './observability/metrics.js';
import { metricsRoute } from './observability/metrics-route.js';

export interface AppDeps {
  config: Config;
  db: Db;
  provider: ProviderHolder;
  accounts: Accounts;
  consents: Consents;
  /** Every rule about clients: the console, the command line and the tests. */
  clientService: Clients;
  consoleSessions: ConsoleSessions;
  views: Views;
  shop: Shop;
  verifier: TokenVerifier;
  throttle: Throttle;
  metrics: Metrics;
  cookieKeys: string[];
  log: Logger;
  root: string;
}

export function createApp(deps: AppDeps): Koa {
  const { config, db, provider, views, log, metrics } = deps;
  // Behind a proxy, only the address it appended (the last X-Forwarded-For
  // entry) is trusted: the ones before it are whatever the client wrote.
  const app = new Koa({ keys: deps.cookieKeys, proxy: config.trustProxy, maxIpsCount: 1 });

  // The provider's own events are reported once per node, by src/compose.ts
  // (src/oidc/provider-events.ts): a second app on one provider would double them.
  const logError = requestErrorLogger(log);
  app.on('error', (err: unknown, ctx?: Koa.Context) => logError(err, ctx));

  app.use(requestLog(log, metrics, config.trustProxy));
  app.use(securityHeaders(config.issuer));
  // A person's browser on one of our pages gets a page when something fails, never JSON.
  app.use(errorHandler(logError, views.pageForPeople));

  // The API is served beside the provider here, so the issuer is its address too.
  // One document for /api/openapi.json and the console's API reference.
  const openApi = openApiDocument({
    issuer: config.issuer,
    apiResource: config.apiResource,
    buyAtTimeZone: config.api.buyAtTimeZone,
    origin: config.issuer,
  });

  // The resource API: its own error envelope, its own CORS.
  app.use(
    apiMiddleware({
      verifier: deps.verifier,
      apiResource: config.apiResource,
      accounts: deps.accounts,
      shop: deps.shop,
      buyAtTimeZone: config.api.buyAtTimeZone,
      corsOrigins: config.api.corsOrigins,
      openApi,
      log: logError,
    }),
  );

  const router = new Router();
  // Our only static files, read once: the stylesheet, and the console's one
  // script (the inspect page's countdown; CSP script-src 'self').
  const serveFile = (path: string, file: string, type: string) => {
    const body = readFileSync(join(deps.root, 'public', file));
    router.get(path, (ctx) => {
      ctx.type = type;
      ctx.set('cache-control', 'public, max-age=3600');
      ctx.body = body;
    });
  };
  serveFile(ROUTES.stylesheet, 'app.css', 'text/css');
  serveFile(ROUTES.countdownScript, 'countdown.js', 'text/javascript');

  // Browsers ask for it on every page; an empty answer beats a 404 in their console.
  router.get(ROUTES.favicon, (ctx) => {
    ctx.status = 204;
    ctx.set('cache-control', 'public, max-age=86400');
  });

  // Ready once the database answers; 503 while it does not.
  router.get(ROUTES.healthz, async (ctx) => {
    ctx.set('cache-control', 'no-store');
    try {
      await db.$queryRawUnsafe('SELECT 1');
      ctx.body = { status: 'ok' };
    } catch (err) {
      log.warn({ err }, 'health check: database unreachable');
      ctx.status = 503;
      ctx.body = { status: 'unavailable' };
    }
  });

  // Where the demo client is sent back to: shows what arrived (the code and
  // state of the seed's flow) so a learner can paste it into the next curl;
  // after logout, the state only, with words of its own.
  const showArrival = (page: 'callback' | 'loggedOut') => (ctx: Koa.Context) => {
    const entries = Object.entries(ctx.query).map(([name, value]) => ({ name, value: String(value) }));
    const locale = views.locale(ctx);
    views.render(ctx, 'callback', locale, (t) => t(`${page}.title`), {
      entries,
      lead: translator(locale)(`${page}.lead`),
      next: translator(locale)(`${page}.next`),
    });
  };
  // Teaching aids: not served in production, where the identity server's
  // origin must not display arbitrary text from a URL.
  const demoPages = config.env !== 'production';
  if (demoPages) {
    router.get(ROUTES.demoCallback, showArrival('callback'));
    router.get(ROUTES.demoLoggedOut, showArrival('loggedOut'));
  }
  router.get(ROUTES.locale, switchLocale);
  router.get(ROUTES.metrics, metricsRoute(metrics, config.metricsToken));
  // Any other method on these paths: 405, not the provider's 404.
  for (const path of [
    ROUTES.stylesheet,
    ROUTES.countdownScript,
    ROUTES.favicon,
    ROUTES.healthz,
    ROUTES.metrics,
    ROUTES.locale,
    ...(demoPages ? [ROUTES.demoCallback, ROUTES.demoLoggedOut] : []),
  ]) {
    router.all(path, (ctx) => {
      ctx.set('allow', 'GET, HEAD');
      if (views.pageForPeople(ctx, 405)) return;
      oauthError(ctx, 405, 'invalid_request', 'method not allowed; allowed: GET, HEAD');
    });
  }

  app.use(router.routes());
  app.use(
    developerConsole({
      issuer: config.issuer,
      signUp: config.consoleSignUp,
      accounts: deps.accounts,
      clients: deps.clientService,
      sessions: deps.consoleSessions,
      views,
      throttle: deps.throttle,
      metrics,
      provider,
      openApi,
    }),
  );
  app.use(
    interactionRoutes({
      provider,
      accounts: deps.accounts,
      consents: deps.consents,
      views,
      throttle: deps.throttle,
      metrics,
    }).routes(),
  );

  app.use(multipartTokenShim);
  // POST at the authorization and logout endpoints, with SameSite=Lax cookies.
  app.use(postAsGetShim(ROUTES.oauth, views));

  // RFC 8414 metadata: the library serves the OIDC discovery document; plain
  // OAuth clients look for the same document here.
  app.use(async (ctx, next) => {
    if (
      ctx.path === ROUTES.oauthAuthorizationServer &&
      (ctx.method === 'GET' || ctx.method === 'HEAD' || ctx.method === 'OPTIONS')
    ) {
      ctx.req.url = ROUTES.openidConfiguration;
    }
    return next();
  });

  // The provider answers everything else, on its own Koa context: the one
  // current when the request arrives. Not koa-mount, as the library's docs
  // show: mount() binds one instance, and ours is replaced when the signing
  // keys change (src/oidc/provider-holder.ts); at the root path it would add nothing.
  const callback = provider.callback();
  app.use(async (ctx) => {
    ctx.respond = false;
    await callback(ctx.req, ctx.res);
  });

  return app;
}
