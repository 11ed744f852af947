// Brute-force throttling: sign-in attempts counted per username and per
// client IP (successes given back), failed client authentications per
// (client, IP) and per IP. Counters live in the database, so every node sees
// the same numbers, and go through the query layer's prepared statements
// (src/db/queries/rate-limits.ts): one atomic statement counts a failure, one
// read answers whether any counter is at its limit. A key that reaches its
// limit is refused until its window ends; a successful sign-in clears that
// username's counter.
import { createHash } from 'node:crypto';
import type { RateLimitQueries } from '../db/queries/rate-limits.js';
import type { ThrottleLimits } from '../config/index.js';

/** One kind of counter: its keys' prefix and how many failures it allows per window. */
interface Counter {
  prefix: string;
  points: number;
}

// Usernames and client ids are the client's text: hash them into fixed-size keys.
const hash = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('base64url');
const normalize = (username: string) => username.normalize('NFKC').toLowerCase().slice(0, 256);

/** A counter's row key. rate-limiter-flexible's form (keyPrefix:key), which counted before: its rows still count. */
type Keyed = [Counter, string];
const rowKey = ([counter, k]: Keyed) => `${counter.prefix}:${k}`;

export class Throttle {
  readonly #loginUser: Counter;
  readonly #loginIp: Counter;
  readonly #clientAuth: Counter;
  readonly #clientAuthIp: Counter;
  readonly #windowMs: number;
  /** Key sets known to have no counters, until when (ms). */
  readonly #clear = new Map<string, number>();

  constructor(
    private readonly counters: RateLimitQueries,
    limits: ThrottleLimits,
  ) {
    this.#windowMs = limits.window * 1000;
    this.#loginUser = { prefix: 'login-user', points: limits.loginPerUser };
    this.#loginIp = { prefix: 'login-ip', points: limits.loginPerIp };
    this.#clientAuth = { prefix: 'client-auth', points: limits.clientAuthPerClient };
    this.#clientAuthIp = { prefix: 'client-auth-ip', points: limits.clientAuthPerIp };
  }

  /**
   * Seconds until the first of these counters lets requests through again; 0
   * when none is at its limit. Every request asks this, almost always of keys
   * with no failures at all: one query reads all the counters, and a
   * "nothing recorded" answer is reused for a second (so another node's
   * failures can take up to a second to count here).
   */
  async #wait(pairs: Keyed[]): Promise<number> {
    const keys = pairs.map(rowKey);
    const cacheKey = keys.join(' ');
    const clearUntil = this.#clear.get(cacheKey);
    if (clearUntil !== undefined && clearUntil > Date.now()) return 0;
    const rows = await this.counters.findLive(keys, new Date());
    let wait = 0;
    const counterOf = new Map(pairs.map(([counter], i) => [keys[i], counter]));
    for (const row of rows) {
      const counter = counterOf.get(row.key);
      if (counter && row.points >= counter.points)
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
  async #consume(pairs: Keyed[]): Promise<number> {
    this.#clear.delete(pairs.map(rowKey).join(' '));
    const now = new Date();
    const expire = new Date(now.getTime() + this.#windowMs);
    const waits = await Promise.all(
      pairs.map(async (pair) => {
        const row = await this.counters.consume(rowKey(pair), now, expire);
        if (row.points <= pair[0].points) return 0;
        // Over the limit is at least a second's wait, even at the window's last instant.
        const ms = row.expire === null ? this.#windowMs : row.expire.getTime() - Date.now();
        return Math.max(1, Math.ceil(ms / 1000));
      }),
    );
    return Math.max(0, ...waits);
  }

  #login(username: string, ip: string): Keyed[] {
    return [
      [this.#loginUser, hash(normalize(username))],
      [this.#loginIp, hash(ip)],
    ];
  }

  // Without a client id known before the library reads the body (HTTP Basic
  // carries it in a header; client_secret_post and JWT assertions in the
  // body), only the IP's counter can be checked, so only it is kept.
  #client(clientId: string | undefined, ip: string): Keyed[] {
    const perIp: Keyed = [this.#clientAuthIp, hash(ip)];
    return clientId === undefined ? [perIp] : [[this.#clientAuth, hash(clientId, ip)], perIp];
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
    const [user, address] = this.#login(username, ip).map(rowKey) as [string, string];
    await this.counters.delete(user);
    await this.counters.reward(address, 1, new Date());
  }

  clientAuthWait(clientId: string | undefined, ip: string): Promise<number> {
    return this.#wait(this.#client(clientId, ip));
  }

  async clientAuthFailed(clientId: string | undefined, ip: string): Promise<void> {
    await this.#consume(this.#client(clientId, ip));
  }
}
