// Builds the oidc-provider instance from its parts, and again whenever the
// signing keys change (src/oidc/key-refresh.ts). Used by the server and by
// the CLI (which needs the library's own client metadata validation).
import Provider from 'oidc-provider';
import type { Config } from '../config/index.js';
import type { Secrets } from '../config/secrets.js';
import type { Database } from '../db/client.js';
import { SecretBox } from '../db/secret-box.js';
import { Accounts } from '../accounts/accounts.js';
import { ClientStore } from '../clients/store.js';
import { Consents } from '../consents/consents.js';
import { Views } from '../web/views.js';
import { buildConfiguration } from './configuration.js';
import { ROUTES } from '../routes.js';
import { unmatchedRoutes } from './unmatched-routes.js';
import { rfc6749ErrorCodes } from './rfc6749-error-codes.js';
import { Throttle } from '../security/throttle.js';
import { clientAuthThrottle } from '../security/client-auth-throttle.js';
import { databaseUnavailable, markIfDatabaseUnavailable } from './database-unavailable.js';
import { storageAdapter } from './adapter.js';
import { openJwks, readSigningKeys, type StoredKey } from './keys.js';
import { ProviderHolder } from './provider-holder.js';
import { KeyRefresh } from './key-refresh.js';

export interface ProviderParts {
  /** The provider answering now; replaced when the signing keys change. */
  provider: ProviderHolder;
  /** Not running until started (src/main.ts): the CLI only needs the provider. */
  keyRefresh: KeyRefresh;
  accounts: Accounts;
  clients: ClientStore;
  consents: Consents;
  views: Views;
  box: SecretBox;
  throttle: Throttle;
}

export async function createProvider(
  config: Config,
  secrets: Secrets,
  database: Database,
  viewsDir: string,
): Promise<ProviderParts> {
  const { db, queries } = database;
  const box = new SecretBox(secrets.secretKey);
  const accounts = new Accounts(db, queries.accounts);
  const clients = new ClientStore(db, box);
  const consents = new Consents(db, config.ttl.grant);
  const views = new Views(viewsDir, config.env !== 'development');
  const throttle = new Throttle(db, config.throttle);
  const adapter = storageAdapter(queries, clients);

  // Every provider this node runs, the first and each one after a key
  // change, is made here, the same way but for its keys.
  const build = (keys: StoredKey[]): Provider => {
    const provider = new Provider(
      config.issuer,
      buildConfiguration({
        config,
        accounts,
        consents,
        views,
        adapter,
        clients,
        jwks: openJwks(box, keys),
        cookieKeys: secrets.cookieKeys,
      }),
    );
    provider.proxy = config.trustProxy;
    provider.maxIpsCount = 1; // as in src/app.ts: only the proxy's own X-Forwarded-For entry
    // Post-processing of the library's own answers (its docs, "Pre- and post-middlewares").
    provider.use(databaseUnavailable);
    provider.on('server_error', markIfDatabaseUnavailable);
    provider.use(unmatchedRoutes(ROUTES.oauth, config.registration.enabled));
    provider.use(rfc6749ErrorCodes);
    provider.use(
      clientAuthThrottle(
        throttle,
        new Set([
          ROUTES.oauth.token,
          ROUTES.oauth.introspection,
          ROUTES.oauth.revocation,
          ROUTES.oauth.pushed_authorization_request,
        ]),
      ),
    );
    return provider;
  };

  const retention = keyRetention(config);
  const keys = await readSigningKeys(db, retention);
  const provider = new ProviderHolder(build(keys));
  const keyRefresh = new KeyRefresh(
    {
      read: () => readSigningKeys(db, retention),
      apply: (next) => provider.replace(build(next)),
      intervalMs: config.keyRefreshInterval * 1000,
    },
    keys,
  );
  return { provider, keyRefresh, accounts, clients, consents, views, box, throttle };
}

/**
 * How long a rotated-out signing key stays published: as long as an ID token
 * it signed can still be presented (its lifetime, and again as an
 * id_token_hint at logout), with a day's margin for clock skew and caches.
 */
export function keyRetention(config: Config): number {
  return config.ttl.idToken + 24 * 3600;
}
