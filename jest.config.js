// ESM all the way (oidc-provider, jose and openid-client ship ESM only):
// jest runs with --experimental-vm-modules and ts-jest in ESM mode.
// ts-jest skips type checks under isolatedModules; `npm test` runs tsc first.
// TEST_DATABASE=postgres (`npm run test:pg`): the same suite on PostgreSQL,
// one throwaway server for the run (tests/global-setup.mjs), a fresh database
// for each server a test starts (tests/helpers/database.ts), minus the files
// that are about SQLite itself (tests/sqlite-only.js, each with its reason).
import { sqliteOnlyFiles } from './tests/sqlite-only.js';

const onPostgres = process.env.TEST_DATABASE === 'postgres';

export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  testTimeout: 30000,
  // Two test files at a time: most of a test's time is spent waiting on the
  // servers, browsers and command-line processes it started, so two workers
  // on two cores took the suite from 241 s to 161 s. Each file starts its own
  // servers on free ports, its own SQLite files and PostgreSQL clusters.
  maxWorkers: 2,
  globalSetup: '<rootDir>/tests/global-setup.mjs',
  globalTeardown: '<rootDir>/tests/global-teardown.mjs',
  testPathIgnorePatterns: ['/node_modules/', ...(onPostgres ? Object.keys(sqliteOnlyFiles).map((f) => `/${f}$`) : [])],
};
