// The resource API as a process of its own (`npm run start:api`, via src/api/main.ts). It checks
// tokens over RFC 7662 introspection at the provider (INTROSPECTION_* settings)
// and shares the provider's database for accounts, the catalog and orders.
import Koa from 'koa';
import { ConfigError, loadConfig, loadDotEnv } from '../config/index.js';
import { createLogger } from '../log.js';
import { closeDatabase, openDatabase, tuneSqlite } from '../db/client.js';
import { migrate, readMigrations } from '../db/migrate.js';
import { errorHandler } from '../errors/handler.js';
import { Accounts } from '../accounts/accounts.js';
import { ROOT } from '../root.js';
import { serve } from '../serve.js';
import { apiMiddleware } from './routes.js';
import { openApiDocument } from './openapi.js';
import { Shop } from './shop.js';
import { verifierFor } from './token-verifier.js';
import { requestErrorLogger, requestLog } from '../observability/request-log.js';
import { Metrics } from '../observability/metrics.js';
import { securityHeaders } from '../security/headers.js';
import { checkDatabasePath } from '../startup/storage-paths.js';
import { exitForFailedStart } from '../startup/exit-codes.js';
import { ROUTES } from '../routes.js';

async function main(): Promise<void> {
  loadDotEnv();
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const verifier = verifierFor(config, undefined, 'introspection');
  checkDatabasePath(config.databaseUrl);
  const database = openDatabase(config.databaseUrl, log);
  await migrate(database, readMigrations(ROOT, database.flavour));
  if (database.flavour === 'sqlite') await tuneSqlite(database.db);

  const app = new Koa({ proxy: config.trustProxy, maxIpsCount: 1 });
  const logError = requestErrorLogger(log);
  app.on('error', logError);
  app.use(requestLog(log, new Metrics(database.pool), config.trustProxy));
  app.use(securityHeaders(config.issuer));
  app.use(errorHandler(logError));
  app.use(async (ctx, next) => {
    if (ctx.path !== ROUTES.healthz) return next();
    ctx.set('cache-control', 'no-store');
    try {
      await database.db.$queryRawUnsafe('SELECT 1');
      ctx.body = { status: 'ok' };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable' };
    }
  });
  app.use(
    apiMiddleware({
      verifier,
      apiResource: config.apiResource,
      accounts: new Accounts(database.db, database.queries.accounts),
      shop: new Shop(database.db, database.queries.shop),
      buyAtTimeZone: config.api.buyAtTimeZone,
      corsOrigins: config.api.corsOrigins,
      // No origin: this process's public address is in no setting (see OpenApiSettings.origin).
      openApi: openApiDocument({
        issuer: config.issuer,
        apiResource: config.apiResource,
        buyAtTimeZone: config.api.buyAtTimeZone,
      }),
      log: logError,
    }),
  );

  const server = await serve(
    app.callback(),
    { port: config.api.port, host: config.host, portSetting: 'API_PORT' },
    log,
    () => closeDatabase(database),
  );
  log.info({ address: server.address(), introspection: config.api.introspection.endpoint }, 'api listening');
}

main().catch((err: unknown) => exitForFailedStart(err, (e) => e instanceof ConfigError));
