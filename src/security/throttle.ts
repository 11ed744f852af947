// Brute-force throttling: sign-in attempts counted per username and per
// client IP (successes given back), failed client authentications per
// (client, IP) and per IP. Counters
// live in the database, so every node sees the same numbers: counted by
// rate-limiter-flexible's Prisma store (on failures), read on every request
// through the query layer's prepared statement (src/db/queries/rate-limits.ts). A key that reaches its limit is refused until its
// window ends; a successful sign-in clears that username's counter.
import { createHash } from 'node:crypto';
import { RateLimiterPrisma, type RateLimiterRes } from 'rate-limiter-flexible';
import type { Db } from '../db/client.js';
import type { RateLimitQueries } from '../db/queries/rate-limits.js';
import type { ThrottleLimits } from '../config/index.js';

// Usernames and client ids are the client's text: hash them into fixed-size keys.
const key = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('base64url');
const cacheKeyOf = (pairs: [RateLimiterPrisma, string][]) => pairs.map(([limiter, k]) => limiter.getKey(k)).join(' ');
const normalize = (username: string) => username.normalize('NFKC').toLowerCase().slice(0, 256);

export class Throttle {
  readonly #loginUser: RateLimiterPrisma;
  readonly #loginIp: RateLimiterPrisma;
  readonly #clientAuth: RateLimiterPrisma;
  readonly #clientAuthIp: RateLimiterPrisma;
  /** Key sets known to have no counters, until when (ms). */
  readonly #clear = new Map<string, number>();

  constructor(
    db: Db,
    private readonly counters: RateLimitQueries,
    limits: ThrottleLimits,
  ) {
    const store = (keyPrefix: string, points: number) =>
      new RateLimiterPrisma({
        storeClient: db,
        tableName: 'rateLimit',
        keyPrefix,
        points,
        duration: limits.window,
        // Expired rows go with the purge job (src/oidc/adapter.ts), not the library's own timer.
        clearExpiredByTimeout: false,
      });
    this.#loginUser = store('login-user', limits.loginPerUser);
    this.#loginIp = store('login-ip', limits.loginPerIp);
    this.#clientAuth = store('client-auth', limits.clientAuthPerClient);
    this.#clientAuthIp = store('client-auth-ip', limits.clientAuthPerIp);
  }

  /**
   * Seconds until the first of these counters lets requests through again; 0
   * when none is at its limit. Every request asks this, almost always of keys
   * with no failures at all: one query reads all the counters, and a
   * "nothing recorded" answer is reused for a second (so another node's
   * failures can take up to a second to count here).
   */
  async #wait(pairs: [RateLimiterPrisma, string][]): Promise<number> {
    const keys = pairs.map(([limiter, k]) => limiter.getKey(k));
    const cacheKey = keys.join(' ');
    const clearUntil = this.#clear.get(cacheKey);
    if (clearUntil !== undefined && clearUntil > Date.now()) return 0;
    const rows = await this.counters.findLive(keys, new Date());
    let wait = 0;
    const limiterOf = new Map(pairs.map(([limiter], i) => [keys[i], limiter]));
    for (const row of rows) {
      const limiter = limiterOf.get(row.key);
      if (limiter && row.points >= limiter.points)
        wait = Math.max(wait, Math.ceil(((row.expire?.getTime() ?? Date.now()) - Date.now()) / 1000));
    }
    if (rows.length === 0) {
      if (this.#clear.size >= 10_000) this.#clear.clear();
      this.#clear.set(cacheKey, Date.now() + 1000);
    }
    return wait;
  }

  /**
   * Counts one attempt on each counter, atomically in the database. Returns
   * the seconds to wait when any is now over its limit, else 0.
   */
  async #consume(pairs: [RateLimiterPrisma, string][]): Promise<number> {
    this.#clear.delete(cacheKeyOf(pairs));
    let wait = 0;
    await Promise.all(
      pairs.map(([limiter, k]) =>
        // consume() rejects with the counter's state once past the limit.
        limiter.consume(k).catch((res: unknown) => {
          if (res instanceof Error) throw res;
          wait = Math.max(wait, Math.ceil((res as RateLimiterRes).msBeforeNext / 1000));
        }),
      ),
    );
    return wait;
  }

  #login(username: string, ip: string): [RateLimiterPrisma, string][] {
    return [
      [this.#loginUser, key(normalize(username))],
      [this.#loginIp, key(ip)],
    ];
  }

  // Without a client id known before the library reads the body (HTTP Basic
  // carries it in a header; client_secret_post and JWT assertions in the
  // body), only the IP's counter can be checked, so only it is kept.
  #client(clientId: string | undefined, ip: string): [RateLimiterPrisma, string][] {
    const perIp: [RateLimiterPrisma, string] = [this.#clientAuthIp, key(ip)];
    return clientId === undefined ? [perIp] : [[this.#clientAuth, key(clientId, ip)], perIp];
  }

  /**
   * Counts a sign-in attempt before the password is checked, atomically in
   * the database, so that parallel attempts cannot all slip under the limit.
   * Returns the seconds to wait when over it (the attempt is refused), else 0.
   */
  loginAttempt(username: string, ip: string): Promise<number> {
    return this.#consume(this.#login(username, ip));
  }

  /** A good password: the username starts afresh, and the IP gets its attempt back. */
  async loginSucceeded(username: string, ip: string): Promise<void> {
    await this.#loginUser.delete(key(normalize(username)));
    await this.#loginIp.reward(key(ip), 1);
  }

  clientAuthWait(clientId: string | undefined, ip: string): Promise<number> {
    return this.#wait(this.#client(clientId, ip));
  }

  async clientAuthFailed(clientId: string | undefined, ip: string): Promise<void> {
    await this.#consume(this.#client(clientId, ip));
  }
}
