// The response types this provider offers, as IMPLICIT_AND_HYBRID chooses
// them: one list for the library's `responseTypes` option
// (src/oidc/configuration.ts, where the why is) and for the client service,
// which names them when it refuses a client. In the base layer, beside the
// setting, so that both can read it.
import type { ResponseType } from 'oidc-provider';
import type { Config } from './index.js';

/** The authorization code flow only (OAuth 2.1 §4.1; RFC 9700 §2.1.2). */
export const CODE_ONLY: readonly ResponseType[] = ['code'];

/** Plus OpenID Connect Core's implicit (§3.2) and hybrid (§3.3) flows: IMPLICIT_AND_HYBRID=true. */
export const WITH_IMPLICIT_AND_HYBRID: readonly ResponseType[] = [
  'code',
  'code id_token',
  'code token',
  'code id_token token',
  'id_token',
  'id_token token',
];

export function offeredResponseTypes(config: Pick<Config, 'implicitAndHybrid'>): ResponseType[] {
  return [...(config.implicitAndHybrid ? WITH_IMPLICIT_AND_HYBRID : CODE_ONLY)];
}

/** "id_token code" and "code id_token" are the same type (OAuth 2.0 Multiple Response Types §3: order does not matter). */
export const sameResponseType = (a: string, b: string): boolean =>
  a.split(' ').filter(Boolean).sort().join(' ') === b.split(' ').filter(Boolean).sort().join(' ');
