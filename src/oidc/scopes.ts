/** The scopes of our resource API (the seed's), in the order its README lists them. */
export const API_SCOPES = ['profile', 'buy', 'buy_history'] as const;
export type ApiScope = (typeof API_SCOPES)[number];
