// Which database the suite runs on: SQLite files (the default) or, with
// TEST_DATABASE=postgres (`npm run test:pg`), PostgreSQL. In PostgreSQL mode
// jest's globalSetup (tests/global-setup.mjs) starts one throwaway server for
// the whole run and hands it to the workers in TEST_PG_SHARED; every server a
// test starts without a DATABASE_URL of its own then gets a fresh database
// on it. Only the test helpers read these variables: the application sees a
// DATABASE_URL like any other.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { sql, type SharedPg } from './postgres.js';

export type TestDatabaseKind = 'sqlite' | 'postgres';

export function testDatabaseKind(): TestDatabaseKind {
  const kind = process.env.TEST_DATABASE || 'sqlite';
  if (kind !== 'sqlite' && kind !== 'postgres') {
    throw new Error(`TEST_DATABASE must be sqlite or postgres, not ${JSON.stringify(kind)}`);
  }
  return kind;
}

export const onPostgres = testDatabaseKind() === 'postgres';

export interface TestDatabase {
  url: string;
  /** Removes a PostgreSQL database (its connections are ended first); SQLite's file goes with its directory. */
  drop(): Promise<void>;
}

function shared(): SharedPg {
  const text = process.env.TEST_PG_SHARED;
  if (!text) {
    throw new Error(
      'TEST_DATABASE=postgres but no PostgreSQL server was started for the run: run jest with its config (jest.config.js globalSetup)',
    );
  }
  return JSON.parse(text) as SharedPg;
}

let counter = 0;

/**
 * A database of its own: `file:<dir>/<file>` on SQLite, a new empty database
 * on the run's PostgreSQL server with TEST_DATABASE=postgres.
 */
export async function testDatabase(dir: string, file: string): Promise<TestDatabase> {
  if (!onPostgres) return { url: `file:${join(dir, file)}`, drop: async () => {} };
  const pg = shared();
  // Unique across workers and runs on a shared TEST_PG_URL server; PostgreSQL folds unquoted names to lower case.
  const name = `t_${process.pid}_${++counter}_${randomBytes(3).toString('hex')}`;
  await sql(pg.adminUrl, `CREATE DATABASE ${name}${pg.owner ? ` OWNER ${pg.owner}` : ''}`);
  const url = new URL(pg.appUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    drop: () => sql(pg.adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => {}),
  };
}

/** Rows of one read-only query, beside the application, on either database (its own short-lived connection). */
export async function readRows(url: string, text: string): Promise<Record<string, unknown>[]> {
  if (!url.startsWith('file:')) return sql(url, text);
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(url.slice('file:'.length), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(text).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}
