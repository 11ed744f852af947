// The developer console (issue 12): the site's home page and everything under
// /console, one middleware for src/app.ts. Each page or group of pages is a
// router of its own, built here with the shared kit (src/console/kit.ts);
// a new one is added to the list below.
import compose from 'koa-compose';
import type { Middleware } from 'koa';
import type { Accounts } from '../accounts/accounts.js';
import type { OpenApiDocument } from '../api/openapi.js';
import type { Clients } from '../clients/clients.js';
import type { Metrics } from '../observability/metrics.js';
import type { ProviderHolder } from '../oidc/provider-holder.js';
import type { Throttle } from '../security/throttle.js';
import type { Views } from '../web/views.js';
import { consoleBoundary, consoleKit, consoleNotFound } from './kit.js';
import { learnRoutes } from './learn.js';
import { clientRoutes } from './routes.js';
import type { ConsoleSessions } from './sessions.js';
import { tryFlowRoutes } from './try-flow.js';

export interface ConsoleDeps {
  issuer: string;
  /** Whether anyone may create an account here (CONSOLE_SIGN_UP). */
  signUp: boolean;
  accounts: Accounts;
  clients: Clients;
  sessions: ConsoleSessions;
  views: Views;
  throttle: Throttle;
  metrics: Metrics;
  /** The provider answering now: the token inspector reads tokens through its models. */
  provider: ProviderHolder;
  /** The resource API's OpenAPI document, as /api/openapi.json serves it. */
  openApi: OpenApiDocument;
}

export function developerConsole(deps: ConsoleDeps): Middleware {
  const kit = consoleKit(deps.views, deps.sessions, deps.clients);
  const routers = [clientRoutes({ kit, ...deps }), tryFlowRoutes({ kit, ...deps }), learnRoutes({ kit, ...deps })];
  return compose([
    consoleBoundary(kit, deps.accounts),
    ...routers.map((r) => r.routes() as Middleware),
    consoleNotFound(kit),
  ]);
}
