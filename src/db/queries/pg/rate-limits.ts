// RateLimit on PostgreSQL.
import type pg from 'pg';
import type { RateLimitCounter, RateLimitQueries } from '../rate-limits.js';
import { run, toPgTimestamp } from './connection.js';

const FIND_LIVE = {
  name: 'rate_limit_find_live',
  text: `SELECT "key", "points", "expire" FROM "RateLimit" WHERE "key" = ANY($1::text[]) AND ("expire" IS NULL OR "expire" > $2)`,
};
const DELETE_EXPIRED = { name: 'rate_limit_delete_expired', text: `DELETE FROM "RateLimit" WHERE "expire" <= $1` };

export function pgRateLimits(pool: pg.Pool): RateLimitQueries {
  return {
    async findLive(keys, now) {
      if (keys.length === 0 || keys.length > 2) throw new RangeError('findLive takes one or two keys');
      return (await run<RateLimitCounter>(pool, FIND_LIVE, [keys, toPgTimestamp(now)])).rows;
    },
    async deleteExpired(now) {
      return (await run(pool, DELETE_EXPIRED, [toPgTimestamp(now)])).rowCount ?? 0;
    },
  };
}
