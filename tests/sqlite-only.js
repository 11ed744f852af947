// Test files left out of the PostgreSQL run (TEST_DATABASE=postgres, see
// jest.config.js), each with the reason: they are about SQLite itself, or
// they already run both databases on their own.
export const sqliteOnlyFiles = {
  // These start their own PostgreSQL (tests/helpers/postgres.ts) and, where it
  // matters, a SQLite file beside it: they run the same in both modes.
  'tests/postgres.test.ts': 'the application on its own PostgreSQL cluster already',
  'tests/key-rotation-nodes.test.ts': 'two nodes on their own PostgreSQL cluster already',
  'tests/single-use.test.ts': 'runs SQLite and its own PostgreSQL cluster side by side already',
  'tests/queries.test.ts': 'runs SQLite and its own PostgreSQL cluster side by side already',
  'tests/api-token-check.test.ts': 'runs SQLite and its own PostgreSQL cluster side by side already',
  // About SQLite itself.
  'tests/faults.test.ts':
    'kill -9, the purge and SIGTERM on one node with SQLite, checked by reading the SQLite file; ' +
    'postgres.test.ts does kill -9 and outages on PostgreSQL',
};
