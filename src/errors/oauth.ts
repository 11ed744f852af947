// Errors in the OAuth JSON shape (RFC 6749 §5.2) for the few answers our own
// code gives on the library's endpoints and our own; everything else on those
// endpoints is the library's.
import type { Context } from 'koa';

export function oauthError(ctx: Context, status: number, error: string, description?: string): void {
  ctx.status = status;
  ctx.set('cache-control', 'no-store');
  ctx.body = description ? { error, error_description: description } : { error };
}
