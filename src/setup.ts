// Everything that must be true before the first request: the database schema
// is current, signing keys exist, and (first start only) a demo account and
// client exist. Shared by the server and the CLI.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ROOT } from './root.js';
import type { Config } from './config/index.js';
import { resolveSecrets, type Secrets } from './config/secrets.js';
import { openDatabase, tuneSqlite, type Database } from './db/client.js';
import { migrate, readMigrations } from './db/migrate.js';
import { SecretBox } from './db/secret-box.js';
import { ensureSigningKeys } from './oidc/keys.js';
import { createProvider, type ProviderParts } from './oidc/provider.js';
import { offeredResponseTypes } from './config/response-types.js';
import { Clients } from './clients/clients.js';
import { AccountError } from './accounts/accounts.js';
import { Shop } from './api/shop.js';
import { verifierFor } from './api/token-verifier.js';
import type { AppDeps } from './app.js';
import type { Logger } from './log.js';
import { Metrics } from './observability/metrics.js';
import { checkStoragePaths } from './startup/storage-paths.js';
import { ROUTES } from './routes.js';

export interface Prepared extends ProviderParts {
  database: Database;
  secrets: Secrets;
  clientService: Clients;
  shop: Shop;
}

export async function prepare(config: Config): Promise<Prepared> {
  checkStoragePaths(config);
  const secrets = resolveSecrets(config);
  const database = openDatabase(config.databaseUrl);
  await migrate(database, readMigrations(ROOT, database.flavour));
  if (database.flavour === 'sqlite') await tuneSqlite(database.db);
  await ensureSigningKeys(database.db, new SecretBox(secrets.secretKey));
  const parts = await createProvider(config, secrets, database, join(ROOT, 'views'));
  return {
    ...parts,
    database,
    secrets,
    clientService: new Clients(
      (metadata) => parts.provider.current.Client.validate(metadata),
      parts.clients,
      offeredResponseTypes(config),
    ),
    shop: new Shop(database.db),
  };
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
  client: { client_id: string; client_secret: string; redirect_uri: string; post_logout_redirect_uri: string };
}

/** On a database with no accounts and no clients: one of each, for trying the flows. */
export async function seedDemo(config: Config, prepared: Prepared): Promise<DemoCredentials | undefined> {
  if ((await prepared.accounts.count()) > 0 || (await prepared.clients.count()) > 0) return undefined;
  const password = randomBytes(12).toString('base64url');
  try {
    await prepared.accounts.create({
      username: 'demo',
      password,
      serverId: 'demo_server',
      email: 'demo@example.com',
      name: 'Demo User',
    });
  } catch (err) {
    // Another node starting on the same empty database seeded first.
    if (err instanceof AccountError) return undefined;
    throw err;
  }
  const redirectUri = demoRedirectUri(config);
  const postLogoutRedirectUri = `${config.issuer}${ROUTES.demoLoggedOut}`;
  const client = await prepared.clientService.create({
    name: DEMO_CLIENT_NAME,
    redirectUris: [redirectUri],
    postLogoutRedirectUris: [postLogoutRedirectUri],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
  });
  return {
    user: { username: 'demo', password },
    client: {
      client_id: client.client_id,
      client_secret: String(client.client_secret),
      redirect_uri: redirectUri,
      post_logout_redirect_uri: postLogoutRedirectUri,
    },
  };
}

const DEMO_CLIENT_NAME = 'Demo client';
const demoRedirectUri = (config: Config) => `${config.issuer}${ROUTES.demoCallback}`;

/**
 * The demo client when it was registered for another address than this
 * server's (PORT or ISSUER changed since the first start): its one redirect
 * URI sends every sign-in back to the old address.
 *
 * It is reported, not rewritten. A client's redirect URIs are what the
 * server promised its owner codes would go to (RFC 6749 §3.1.2); a start
 * that edits them because a setting changed would do so silently, on every
 * node that starts with a different ISSUER, and to whichever client happens
 * to look like the demo one. The fix is one command, which the warning gives.
 */
export async function misplacedDemoClient(
  config: Config,
  prepared: Prepared,
): Promise<{ clientId: string; redirectUri: string } | undefined> {
  const first = await prepared.clients.oldest();
  const [redirectUri, ...others] = first?.redirect_uris ?? [];
  if (
    first?.client_name !== DEMO_CLIENT_NAME ||
    !redirectUri ||
    others.length ||
    !redirectUri.endsWith(ROUTES.demoCallback)
  )
    return undefined;
  if (redirectUri === demoRedirectUri(config)) return undefined;
  return { clientId: first.client_id, redirectUri };
}

/** What to tell the person starting the server about a misplaced demo client. */
export function misplacedDemoClientWarning(config: Config, demo: { clientId: string; redirectUri: string }): string {
  return (
    `warning: the demo client (client_id ${demo.clientId}) was registered on the first start with redirect URI ${demo.redirectUri}, ` +
    `but this server is now ${config.issuer}; sign-ins with that client are sent back to the old address.\n` +
    `warning: register a client for this address: npm run --silent client:create -- --name "Demo client" --redirect-uri ${demoRedirectUri(config)} ` +
    `(or start on a fresh database, another DATABASE_URL, to get a new demo account and client)\n`
  );
}
