// Queries on RateLimit, the throttling counters (src/security/throttle.ts):
// counting a failure is one atomic statement, so parallel failures are all
// counted and an attack is answered without the ORM; what every request asks,
// whether any counter is at its limit, is one read; the purge deletes expired
// counters. Rows are those rate-limiter-flexible's Prisma store wrote before
// (same keys, points and expire), so counters carry over across a deploy.

export interface RateLimitCounter {
  key: string;
  points: number;
  expire: Date | null;
}

export interface RateLimitQueries {
  /** The counters among `keys` (one or two) that have not expired at `now`. */
  findLive(keys: readonly string[], now: Date): Promise<RateLimitCounter[]>;
  /**
   * Adds one to `key`'s counter, atomically: a counter that is missing or
   * expired at `now` starts again at 1, expiring at `expire`; a live one keeps
   * its expiry. Returns the counter as it now is.
   */
  consume(key: string, now: Date, expire: Date): Promise<Omit<RateLimitCounter, 'key'>>;
  /** Takes `points` off `key`'s counter if it is live at `now`; a missing or expired one stays so. */
  reward(key: string, points: number, now: Date): Promise<void>;
  /** Deletes `key`'s counter. */
  delete(key: string): Promise<void>;
  /** Deletes every counter expired at `now`; returns how many. */
  deleteExpired(now: Date): Promise<number>;
}
