// CSRF protection for our own forms (double-submit): a random token in a
// signed, HttpOnly, SameSite=Strict cookie scoped to the interaction's path,
// echoed in a hidden field. A page from another site can neither read the
// cookie nor send it along. The library protects its own logout form itself.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';

const COOKIE = '_interaction_csrf';

export function issueCsrf(ctx: Context, path: string): string {
  const existing = ctx.cookies.get(COOKIE, { signed: true });
  const token = existing && /^[\w-]{43}$/.test(existing) ? existing : randomBytes(32).toString('base64url');
  ctx.cookies.set(COOKIE, token, {
    signed: true,
    httpOnly: true,
    sameSite: 'strict',
    path,
    overwrite: true,
    secure: ctx.secure,
  });
  return token;
}

export function checkCsrf(ctx: Context, submitted: unknown): boolean {
  const expected = ctx.cookies.get(COOKIE, { signed: true });
  if (!expected || typeof submitted !== 'string' || submitted.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(submitted), Buffer.from(expected));
}
