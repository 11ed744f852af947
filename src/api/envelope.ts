// The seed's JSON envelope, and the one mapping from errors to API answers.
import type { Context, Next } from 'koa';
import { isDatabaseUnavailable } from '../db/errors.js';
import { clientFault } from '../errors/handler.js';
import { ApiError } from './errors.js';
import { IntrospectionUnavailable } from './token-verifier.js';

export const now = () => Math.floor(Date.now() / 1000);

/** The seed's success messages ("query succeeded", "purchase succeeded"). */
export const OK_MSG = { query: '查詢成功', bought: '購買成功' } as const;

export function ok(ctx: Context, msg: string, fields: Record<string, unknown> = {}): void {
  ctx.status = 200;
  ctx.body = { code: 0, success: true, ...fields, msg, ts: now() };
}

/** RFC 6750 §3: the challenge for each kind of token failure. */
function challenge(err: ApiError): string | undefined {
  if (err.kind === 'token_missing') return 'Bearer';
  if (err.kind === 'invalid_token') return `Bearer error="invalid_token", error_description="${err.message}"`;
  if (err.kind === 'insufficient_scope') return `Bearer error="insufficient_scope", scope="${err.scope ?? ''}"`;
  return undefined;
}

function fromUnknown(raw: unknown): ApiError | undefined {
  if (raw instanceof ApiError) return raw;
  if (isDatabaseUnavailable(raw) || raw instanceof IntrospectionUnavailable)
    return new ApiError('temporarily_unavailable', 'the service is temporarily unavailable');
  // @koa/bodyparser: too large, not JSON, or not decodable.
  const fault = clientFault(raw);
  if (fault?.status === 413) return new ApiError('body_too_large', 'body: larger than 16 KB');
  if (fault) return new ApiError('invalid_request', 'body: not valid JSON');
  return undefined;
}

export function apiErrors(log: (err: unknown, ctx: Context) => void) {
  return async function handleApiErrors(ctx: Context, next: Next): Promise<void> {
    ctx.set('cache-control', 'no-store');
    try {
      await next();
      if (ctx.body === undefined || ctx.body === null) {
        if (ctx.status === 404) throw new ApiError('not_found', 'no such endpoint');
        if (ctx.status === 405)
          throw new ApiError('method_not_allowed', `method not allowed; allowed: ${ctx.response.get('allow')}`);
      }
    } catch (raw) {
      const err = fromUnknown(raw);
      if (!err || err.kind === 'temporarily_unavailable') log(raw, ctx);
      const answer = err ?? new ApiError('server_error', 'internal error');
      const www = challenge(answer);
      if (www) ctx.set('www-authenticate', www);
      if (answer.kind === 'temporarily_unavailable') ctx.set('retry-after', '5');
      ctx.status = answer.status;
      ctx.body = { code: answer.code, success: false, msg: answer.message, ts: now() };
    }
  };
}
