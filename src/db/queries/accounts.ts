// Queries on Account for the hot path: the account behind /api/me, userinfo
// and every ID token. Sign-in, creation and counting stay on Prisma
// (src/accounts/accounts.ts): they are not per request.

/** An account without its password hash. */
export interface PublicAccount {
  id: string;
  username: string;
  serverId: string;
  email: string | null;
  name: string | null;
  createdAt: Date;
}

export interface AccountQueries {
  findById(id: string): Promise<PublicAccount | undefined>;
}
