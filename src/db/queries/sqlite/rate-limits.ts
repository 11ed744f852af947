// RateLimit on better-sqlite3.
import type { RateLimitQueries } from '../rate-limits.js';
import { toSqliteDate, type SqliteConnection } from './connection.js';

export function sqliteRateLimits(conn: SqliteConnection): RateLimitQueries {
  const deleteExpired = conn.statement(`DELETE FROM "RateLimit" WHERE "expire" <= ?`);
  return {
    async deleteExpired(now) {
      return deleteExpired().run(toSqliteDate(now)).changes;
    },
  };
}
