// The id_token of a token response, checked as OpenID Connect Core §3.1.3.7
// tells a client to: the signature against the issuer's published keys
// (fetched from /oauth/jwks, as a client would), then iss, aud, exp and the
// nonce the authorization request sent. Done with `jose`, the library real
// clients use, rather than with anything of the provider's.
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';

export interface IdTokenCheck {
  header: Record<string, unknown>;
  payload: JWTPayload;
  /** Each check by name (signature, iss, aud, exp, nonce), passed or not. */
  checks: { name: 'signature' | 'iss' | 'aud' | 'exp' | 'nonce'; ok: boolean }[];
  valid: boolean;
  /** jose's error code when verification failed (e.g. ERR_JWS_SIGNATURE_VERIFICATION_FAILED). */
  error?: string;
}

// One key set per JWKS URL: jose caches the keys and refetches on an unknown kid (key rotation).
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

export async function checkIdToken(
  idToken: string,
  expected: { issuer: string; jwksUri: string; clientId: string; nonce: string; nonceRequired: boolean },
): Promise<IdTokenCheck | undefined> {
  let header: Record<string, unknown>;
  let payload: JWTPayload;
  try {
    header = decodeProtectedHeader(idToken) as Record<string, unknown>;
    payload = decodeJwt(idToken);
  } catch {
    return undefined;
  }
  let keys = keySets.get(expected.jwksUri);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(expected.jwksUri));
    keySets.set(expected.jwksUri, keys);
  }
  let error: string | undefined;
  let signature = false;
  try {
    await jwtVerify(idToken, keys, { issuer: expected.issuer, audience: expected.clientId });
    signature = true;
  } catch (err) {
    error = err instanceof errors.JOSEError ? err.code : 'ERR_UNKNOWN';
    // A failed claim check still means the signature was good: jose checks the signature first.
    signature = err instanceof errors.JWTClaimValidationFailed || err instanceof errors.JWTExpired;
  }
  const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  const checks: IdTokenCheck['checks'] = [
    { name: 'signature', ok: signature },
    { name: 'iss', ok: payload.iss === expected.issuer },
    { name: 'aud', ok: aud.includes(expected.clientId) },
    { name: 'exp', ok: typeof payload.exp === 'number' && payload.exp * 1000 > Date.now() },
  ];
  // OIDC Core §12.2: an id_token from a refresh need not carry the nonce; when it does, it is the same.
  if (expected.nonceRequired || payload.nonce !== undefined) {
    checks.push({ name: 'nonce', ok: payload.nonce === expected.nonce });
  }
  return { header, payload, checks, valid: checks.every((c) => c.ok), ...(error ? { error } : {}) };
}
