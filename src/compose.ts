// The composition root: every service is built here, once, and handed down.
// The server (src/server.ts), the tests' in-process server
// (tests/helpers/server.ts) and the CLI (src/cli/main.ts) all get theirs from
// compose(), so they run the same objects wired the same way; nothing below
// constructs a service of its own (createApp, the provider builder, the
// interaction routes and the client service receive theirs).
//
// A file of its own rather than src/setup.ts: setup says what must hold in
// the database before the first request (migrations, signing keys, the
// demo), compose says who is built from what. The API as a process of its
// own (src/api/server.ts) is another process: it needs a few of these
// services and must not load the provider, so it builds those few itself.
import { join } from 'node:path';
import type { Config } from './config/index.js';
import { resolveSecrets, type Secrets } from './config/secrets.js';
import { offeredResponseTypes } from './config/response-types.js';
import { openDatabase, type Database } from './db/client.js';
import { SecretBox } from './db/secret-box.js';
import { Accounts } from './accounts/accounts.js';
import { ClientStore } from './clients/store.js';
import { Clients } from './clients/clients.js';
import { Consents } from './consents/consents.js';
import { ConsoleSessions } from './console/sessions.js';
import { Views } from './web/views.js';
import { Throttle } from './security/throttle.js';
import { Metrics } from './observability/metrics.js';
import { storageAdapter } from './oidc/adapter.js';
import { readSigningKeys } from './oidc/keys.js';
import { keyRetention, providerBuilder } from './oidc/provider.js';
import { ProviderHolder } from './oidc/provider-holder.js';
import { KeyRefresh } from './oidc/key-refresh.js';
import { reportProviderEvents } from './oidc/provider-events.js';
import { Shop } from './api/shop.js';
import { verifierFor } from './api/token-verifier.js';
import type { AppDeps } from './app.js';
import type { Logger } from './log.js';
import { ROOT } from './root.js';
import { prepareDatabase } from './setup.js';
import { checkStoragePaths } from './startup/storage-paths.js';

export interface Services extends AppDeps {
  database: Database;
  secrets: Secrets;
  box: SecretBox;
  /** Not running until started (src/server.ts): the CLI only needs the provider. */
  keyRefresh: KeyRefresh;
  clients: ClientStore;
}

/** Opens and prepares the database, then builds every service on it. `log` receives the provider's events. */
export async function compose(config: Config, log: Logger): Promise<Services> {
  checkStoragePaths(config);
  const secrets = resolveSecrets(config);
  const box = new SecretBox(secrets.secretKey);
  const database = openDatabase(config.databaseUrl, log);
  await prepareDatabase(database, box);
  const { db, queries } = database;

  const accounts = new Accounts(db, queries.accounts);
  const clients = new ClientStore(db, box);
  const consents = new Consents(db, config.ttl.grant);
  const views = new Views(join(ROOT, 'views'), config.env !== 'development');
  const throttle = new Throttle(queries.rateLimits, config.throttle);
  const metrics = new Metrics(database.pool);

  // The provider: the first one from the keys in the database now, each later
  // one from the keys the refresh reads (src/oidc/provider-holder.ts).
  const build = providerBuilder(config, {
    accounts,
    clients,
    consents,
    views,
    throttle,
    box,
    cookieKeys: secrets.cookieKeys,
    adapter: storageAdapter(queries, clients),
  });
  const retention = keyRetention(config);
  const keys = await readSigningKeys(db, retention);
  const provider = new ProviderHolder(build(keys));
  reportProviderEvents(provider, log, metrics);
  const keyRefresh = new KeyRefresh(
    {
      read: () => readSigningKeys(db, retention),
      apply: (next) => provider.replace(build(next)),
      intervalMs: config.keyRefreshInterval * 1000,
    },
    keys,
  );

  return {
    config,
    database,
    db,
    secrets,
    box,
    provider,
    keyRefresh,
    accounts,
    clients,
    clientService: new Clients(
      (metadata) => provider.current.Client.validate(metadata),
      clients,
      offeredResponseTypes(config),
      config.issuer,
    ),
    consoleSessions: new ConsoleSessions(queries.artifacts, config.ttl.session),
    consents,
    views,
    shop: new Shop(db, queries.shop),
    verifier: verifierFor(config, { provider, checks: queries.tokenChecks }),
    throttle,
    metrics,
    cookieKeys: secrets.cookieKeys,
    log,
    root: ROOT,
  };
}
