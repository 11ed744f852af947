// Account lookups on PostgreSQL, one named prepared statement.
import type pg from 'pg';
import type { AccountQueries, PublicAccount } from '../accounts.js';
import { run } from './connection.js';

const FIND_BY_ID = {
  name: 'account_find_by_id',
  text: `SELECT "id", "username", "serverId", "email", "name", "createdAt" FROM "Account" WHERE "id" = $1`,
};

export function pgAccounts(pool: pg.Pool): AccountQueries {
  return {
    async findById(id) {
      return (await run<PublicAccount>(pool, FIND_BY_ID, [id])).rows[0];
    },
  };
}
