// The hot path's storage: per-table query modules gathered in one object, as
// Logto's `Queries`, with one implementation per database kind behind the same
// interfaces. Prisma stays the data layer for everything that is not per
// request (command line, administration, orders); both work on the same
// tables, defined once in prisma/schema.prisma.
import type pg from 'pg';
import type { AccountQueries } from './accounts.js';
import type { ArtifactQueries } from './artifacts.js';
import type { RateLimitQueries } from './rate-limits.js';
import type { TokenCheckQueries } from './token-checks.js';
import { SqliteConnection } from './sqlite/connection.js';
import { sqliteArtifacts } from './sqlite/artifacts.js';
import { sqliteAccounts } from './sqlite/accounts.js';
import { sqliteRateLimits } from './sqlite/rate-limits.js';
import { sqliteTokenChecks } from './sqlite/token-checks.js';
import { pgArtifacts } from './pg/artifacts.js';
import { pgAccounts } from './pg/accounts.js';
import { pgRateLimits } from './pg/rate-limits.js';
import { pgTokenChecks } from './pg/token-checks.js';

export interface Queries {
  artifacts: ArtifactQueries;
  accounts: AccountQueries;
  rateLimits: RateLimitQueries;
  tokenChecks: TokenCheckQueries;
  /** Closes what these queries opened (SQLite's connection; PostgreSQL's pool belongs to the caller). */
  close(): Promise<void>;
}

export type Source = { kind: 'sqlite'; path: string } | { kind: 'pg'; pool: pg.Pool };

export function openQueries(source: Source): Queries {
  if (source.kind === 'sqlite') {
    const conn = new SqliteConnection(source.path);
    return {
      artifacts: sqliteArtifacts(conn),
      accounts: sqliteAccounts(conn),
      rateLimits: sqliteRateLimits(conn),
      tokenChecks: sqliteTokenChecks(conn),
      close: async () => conn.close(),
    };
  }
  return {
    artifacts: pgArtifacts(source.pool),
    accounts: pgAccounts(source.pool),
    rateLimits: pgRateLimits(source.pool),
    tokenChecks: pgTokenChecks(source.pool),
    close: async () => {},
  };
}
