// How a provider is built from its parts, the same way for the first one and
// for each one the key refresh (src/oidc/key-refresh.ts) swaps in: only the
// signing keys differ. The parts are built once, by the composition root
// (src/compose.ts), and handed in; nothing here constructs a service.
import Provider from 'oidc-provider';
import type { Config } from '../config/index.js';
import type { SecretBox } from '../db/secret-box.js';
import type { Throttle } from '../security/throttle.js';
import { buildConfiguration, type ConfigurationDeps } from './configuration.js';
import { ROUTES } from '../routes.js';
import { unmatchedRoutes } from './unmatched-routes.js';
import { rfc6749ErrorCodes } from './rfc6749-error-codes.js';
import { clientAuthThrottle } from '../security/client-auth-throttle.js';
import { databaseUnavailable, markIfDatabaseUnavailable } from './database-unavailable.js';
import { openJwks, type StoredKey } from './keys.js';

/** What the configuration needs (its `adapter`: one storage adapter factory for every provider this node builds), and more. */
export interface ProviderServices extends Omit<ConfigurationDeps, 'config' | 'jwks'> {
  throttle: Throttle;
  /** Opens the sealed signing keys. */
  box: SecretBox;
}

/** Builds a provider for these signing keys; called again on every key change. */
export function providerBuilder(config: Config, services: ProviderServices): (keys: StoredKey[]) => Provider {
  const { throttle, box } = services;
  return (keys) => {
    const provider = new Provider(
      config.issuer,
      buildConfiguration({ ...services, config, jwks: openJwks(box, keys) }),
    );
    provider.proxy = config.trustProxy;
    provider.maxIpsCount = 1; // as in src/app.ts: only the proxy's own X-Forwarded-For entry
    // Post-processing of the library's own answers (its docs, "Pre- and post-middlewares").
    // A person's browser on a page meant for people gets a page when something fails, never JSON.
    const page = services.views.pageForPeople;
    provider.use(databaseUnavailable(page));
    provider.on('server_error', markIfDatabaseUnavailable);
    provider.use(unmatchedRoutes(ROUTES.oauth, config.registration.enabled, page));
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
}

/**
 * How long a rotated-out signing key stays published: as long as an ID token
 * it signed can still be presented (its lifetime, and again as an
 * id_token_hint at logout), with a day's margin for clock skew and caches.
 */
export function keyRetention(config: Config): number {
  return config.ttl.idToken + 24 * 3600;
}
