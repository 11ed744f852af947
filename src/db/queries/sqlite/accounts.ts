// Account lookups on better-sqlite3, one statement prepared once.
import type { AccountQueries, PublicAccount } from '../accounts.js';
import { fromSqliteDate, type SqliteConnection } from './connection.js';

type Row = Omit<PublicAccount, 'createdAt'> & { createdAt: string | number };

export function sqliteAccounts(conn: SqliteConnection): AccountQueries {
  const findById = conn.statement(
    `SELECT "id", "username", "serverId", "email", "name", "createdAt" FROM "Account" WHERE "id" = ?`,
  );
  return {
    async findById(id) {
      const row = findById().get(id) as Row | undefined;
      return row && { ...row, createdAt: fromSqliteDate(row.createdAt) };
    },
  };
}
