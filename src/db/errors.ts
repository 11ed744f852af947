// What a database error means, whichever layer raised it: Prisma (its P-codes),
// better-sqlite3 (SQLITE_* codes) or pg (SQLSTATE codes, socket errors).
// The hot path (src/db/queries/) talks to the drivers directly, so both kinds
// of errors reach the same handlers and must read the same.

// SQLite: locked, unreadable or unwritable file. PostgreSQL: refused or dropped
// connections, server shutting down (57P01-03), pool timeout; Prisma's codes for the same.
const DB_DOWN =
  /SQLITE_(BUSY|CANTOPEN|IOERR|READONLY|CORRUPT|NOTADB)|ECONNREFUSED|57P0[123]|P1001|P1002|P1017|P2024|unable to open database|Can't reach database|Connection terminated|connection is closed|The database connection is not open/i;

interface CodedError {
  code?: unknown;
  message?: unknown;
}

/** The database is out of reach (an outage, not a bug): answered 503 with Retry-After. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as CodedError | undefined;
  return !!e && typeof e === 'object' && DB_DOWN.test(`${String(e.code ?? '')} ${String(e.message ?? '')}`);
}

/** A unique index refused the row: Prisma P2002, SQLite's constraint codes, PostgreSQL 23505. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as CodedError | undefined)?.code;
  return (
    code === 'P2002' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === '23505'
  );
}
