// What a request that lost the race to consume an artifact is told.
//
// The library reads an artifact, sees it unconsumed, then calls consume();
// two requests can both get past that read. The adapter's consume() is a
// conditional update, so the database picks exactly one winner; every loser
// ends here, with the answer the library itself gives to a replay it sees
// in memory:
// - a code (RFC 6749 §4.1.2: the tokens issued from it SHOULD be revoked),
//   lib/helpers/grant_source.js consumeGrantSource;
// - a rotated refresh token (RFC 9700 §4.14.2: reuse revokes the token family),
//   lib/actions/grants/refresh_token.js;
// - a pushed authorization request's request_uri (RFC 9126 §4: one use),
//   lib/actions/authorization/respond.js.
import { errors } from 'oidc-provider';

export interface LostRace {
  /** Revoke the grant the artifact belongs to, and every token issued under it. */
  revokeGrant: boolean;
  error: Error;
}

const grantSource = (label: string): LostRace => ({
  revokeGrant: true,
  error: new errors.InvalidGrant(`${label} already consumed`),
});

const OUTCOMES: Record<string, () => LostRace> = {
  AuthorizationCode: () => grantSource('authorization code'),
  DeviceCode: () => grantSource('device code'),
  BackchannelAuthenticationRequest: () => grantSource('backchannel authentication request'),
  RefreshToken: () => ({ revokeGrant: true, error: new errors.InvalidGrant('refresh token already used') }),
  PushedAuthorizationRequest: () => ({
    revokeGrant: false,
    error: new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used'),
  }),
};

export function lostRace(model: string): LostRace {
  return OUTCOMES[model]?.() ?? { revokeGrant: false, error: new errors.InvalidRequest(`${model} already used`) };
}

/**
 * The library rotates a registration access token (RFC 7592 §2.2) by
 * destroying the one presented and issuing another: of two concurrent
 * updates, the one whose destroy found nothing lost and gets no new token.
 */
export const lostRegistrationTokenRace = () => new errors.InvalidToken('registration access token already used');
