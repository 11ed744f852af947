// The resource API's token check (src/api/token-verifier.ts) in one
// statement: the access token's row with, joined on indexed keys, what the
// library would read after it (its grant, the session it may be bound to)
// and the account behind /api/me. Nothing is cached: every check reads the
// rows as they are now, so a revocation on any node counts at once.
import type { Artifact } from './artifacts.js';
import type { PublicAccount } from './accounts.js';

/** A stored artifact as the adapter reads it (src/oidc/adapter.ts decides what expiry and consumption mean). */
export type StoredArtifact = Omit<Artifact, 'grantId'>;

export interface AccessTokenRows {
  token: StoredArtifact;
  /** The Grant row named by the token's grantId column. */
  grant?: StoredArtifact;
  /** The Session row whose uid is the token's sessionUid. */
  session?: StoredArtifact;
  /** The Account whose id is the token's accountId. */
  account?: PublicAccount;
}

export interface TokenCheckQueries {
  /** The AccessToken row by primary key and the rows it points to; undefined when there is no such token row. */
  accessToken(id: string): Promise<AccessTokenRows | undefined>;
}
