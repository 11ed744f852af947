// Who is signed in to the console: a random id in a signed, HttpOnly,
// SameSite=Lax cookie, and the session itself in the database (the
// provider's artifact table, model "ConsoleSession"), so signing out ends it
// on every node and the purge job removes expired ones. Apart from the
// provider's own session on purpose: the console is an application of this
// server, not the server's sign-in, and signing out of one leaves the other.
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { ArtifactQueries } from '../db/queries/artifacts.js';

const COOKIE = 'console_session';
const MODEL = 'ConsoleSession';
const ID = /^[\w-]{43}$/;

/** What a console session remembers between pages. */
export interface SessionData {
  accountId: string;
  /** A secret to show once on the next page (after creating a client or rotating its secret). */
  reveal?: { clientId: string; secret: string };
  /** Feature state kept between a page and its next step, by feature name (e.g. the code flow being tried). */
  [feature: string]: unknown;
}

export interface Session {
  readonly id: string;
  readonly expiresAt: Date;
  data: SessionData;
}

export class ConsoleSessions {
  constructor(
    private readonly artifacts: ArtifactQueries,
    /** Seconds a session lives from sign-in (SESSION_TTL). */
    private readonly ttl: number,
  ) {}

  /** A new session for the account, under a new id (never a fixated one). */
  async start(ctx: Context, accountId: string): Promise<Session> {
    await this.end(ctx);
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      expiresAt: new Date(Date.now() + this.ttl * 1000),
      data: { accountId },
    };
    await this.save(session);
    ctx.cookies.set(COOKIE, session.id, {
      signed: true,
      httpOnly: true,
      sameSite: 'lax',
      secure: ctx.secure,
      path: '/',
      expires: session.expiresAt,
      overwrite: true,
    });
    return session;
  }

  async current(ctx: Context): Promise<Session | undefined> {
    const id = ctx.cookies.get(COOKIE, { signed: true });
    if (!id || !ID.test(id)) return undefined;
    const row = await this.artifacts.find(MODEL, id);
    if (!row?.expiresAt || row.expiresAt.getTime() <= Date.now()) return undefined;
    return { id, expiresAt: row.expiresAt, data: JSON.parse(row.payload) as SessionData };
  }

  async save(session: Session): Promise<void> {
    await this.artifacts.upsert({
      model: MODEL,
      id: session.id,
      payload: JSON.stringify(session.data),
      grantId: null,
      userCode: null,
      uid: null,
      expiresAt: session.expiresAt,
    });
  }

  async end(ctx: Context): Promise<void> {
    const id = ctx.cookies.get(COOKIE, { signed: true });
    if (id && ID.test(id)) await this.artifacts.destroy(MODEL, id);
    ctx.cookies.set(COOKIE, null, { path: '/', overwrite: true });
  }
}
