// Queries on RateLimit, the throttling counters. Counting (an atomic
// increment per failure) is rate-limiter-flexible's Prisma store
// (src/security/throttle.ts): it runs on failed attempts, not on every
// request. What every request asks, whether any counter is at its limit, is
// read here, with the purge of expired counters.

export interface RateLimitCounter {
  key: string;
  points: number;
  expire: Date | null;
}

export interface RateLimitQueries {
  /** The counters among `keys` (one or two) that have not expired at `now`. */
  findLive(keys: readonly string[], now: Date): Promise<RateLimitCounter[]>;
  /** Deletes every counter expired at `now`; returns how many. */
  deleteExpired(now: Date): Promise<number>;
}
