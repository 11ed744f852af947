// With TEST_DATABASE=postgres: one throwaway PostgreSQL server for the whole
// run (tests/helpers/database.ts). Workers are started after this and inherit
// process.env, so that is how they learn where it is.
//
// Plain JavaScript loading the helpers through tsx: jest runs globalSetup
// outside its module system, so its moduleNameMapper (.js → .ts) does not apply.
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { testDatabaseKind } = await tsImport('./helpers/database.ts', import.meta.url);
  if (testDatabaseKind() !== 'postgres') return;
  const { startPostgres } = await tsImport('./helpers/postgres.ts', import.meta.url);
  // Room for two workers' servers, child processes and their pools (pg's default pool is 10 a server).
  const pgs = await startPostgres({ maxConnections: 500 });
  globalThis.__testPostgres = pgs;
  process.env.TEST_PG_SHARED = JSON.stringify(pgs.shared);
  console.log(`\nTEST_DATABASE=postgres: ${pgs.describe}`);
}
