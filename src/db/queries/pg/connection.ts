// The hot path on PostgreSQL: the pg.Pool src/db/client.ts already opens
// (Prisma's adapter shares it). Every query is a named prepared statement
// ({ name, text, values }): PostgreSQL parses and plans it once per
// connection, and each later call is one round trip (Bind/Execute).
import pg from 'pg';

export interface Statement {
  name: string;
  text: string;
}

/**
 * Prisma's DateTime is `timestamp(3)` (no time zone) holding UTC; pg's own
 * parser would read it in the process's local time zone. Read as UTC, as Prisma does.
 */
const TIMESTAMP = 1114;
const utc = (text: string) => new Date(`${text.replace(' ', 'T')}Z`);
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === TIMESTAMP && format !== 'binary'
      ? utc
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** A Date as Prisma writes it into `timestamp(3)`: UTC, no offset. */
export const toPgTimestamp = (d: Date): string => d.toISOString().slice(0, 23).replace('T', ' ');

export function run<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  statement: Statement,
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  return pool.query<R>({ name: statement.name, text: statement.text, values, types });
}
