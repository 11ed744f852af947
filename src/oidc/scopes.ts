/** The scopes of our resource API (the seed's), in the order its README lists them. */
export const API_SCOPES = ['profile', 'buy', 'buy_history'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** Every scope this provider knows: OpenID Connect's and the API's (the `scopes` option). */
export const SCOPES: readonly string[] = [...new Set(['openid', 'offline_access', 'profile', 'email', ...API_SCOPES])];
