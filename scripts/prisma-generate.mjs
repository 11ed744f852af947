// Generates the Prisma clients for both database flavours, offline.
// prisma/schema.prisma (SQLite) is the source; the PostgreSQL schema is derived
// from it, since Prisma 7 needs one generated client per provider.
// PRISMA_SCHEMA_ENGINE_BINARY points at a file that is never run: without it
// `prisma generate` tries to download an engine this machine cannot fetch.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = readFileSync(join(root, 'prisma/schema.prisma'), 'utf8');
const pg = source
  .replace('provider = "sqlite"', 'provider = "postgresql"')
  .replace('"../src/db/generated/sqlite"', '"../../src/db/generated/pg"');
mkdirSync(join(root, 'prisma/pg'), { recursive: true });
const pgPath = join(root, 'prisma/pg/schema.prisma');
writeFileSync(pgPath, `// GENERATED from prisma/schema.prisma by scripts/prisma-generate.mjs: do not edit.\n${pg}`);

const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/false',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
};
const prisma = join(root, 'node_modules/prisma/build/index.js');
for (const schema of [join(root, 'prisma/schema.prisma'), pgPath]) {
  try {
    execFileSync(process.execPath, [prisma, 'generate', '--schema', schema], { cwd: root, env, stdio: 'pipe' });
  } catch (err) {
    process.stderr.write(`${err.stdout ?? ''}${err.stderr ?? ''}`);
    process.exit(1);
  }
}
