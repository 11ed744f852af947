// Our own better-sqlite3 connection to the database file Prisma uses, for the
// hot path's prepared statements. Prisma's driver adapter keeps its own
// connection and prepares every statement anew; this one prepares each
// statement once and reuses it (~2 µs a lookup by primary key, against
// ~115 µs through Prisma: README "Performance").
//
// Opened on first use, after the start-up migrations (the statements need
// the tables), so the command line, which rarely needs it, rarely opens it.
// Two connections to one file are safe: WAL mode (set on the file by
// tuneSqlite, src/db/client.ts) lets readers run beside one writer, and
// every statement here is a single autocommit statement, so this connection
// never holds the write lock across an await.
import Sqlite from 'better-sqlite3';

/** As Prisma's adapter is told (src/db/client.ts): how long to wait for another writer before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

export class SqliteConnection {
  #db: Sqlite.Database | undefined;
  #closed = false;

  constructor(private readonly path: string) {}

  get db(): Sqlite.Database {
    // The same words as better-sqlite3's own error on a closed handle, which src/db/errors.ts reads as an outage.
    if (this.#closed)
      throw Object.assign(new TypeError('The database connection is not open'), { code: 'SQLITE_MISUSE' });
    if (!this.#db) {
      const db = new Sqlite(this.path, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
      // Per connection, as tuneSqlite sets them on Prisma's.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      this.#db = db;
    }
    return this.#db;
  }

  /** A statement prepared on first call and reused after. */
  statement(sql: string): () => Sqlite.Statement {
    let stmt: Sqlite.Statement | undefined;
    return () => (stmt ??= this.db.prepare(sql));
  }

  close(): void {
    this.#closed = true;
    this.#db?.close();
    this.#db = undefined;
  }
}

// How Prisma's SQLite adapter stores a DateTime: ISO 8601 text with an
// explicit +00:00 offset (@prisma/adapter-better-sqlite3, timestampFormat
// "iso8601", its default). Written the same way, so Prisma reads our rows and
// text comparisons (expiresAt <= ?) order every row alike.
export const toSqliteDate = (d: Date): string => d.toISOString().replace('Z', '+00:00');

// SQLite's own CURRENT_TIMESTAMP (a column default) is UTC without an offset.
const BARE = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/** Reads what Prisma (either timestampFormat) or SQLite itself wrote; null stays null (a nullable column). */
export function fromSqliteDate(value: string | number | bigint): Date;
export function fromSqliteDate(value: unknown): Date | null;
export function fromSqliteDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'bigint') return new Date(Number(value));
  const text = String(value);
  return new Date(BARE.test(text) ? `${text.replace(' ', 'T')}Z` : text);
}
