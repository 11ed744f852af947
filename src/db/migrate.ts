// Applies the committed SQL migrations at start, before anything else touches
// the database. prisma/<flavour>/migrations/<timestamp>_<name>/migration.sql
// are written by `npm run migration:create` (scripts/migration-create.mjs);
// the Prisma CLI's own `migrate deploy` needs a native engine this project
// does not download, and this runner is all that deploy does for us.
// Each migration runs in one transaction with its bookkeeping row, so a crash
// leaves it either applied and recorded or not at all. An applied migration
// whose file changed afterwards stops the start: never edit a shipped one.
// PostgreSQL: everything on one connection, under an advisory lock, so that
// nodes starting together take turns. SQLite: one connection by nature, and
// its write lock does the same.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type pg from 'pg';
import type { Database, Flavour } from './client.js';

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export function readMigrations(root: string, flavour: Flavour): Migration[] {
  const dir = join(root, 'prisma', flavour, 'migrations');
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^\d{14}_[a-z0-9_]+$/.test(d.name))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

const TABLE =
  'CREATE TABLE IF NOT EXISTS "_app_migrations" ("name" TEXT PRIMARY KEY, "checksum" TEXT NOT NULL, "applied_at" TEXT NOT NULL)';

function pending(migrations: Migration[], applied: Map<string, string>): Migration[] {
  return migrations.filter((m) => {
    const known = applied.get(m.name);
    if (known !== undefined && known !== m.checksum)
      throw new Error(`migration ${m.name} was changed after it was applied`);
    return known === undefined;
  });
}

/** Returns the names of the migrations it applied. */
export function migrate(database: Database, migrations: Migration[]): Promise<string[]> {
  return database.pool ? migratePostgres(database.pool, migrations) : migrateSqlite(database.factory, migrations);
}

// Any fixed number: the key of this application's advisory lock.
const LOCK = 72_410_513;

async function migratePostgres(pool: pg.Pool, migrations: Migration[]): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK]);
    await client.query(TABLE);
    const { rows } = await client.query<{ name: string; checksum: string }>(
      'SELECT "name", "checksum" FROM "_app_migrations"',
    );
    const todo = pending(migrations, new Map(rows.map((r) => [r.name, r.checksum])));
    for (const m of todo) {
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO "_app_migrations" ("name", "checksum", "applied_at") VALUES ($1, $2, $3)', [
          m.name,
          m.checksum,
          new Date().toISOString(),
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    }
    return todo.map((m) => m.name);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK]).catch(() => {});
    client.release();
  }
}

async function migrateSqlite(
  factory: SqlMigrationAwareDriverAdapterFactory,
  migrations: Migration[],
): Promise<string[]> {
  const conn = await factory.connect();
  try {
    await conn.executeScript(TABLE);
    const rows = await conn.queryRaw({
      sql: 'SELECT "name", "checksum" FROM "_app_migrations"',
      args: [],
      argTypes: [],
    });
    const todo = pending(migrations, new Map(rows.rows.map((r) => [String(r[0]), String(r[1])])));
    const done: string[] = [];
    for (const m of todo) {
      try {
        await conn.executeScript(
          `BEGIN;\n${m.sql}\n;INSERT INTO "_app_migrations" ("name", "checksum", "applied_at") VALUES (${quote(m.name)}, ${quote(m.checksum)}, ${quote(new Date().toISOString())});\nCOMMIT;`,
        );
      } catch (err) {
        // Another process may have applied the same migration at the same moment.
        await conn.executeScript('ROLLBACK').catch(() => {});
        const again = await conn.queryRaw({
          sql: `SELECT "checksum" FROM "_app_migrations" WHERE "name" = ${quote(m.name)}`,
          args: [],
          argTypes: [],
        });
        if (again.rows[0]?.[0] === m.checksum) continue;
        throw err;
      }
      done.push(m.name);
    }
    return done;
  } finally {
    await conn.dispose();
  }
}
