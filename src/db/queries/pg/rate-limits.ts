// RateLimit on PostgreSQL.
import type pg from 'pg';
import type { RateLimitCounter, RateLimitQueries } from '../rate-limits.js';
import { run, toPgTimestamp } from './connection.js';

const FIND_LIVE = {
  name: 'rate_limit_find_live',
  text: `SELECT "key", "points", "expire" FROM "RateLimit" WHERE "key" = ANY($1::text[]) AND ("expire" IS NULL OR "expire" > $2)`,
};
// One statement, so concurrent failures queue on the row's lock and each is
// counted. SET sees the row as it was, so both CASEs test the old expiry; a
// null expiry never ends (NULL <= x is not true), as with the library.
const CONSUME = {
  name: 'rate_limit_consume',
  text: `INSERT INTO "RateLimit" ("key", "points", "expire") VALUES ($1, 1, $3::timestamp(3))
    ON CONFLICT ("key") DO UPDATE SET
      "points" = CASE WHEN "RateLimit"."expire" <= $2::timestamp(3) THEN 1 ELSE "RateLimit"."points" + 1 END,
      "expire" = CASE WHEN "RateLimit"."expire" <= $2::timestamp(3) THEN EXCLUDED."expire" ELSE "RateLimit"."expire" END
    RETURNING "points", "expire"`,
};
const REWARD = {
  name: 'rate_limit_reward',
  text: `UPDATE "RateLimit" SET "points" = "points" - $1 WHERE "key" = $2 AND ("expire" IS NULL OR "expire" > $3)`,
};
const DELETE = { name: 'rate_limit_delete', text: `DELETE FROM "RateLimit" WHERE "key" = $1` };
const DELETE_EXPIRED = { name: 'rate_limit_delete_expired', text: `DELETE FROM "RateLimit" WHERE "expire" <= $1` };

export function pgRateLimits(pool: pg.Pool): RateLimitQueries {
  return {
    async findLive(keys, now) {
      if (keys.length === 0 || keys.length > 2) throw new RangeError('findLive takes one or two keys');
      return (await run<RateLimitCounter>(pool, FIND_LIVE, [keys, toPgTimestamp(now)])).rows;
    },
    async consume(key, now, expire) {
      const { rows } = await run<RateLimitCounter>(pool, CONSUME, [key, toPgTimestamp(now), toPgTimestamp(expire)]);
      // INSERT ... ON CONFLICT DO UPDATE returns its one row either way.
      const [row] = rows;
      if (!row) throw new Error('RateLimit upsert returned no row');
      return { points: row.points, expire: row.expire };
    },
    async reward(key, points, now) {
      await run(pool, REWARD, [points, key, toPgTimestamp(now)]);
    },
    async delete(key) {
      await run(pool, DELETE, [key]);
    },
    async deleteExpired(now) {
      return (await run(pool, DELETE_EXPIRED, [toPgTimestamp(now)])).rowCount ?? 0;
    },
  };
}
