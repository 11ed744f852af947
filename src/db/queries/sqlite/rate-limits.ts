// RateLimit on better-sqlite3.
import type { RateLimitQueries } from '../rate-limits.js';
import { fromSqliteDate, toSqliteDate, type SqliteConnection } from './connection.js';

interface Row {
  key: string;
  points: number;
  expire: unknown;
}

export function sqliteRateLimits(conn: SqliteConnection): RateLimitQueries {
  // Two placeholders, prepared once: a single key is passed twice.
  const findLive = conn.statement(
    `SELECT "key", "points", "expire" FROM "RateLimit" WHERE "key" IN (?, ?) AND ("expire" IS NULL OR "expire" > ?)`,
  );
  const deleteExpired = conn.statement(`DELETE FROM "RateLimit" WHERE "expire" <= ?`);
  return {
    async findLive(keys, now) {
      if (keys.length === 0 || keys.length > 2) throw new RangeError('findLive takes one or two keys');
      const rows = findLive().all(keys[0], keys[1] ?? keys[0], toSqliteDate(now)) as Row[];
      return rows.map((r) => ({ key: r.key, points: r.points, expire: fromSqliteDate(r.expire) }));
    },
    async deleteExpired(now) {
      return deleteExpired().run(toSqliteDate(now)).changes;
    },
  };
}
