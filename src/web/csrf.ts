// CSRF protection for our own forms (double-submit): a random token in a
// signed, HttpOnly, SameSite=Strict cookie scoped to the form's path (an
// interaction's, or the console's), echoed in a hidden field. A page from another site can neither read the
// cookie nor send it along. The library protects its own logout form itself.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';

const INTERACTION_COOKIE = '_interaction_csrf';

export function issueCsrf(ctx: Context, path: string, cookie = INTERACTION_COOKIE): string {
  const existing = ctx.cookies.get(cookie, { signed: true });
  const token = existing && /^[\w-]{43}$/.test(existing) ? existing : randomBytes(32).toString('base64url');
  ctx.cookies.set(cookie, token, {
    signed: true,
    httpOnly: true,
    sameSite: 'strict',
    path,
    overwrite: true,
    secure: ctx.secure,
  });
  return token;
}

export function checkCsrf(ctx: Context, submitted: unknown, cookie = INTERACTION_COOKIE): boolean {
  const expected = ctx.cookies.get(cookie, { signed: true });
  if (!expected || typeof submitted !== 'string' || submitted.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(submitted), Buffer.from(expected));
}
