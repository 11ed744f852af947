// One Prisma client for the whole process, SQLite or PostgreSQL by the scheme
// of DATABASE_URL. Prisma 7 generates one client per provider from the same
// models; the two share the model API, so the rest of src/ sees one type.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaClient as SqliteClient } from './generated/sqlite/client.js';
import { PrismaClient as PgClient } from './generated/pg/client.js';
import { openQueries, type Queries } from './queries/index.js';
import { BUSY_TIMEOUT_MS } from './queries/sqlite/connection.js';
import type { Logger } from '../log.js';

export type Db = SqliteClient;
export type Flavour = 'sqlite' | 'pg';

export interface Database {
  db: Db;
  flavour: Flavour;
  /** The same driver, for the migration runner. */
  factory: SqlMigrationAwareDriverAdapterFactory;
  /** PostgreSQL's connection pool, for metrics; SQLite has none. */
  pool?: pg.Pool;
  /** The hot path's prepared statements (src/db/queries/), on the same database. */
  queries: Queries;
}

export function flavourOf(url: string): Flavour {
  if (url.startsWith('file:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'pg';
  throw new Error('DATABASE_URL must start with file: (SQLite) or postgres:// / postgresql:// (PostgreSQL)');
}

export function sqlitePath(url: string): string {
  return resolve(url.slice('file:'.length).replace(/\?.*$/, ''));
}

export function openDatabase(url: string, log: Logger): Database {
  const flavour = flavourOf(url);
  if (flavour === 'sqlite') {
    const path = sqlitePath(url);
    mkdirSync(dirname(path), { recursive: true });
    // timeout: wait this long for another writer (another process, the CLI) before SQLITE_BUSY.
    const factory = new PrismaBetterSqlite3({ url: `file:${path}`, timeout: BUSY_TIMEOUT_MS });
    return {
      db: new SqliteClient({ adapter: factory }),
      flavour,
      factory,
      queries: openQueries({ kind: 'sqlite', path }),
    };
  }
  // Our own pool, so that its state can be reported (the adapter leaves an external pool open on dispose).
  const pool = new pg.Pool({ connectionString: url });
  // PostgreSQL may end an idle connection (a restart, a failover,
  // pg_terminate_backend, idle_session_timeout): the pool drops it and opens
  // another when one is needed. Without a listener of our own the pool's
  // 'error' event would end the process; Prisma's adapter adds one only while
  // it is connected (not before its first query, nor during shutdown).
  pool.on('error', (err) => log.warn({ err }, 'PostgreSQL ended an idle connection; the pool opens a new one'));
  const factory = new PrismaPg(pool);
  return {
    db: new PgClient({ adapter: factory }) as unknown as Db,
    flavour,
    factory,
    pool,
    queries: openQueries({ kind: 'pg', pool }),
  };
}

/** Everything openDatabase opened: Prisma's connection, the hot path's, PostgreSQL's pool. */
export async function closeDatabase(database: Database): Promise<void> {
  await database.db.$disconnect();
  await database.queries.close();
  await database.pool?.end();
}

/** SQLite settings that cannot live in a migration: they are per connection or per file. */
export async function tuneSqlite(db: Db): Promise<void> {
  // WAL lets readers proceed while one writer commits; NORMAL is durable
  // across application crashes in WAL mode (only an OS crash can lose the
  // last commits), which is the usual trade for a server.
  await db.$queryRawUnsafe('PRAGMA journal_mode = WAL');
  await db.$executeRawUnsafe('PRAGMA synchronous = NORMAL');
  await db.$executeRawUnsafe('PRAGMA foreign_keys = ON');
}
