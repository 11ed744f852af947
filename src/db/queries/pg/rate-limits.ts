// RateLimit on PostgreSQL.
import type pg from 'pg';
import type { RateLimitQueries } from '../rate-limits.js';
import { run, toPgTimestamp } from './connection.js';

const DELETE_EXPIRED = { name: 'rate_limit_delete_expired', text: `DELETE FROM "RateLimit" WHERE "expire" <= $1` };

export function pgRateLimits(pool: pg.Pool): RateLimitQueries {
  return {
    async deleteExpired(now) {
      return (await run(pool, DELETE_EXPIRED, [toPgTimestamp(now)])).rowCount ?? 0;
    },
  };
}
