// Accounts: the people who sign in. Plain objects out; nothing outside this
// module sees Prisma rows or password hashes.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../db/client.js';
import type { AccountQueries, PublicAccount } from '../db/queries/accounts.js';
import { isUniqueViolation } from '../db/errors.js';
import { storableKey } from '../db/keys.js';
import { dummyHash, hashPassword, verifyPassword } from './password.js';

/** An account as the rest of the code sees it: never its password hash. */
export type Account = PublicAccount;

export interface NewAccount {
  username: string;
  password: string;
  serverId?: string;
  email?: string;
  name?: string;
}

/** Which rule a new account broke: the console names it in the reader's language. */
export type AccountProblem = 'username' | 'usernameTaken' | 'password' | 'email' | 'serverId';

export class AccountError extends Error {
  constructor(
    message: string,
    readonly problem: AccountProblem,
  ) {
    super(message);
  }
}

const USERNAME = /^[\p{L}\p{N}._@+-]{1,64}$/u;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const toAccount = ({ passwordHash: _hash, ...account }: Account & { passwordHash: string }): Account => account;

export class Accounts {
  constructor(
    private readonly db: Db,
    /** The lookup by id runs on every token check and userinfo request: on prepared statements. */
    private readonly queries: AccountQueries,
  ) {}

  async create(input: NewAccount): Promise<Account> {
    if (!USERNAME.test(input.username))
      throw new AccountError('username: 1 to 64 letters, digits or . _ @ + -', 'username');
    if (input.password.length < 8 || input.password.length > 1024)
      throw new AccountError('password: 8 to 1024 characters', 'password');
    if (input.email !== undefined && !EMAIL.test(input.email))
      throw new AccountError('email: not an e-mail address', 'email');
    if (input.serverId !== undefined && !/^\S{1,128}$/.test(input.serverId))
      throw new AccountError('server-id: 1 to 128 characters, no spaces', 'serverId');
    if (await this.db.account.findUnique({ where: { username: input.username } })) {
      throw new AccountError(`username: "${input.username}" is taken`, 'usernameTaken');
    }
    try {
      const row = await this.db.account.create({
        data: {
          id: randomUUID(),
          username: input.username,
          passwordHash: await hashPassword(input.password),
          serverId: input.serverId ?? randomBytes(8).toString('hex'),
          email: input.email ?? null,
          name: input.name ?? null,
        },
      });
      return toAccount(row);
    } catch (err) {
      // Created by someone else between the check above and this insert.
      if (isUniqueViolation(err)) throw new AccountError(`username: "${input.username}" is taken`, 'usernameTaken');
      throw err;
    }
  }

  async findById(id: string): Promise<Account | undefined> {
    return this.queries.findById(id);
  }

  /** The account when the password is right; undefined otherwise, in the same time either way. */
  async authenticate(username: string, password: string): Promise<Account | undefined> {
    // A name no account can have (too long, or a NUL PostgreSQL cannot compare) is not looked up.
    const row =
      username.length <= 64 && storableKey(username) ? await this.db.account.findUnique({ where: { username } }) : null;
    const ok = await verifyPassword(password, row?.passwordHash ?? (await dummyHash()));
    return row && ok ? toAccount(row) : undefined;
  }

  async count(): Promise<number> {
    return this.db.account.count();
  }
}
