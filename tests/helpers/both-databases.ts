// Both database kinds side by side in one test file, whatever TEST_DATABASE
// says. A file of its own: it registers jest hooks, and tests/helpers/database.ts
// is also loaded by jest's globalSetup, outside any test file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from '@jest/globals';
import { startPostgres, type PgServer } from './postgres.js';

/**
 * Both kinds side by side in one file, whatever TEST_DATABASE says: a SQLite
 * file, and a database on a throwaway PostgreSQL cluster of the file's own
 * (started in a beforeAll, removed in an afterAll that this registers).
 * `kinds` are describe.each's rows; `postgres()` is the cluster, once started.
 */
export function bothDatabases(name: string): {
  kinds: [string, () => Promise<string>][];
  postgres: () => PgServer;
} {
  let pgs: PgServer | undefined;
  const dir = mkdtempSync(join(tmpdir(), `oidc-${name}-`));
  beforeAll(async () => {
    pgs = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await pgs?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);
  const postgres = () => {
    if (!pgs) throw new Error('PostgreSQL is not started yet');
    return pgs;
  };
  return {
    kinds: [
      ['SQLite', async () => `file:${join(dir, `${name}.db`)}`],
      ['PostgreSQL', async () => postgres().createDatabase(name)],
    ],
    postgres,
  };
}
