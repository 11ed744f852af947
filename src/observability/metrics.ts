// Prometheus metrics (prom-client), served at GET /metrics: request counts and
// latency by route and status, tokens issued by grant, sign-in and client
// authentication failures, and the database pool. Routes are normalised to
// a fixed set of templates so that ids in paths cannot blow up cardinality.
import client from 'prom-client';
import type pg from 'pg';
import { ROUTES, escapeForRegExp } from '../routes.js';

export class Metrics {
  readonly registry = new client.Registry();
  /** What GET /metrics answers: this process's registry, or every worker's (see `gatherFromCluster`). */
  text: () => Promise<string> = () => this.registry.metrics();
  readonly requests = new client.Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  readonly latency = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly tokensIssued = new client.Counter({
    name: 'oauth_tokens_issued_total',
    help: 'Successful token endpoint requests, by grant type',
    labelNames: ['grant_type'],
    registers: [this.registry],
  });
  readonly loginFailures = new client.Counter({
    name: 'login_failures_total',
    help: 'Failed sign-ins: wrong credentials, or refused by throttling',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly clientAuthFailures = new client.Counter({
    name: 'client_auth_failures_total',
    help: 'Failed client authentications at the token, introspection, revocation and PAR endpoints',
    registers: [this.registry],
  });

  constructor(pool?: pg.Pool) {
    client.collectDefaultMetrics({ register: this.registry });
    if (pool) {
      const gauge = (name: string, help: string, read: () => number) =>
        new client.Gauge({
          name,
          help,
          registers: [this.registry],
          collect() {
            this.set(read());
          },
        });
      gauge('db_pool_connections', 'PostgreSQL connections open in the pool', () => pool.totalCount);
      gauge('db_pool_idle_connections', 'PostgreSQL connections idle in the pool', () => pool.idleCount);
      gauge('db_pool_waiting_requests', 'Queries waiting for a PostgreSQL connection', () => pool.waitingCount);
    }
  }

  /**
   * In a worker of several (src/workers.ts): answer the primary's requests
   * for this registry (prom-client's cluster protocol), and serve at
   * /metrics what `gather` returns, the sum over every worker that the
   * primary aggregates. Without it a scrape counts only the worker that
   * happened to receive it.
   */
  gatherFromCluster(gather: () => Promise<string>): void {
    client.AggregatorRegistry.setRegistries([this.registry]);
    // Its constructor installs the worker's reply to the primary's requests.
    new client.AggregatorRegistry();
    this.text = gather;
  }
}

const underId = (prefix: string, tail = '') => new RegExp(`^${escapeForRegExp(prefix)}/[^/]+${tail}$`);
const TEMPLATES: [RegExp, string][] = [
  [underId(ROUTES.interaction, `/(${ROUTES.interactionActions.join('|')})`), `${ROUTES.interaction}/:uid/$1`],
  [underId(ROUTES.interaction), `${ROUTES.interaction}/:uid`],
  [underId(ROUTES.oauth.authorization), `${ROUTES.oauth.authorization}/:uid`],
  [underId(ROUTES.oauth.registration), `${ROUTES.oauth.registration}/:id`],
];

const KNOWN = new Set<string>([
  '/',
  ROUTES.healthz,
  ROUTES.metrics,
  ROUTES.stylesheet,
  ROUTES.countdownScript,
  ROUTES.favicon,
  ROUTES.demoCallback,
  ROUTES.demoLoggedOut,
  ROUTES.locale,
  ROUTES.openidConfiguration,
  ROUTES.oauthAuthorizationServer,
  ROUTES.oauth.authorization,
  ROUTES.oauth.token,
  ROUTES.oauth.userinfo,
  ROUTES.oauth.jwks,
  ROUTES.oauth.introspection,
  ROUTES.oauth.revocation,
  ROUTES.oauth.end_session,
  ROUTES.endSessionConfirm,
  ROUTES.endSessionSuccess,
  ROUTES.oauth.pushed_authorization_request,
  ROUTES.oauth.registration,
  ROUTES.apiMe,
  ROUTES.apiItems,
  ROUTES.apiBuy,
  ROUTES.apiOrders,
  ROUTES.apiOpenApi,
]);

export function routeOf(path: string): string {
  if (KNOWN.has(path)) return path;
  for (const [re, template] of TEMPLATES) if (re.test(path)) return path.replace(re, template);
  return 'other';
}
