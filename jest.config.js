// ESM all the way (oidc-provider, jose and openid-client ship ESM only):
// jest runs with --experimental-vm-modules and ts-jest in ESM mode.
// ts-jest skips type checks under isolatedModules; `npm test` runs tsc first.
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  testTimeout: 30000,
};
