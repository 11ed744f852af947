// findAccount: the library asks for an account by `sub` and its claims by scope.
import type { Account as OidcAccount } from 'oidc-provider';
import type { Accounts } from '../accounts/accounts.js';

export async function findAccount(accounts: Accounts, sub: string): Promise<OidcAccount | undefined> {
  const account = await accounts.findById(sub);
  if (!account) return undefined;
  return {
    accountId: account.id,
    // The library filters these by the granted scopes and claims.
    claims: async () => ({
      sub: account.id,
      name: account.name ?? account.username,
      preferred_username: account.username,
      ...(account.email ? { email: account.email, email_verified: false } : {}),
    }),
  };
}
