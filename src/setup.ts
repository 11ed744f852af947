// Everything that must be true before the first request: the database schema
// is current, signing keys exist, and (first start only) a demo account and
// client exist. Shared by the server and the CLI.
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from './config/index.js';
import { resolveSecrets, type Secrets } from './config/secrets.js';
import { openDatabase, tuneSqlite, type Database } from './db/client.js';
import { migrate, readMigrations } from './db/migrate.js';
import { SecretBox } from './db/secret-box.js';
import { ensureSigningKeys } from './oidc/keys.js';
import { createProvider, type ProviderParts } from './oidc/provider.js';
import { offeredResponseTypes } from './oidc/response-types.js';
import { Clients } from './clients/clients.js';
import { AccountError } from './accounts/accounts.js';
import { Shop } from './api/shop.js';
import { verifierFor } from './api/token-verifier.js';
import type { AppDeps } from './app.js';
import type { Logger } from './log.js';
import { Metrics } from './observability/metrics.js';

/** The project root, from src/ under tsx or dist/src/ once compiled. */
export const ROOT = (() => {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.endsWith(join('dist', 'src')) ? join(here, '..', '..') : join(here, '..');
})();

export interface Prepared extends ProviderParts {
  database: Database;
  secrets: Secrets;
  clientService: Clients;
  shop: Shop;
}

export async function prepare(config: Config): Promise<Prepared> {
  const secrets = resolveSecrets(config);
  const database = openDatabase(config.databaseUrl);
  await migrate(database, readMigrations(ROOT, database.flavour));
  if (database.flavour === 'sqlite') await tuneSqlite(database.db);
  await ensureSigningKeys(database.db, new SecretBox(secrets.secretKey));
  const parts = await createProvider(config, secrets, database, join(ROOT, 'views'));
  return { ...parts, database, secrets, clientService: new Clients(parts.provider, parts.clients, offeredResponseTypes(config)), shop: new Shop(database.db) };
}

/** What createApp needs, from what prepare() made: the server and the tests wire the app the same way. */
export function appDeps(config: Config, prepared: Prepared, log: Logger): AppDeps {
  return {
    config,
    db: prepared.database.db,
    provider: prepared.provider,
    accounts: prepared.accounts,
    consents: prepared.consents,
    views: prepared.views,
    shop: prepared.shop,
    verifier: verifierFor(config, prepared.provider),
    throttle: prepared.throttle,
    metrics: new Metrics(prepared.database.pool),
    cookieKeys: prepared.secrets.cookieKeys,
    log,
    root: ROOT,
  };
}

export interface DemoCredentials {
  user: { username: string; password: string };
  client: { client_id: string; client_secret: string; redirect_uri: string };
}

/** On a database with no accounts and no clients: one of each, for trying the flows. */
export async function seedDemo(config: Config, prepared: Prepared): Promise<DemoCredentials | undefined> {
  if ((await prepared.accounts.count()) > 0 || (await prepared.clients.count()) > 0) return undefined;
  const password = randomBytes(12).toString('base64url');
  try {
    await prepared.accounts.create({ username: 'demo', password, serverId: 'demo_server', email: 'demo@example.com', name: 'Demo User' });
  } catch (err) {
    // Another node starting on the same empty database seeded first.
    if (err instanceof AccountError) return undefined;
    throw err;
  }
  const redirectUri = `${config.issuer}/demo/callback`;
  const client = await prepared.clientService.create({
    name: 'Demo client',
    redirectUris: [redirectUri],
    postLogoutRedirectUris: [`${config.issuer}/demo/logged-out`],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
  });
  return {
    user: { username: 'demo', password },
    client: { client_id: client.client_id, client_secret: String(client.client_secret), redirect_uri: redirectUri },
  };
}
