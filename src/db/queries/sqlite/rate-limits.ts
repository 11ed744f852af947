// RateLimit on better-sqlite3. Dates are written as Prisma writes them
// (toSqliteDate), so the text comparisons order our rows and Prisma's alike.
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
  // SET sees the row as it was, so both CASEs test the old expiry. A null
  // expiry never ends (NULL <= x is not true), as with the library.
  const consume = conn.statement(
    `INSERT INTO "RateLimit" ("key", "points", "expire") VALUES (@key, 1, @expire)
     ON CONFLICT ("key") DO UPDATE SET
       "points" = CASE WHEN "expire" <= @now THEN 1 ELSE "points" + 1 END,
       "expire" = CASE WHEN "expire" <= @now THEN excluded."expire" ELSE "expire" END
     RETURNING "points", "expire"`,
  );
  const reward = conn.statement(
    `UPDATE "RateLimit" SET "points" = "points" - ? WHERE "key" = ? AND ("expire" IS NULL OR "expire" > ?)`,
  );
  const remove = conn.statement(`DELETE FROM "RateLimit" WHERE "key" = ?`);
  const deleteExpired = conn.statement(`DELETE FROM "RateLimit" WHERE "expire" <= ?`);
  return {
    async findLive(keys, now) {
      if (keys.length === 0 || keys.length > 2) throw new RangeError('findLive takes one or two keys');
      const rows = findLive().all(keys[0], keys[1] ?? keys[0], toSqliteDate(now)) as Row[];
      return rows.map((r) => ({ key: r.key, points: r.points, expire: fromSqliteDate(r.expire) }));
    },
    async consume(key, now, expire) {
      const row = consume().get({ key, now: toSqliteDate(now), expire: toSqliteDate(expire) }) as Omit<Row, 'key'>;
      return { points: row.points, expire: fromSqliteDate(row.expire) };
    },
    async reward(key, points, now) {
      reward().run(points, key, toSqliteDate(now));
    },
    async delete(key) {
      remove().run(key);
    },
    async deleteExpired(now) {
      return deleteExpired().run(toSqliteDate(now)).changes;
    },
  };
}
