// Applies the committed SQL migrations at start, before anything else touches
// the database. prisma/<flavour>/migrations/<timestamp>_<name>/migration.sql
// are written by `npm run migration:create` (scripts/migration-create.mjs);
// the Prisma CLI's own `migrate deploy` needs a native engine this project
// does not download, and this runner is all that deploy does for us.
// Each migration runs in one transaction with its bookkeeping row, so a crash
// leaves it either applied and recorded or not at all. An applied migration
// whose file changed afterwards stops the start: never edit a shipped one.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { Flavour } from './client.js';

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

/** Returns the names of the migrations it applied. */
export async function migrate(factory: SqlMigrationAwareDriverAdapterFactory, migrations: Migration[]): Promise<string[]> {
  const conn = await factory.connect();
  try {
    await conn.executeScript(
      'CREATE TABLE IF NOT EXISTS "_app_migrations" ("name" TEXT PRIMARY KEY, "checksum" TEXT NOT NULL, "applied_at" TEXT NOT NULL)',
    );
    const rows = await conn.queryRaw({ sql: 'SELECT "name", "checksum" FROM "_app_migrations"', args: [], argTypes: [] });
    const applied = new Map(rows.rows.map((r) => [String(r[0]), String(r[1])]));
    const done: string[] = [];
    for (const m of migrations) {
      const known = applied.get(m.name);
      if (known !== undefined) {
        if (known !== m.checksum) throw new Error(`migration ${m.name} was changed after it was applied`);
        continue;
      }
      try {
        await conn.executeScript(
          `BEGIN;\n${m.sql}\n;INSERT INTO "_app_migrations" ("name", "checksum", "applied_at") VALUES (${quote(m.name)}, ${quote(m.checksum)}, ${quote(new Date().toISOString())});\nCOMMIT;`,
        );
      } catch (err) {
        // Another node may have applied the same migration at the same moment.
        await conn.executeScript('ROLLBACK').catch(() => {});
        const again = await conn.queryRaw({ sql: `SELECT "checksum" FROM "_app_migrations" WHERE "name" = ${quote(m.name)}`, args: [], argTypes: [] });
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
