// The resource API's errors: RFC 6750 on the HTTP layer, the seed's envelope
// in the body ({code, success:false, msg, ts}). One table, documented in the
// README ("Resource API errors"); src/api/envelope.ts turns them into responses.

export const API_ERRORS = {
  token_missing: { code: 40101, status: 401 },
  invalid_token: { code: 40102, status: 401 },
  insufficient_scope: { code: 40301, status: 403 },
  invalid_request: { code: 40001, status: 400 },
  not_found: { code: 40401, status: 404 },
  method_not_allowed: { code: 40501, status: 405 },
  tx_conflict: { code: 40901, status: 409 },
  body_too_large: { code: 41301, status: 413 },
  temporarily_unavailable: { code: 50301, status: 503 },
  server_error: { code: 50001, status: 500 },
} as const;

export type ApiErrorKind = keyof typeof API_ERRORS;

export class ApiError extends Error {
  readonly status: number;
  readonly code: number;
  readonly expose = true;

  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    /** For 403 insufficient_scope: the scope the request needed (RFC 6750 §3.1). */
    readonly scope?: string,
  ) {
    super(message);
    this.status = API_ERRORS[kind].status;
    this.code = API_ERRORS[kind].code;
  }
}
