// Writes the SQL migration that takes the database from the last migration's
// schema to prisma/schema.prisma, for SQLite and PostgreSQL, offline.
//
//   npm run migration:create -- <name>
//
// The Prisma CLI cannot do this here (its `migrate` commands need a native
// engine binary it downloads); the WebAssembly schema engine with a driver
// adapter can. It diffs schema to schema, so no shadow database is needed:
// prisma/migrations.snapshot.prisma records the schema of the last migration.
// PostgreSQL's engine connects at start, so PG_DIFF_URL must name a reachable
// (throwaway) PostgreSQL database; nothing is written to it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run migration:create -- <name: lowercase letters, digits, _>');
  process.exit(2);
}
const pgUrl = process.env.PG_DIFF_URL;
if (!pgUrl) {
  console.error('PG_DIFF_URL must name a reachable PostgreSQL database (see README, "Changing the schema")');
  process.exit(2);
}

const wasm = readFileSync(join(root, 'node_modules/@prisma/schema-engine-wasm/schema_engine_bg.wasm'));
const { instance } = await WebAssembly.instantiate(wasm, { './schema_engine_bg.js': bg });
bg.__wbg_set_wasm(instance.exports);
instance.exports.__wbindgen_start();

const snapshotPath = join(root, 'prisma/migrations.snapshot.prisma');
const current = readFileSync(join(root, 'prisma/schema.prisma'), 'utf8');
const previous = existsSync(snapshotPath) ? readFileSync(snapshotPath, 'utf8') : undefined;

const asProvider = (schema, provider) => schema.replace(/provider = "sqlite"/, `provider = "${provider}"`);
const flavours = [
  { dir: 'sqlite', provider: 'sqlite', factory: new PrismaBetterSqlite3({ url: ':memory:' }) },
  { dir: 'pg', provider: 'postgresql', factory: new PrismaPg({ connectionString: pgUrl }) },
];

const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
for (const { dir, provider, factory } of flavours) {
  const to = asProvider(current, provider);
  const engine = await bg.SchemaEngine.new(
    { datamodels: [['schema.prisma', to]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(factory),
  );
  const { stdout } = await engine.diff({
    from: previous
      ? { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: asProvider(previous, provider) }] }
      : { tag: 'empty' },
    to: { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: to }] },
    script: true,
    exitCode: null,
    filters: { externalTables: [], externalEnums: [] },
  });
  engine.free();
  if (!stdout?.replace(/--.*$/gm, '').trim()) {
    console.error(`${dir}: no change since the last migration`);
    continue;
  }
  const out = join(root, 'prisma', dir, 'migrations', `${stamp}_${name}`);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'migration.sql'), stdout);
  console.error(`wrote ${out}/migration.sql`);
}
writeFileSync(snapshotPath, current);
