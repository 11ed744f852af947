// Stops and removes the run's PostgreSQL server from tests/global-setup.mjs.
export default async function globalTeardown() {
  await globalThis.__testPostgres?.stop();
  globalThis.__testPostgres = undefined;
}
