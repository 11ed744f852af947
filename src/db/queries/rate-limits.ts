// Queries on RateLimit, the throttling counters. The counters themselves are
// read and written by rate-limiter-flexible's Prisma store
// (src/security/throttle.ts); here only the purge of expired ones.

export interface RateLimitQueries {
  /** Deletes every counter expired at `now`; returns how many. */
  deleteExpired(now: Date): Promise<number>;
}
