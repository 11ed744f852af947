// Everything that must be true before the first request: the database schema
// is current, signing keys exist, and (first start only) a demo account and
// client exist. The services it uses are built by src/compose.ts.
import { randomBytes } from 'node:crypto';
import { ROOT } from './root.js';
import type { Config } from './config/index.js';
import { tuneSqlite, type Database } from './db/client.js';
import { migrate, readMigrations } from './db/migrate.js';
import type { SecretBox } from './db/secret-box.js';
import { ensureSigningKeys } from './oidc/keys.js';
import type { Clients } from './clients/clients.js';
import type { ClientStore } from './clients/store.js';
import { AccountError, type Accounts } from './accounts/accounts.js';
import { ROUTES } from './routes.js';

/** The schema is current and signing keys exist: run before any service reads the database. */
export async function prepareDatabase(database: Database, box: SecretBox): Promise<void> {
  await migrate(database, readMigrations(ROOT, database.flavour));
  if (database.flavour === 'sqlite') await tuneSqlite(database.db);
  await ensureSigningKeys(database.db, box);
}

/** What the demo seeding reads and writes (src/compose.ts builds them). */
export interface DemoServices {
  accounts: Accounts;
  clients: ClientStore;
  clientService: Clients;
}

export interface DemoCredentials {
  user: { username: string; password: string };
  client: { client_id: string; client_secret: string; redirect_uri: string; post_logout_redirect_uri: string };
}

/** On a database with no accounts and no clients: one of each, for trying the flows. */
export async function seedDemo(config: Config, services: DemoServices): Promise<DemoCredentials | undefined> {
  if ((await services.accounts.count()) > 0 || (await services.clients.count()) > 0) return undefined;
  const password = randomBytes(12).toString('base64url');
  try {
    await services.accounts.create({
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
  const client = await services.clientService.create({
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
  services: DemoServices,
): Promise<{ clientId: string; redirectUri: string } | undefined> {
  const first = await services.clients.oldest();
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
