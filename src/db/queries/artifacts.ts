// Queries on OidcArtifact, the table behind oidc-provider's adapter
// (src/oidc/adapter.ts): one implementation per database kind, each on
// statements prepared once. Same table and columns as prisma/schema.prisma,
// which stays the source of the schema and its migrations.

export interface Artifact {
  payload: string;
  grantId: string | null;
  expiresAt: Date | null;
  consumedAt: Date | null;
}

export interface NewArtifact {
  model: string;
  id: string;
  payload: string;
  grantId: string | null;
  userCode: string | null;
  uid: string | null;
  expiresAt: Date | null;
}

/**
 * What revoking a grant deletes besides the Grant row: the models whose rows
 * carry a grantId (oidc-provider's lib/helpers/revoke.js).
 */
export const ISSUED_UNDER_GRANT = [
  'AccessToken',
  'RefreshToken',
  'AuthorizationCode',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
] as const;

export interface ArtifactQueries {
  /** By primary key; expired rows too (the caller decides what expiry means). */
  find(model: string, id: string): Promise<Artifact | undefined>;
  findByUid(model: string, uid: string): Promise<Artifact | undefined>;
  findByUserCode(model: string, userCode: string): Promise<Artifact | undefined>;
  /**
   * INSERT ... ON CONFLICT (model, id) DO UPDATE: one atomic statement, so two
   * requests saving the same session at once cannot both insert. consumedAt is
   * left as it is.
   */
  upsert(artifact: NewArtifact): Promise<void>;
  /** Marks the row consumed if it was not; true for the one caller whose update found it unconsumed. */
  consume(model: string, id: string, at: Date): Promise<boolean>;
  /** How many rows it deleted (0 or 1). */
  destroy(model: string, id: string): Promise<number>;
  revokeByGrantId(model: string, grantId: string): Promise<void>;
  /** Every artifact issued under the grant (ISSUED_UNDER_GRANT) and the Grant row, in one statement. */
  revokeGrant(grantId: string): Promise<void>;
  /** Deletes at most `limit` rows expired at `now`; returns how many. */
  deleteExpired(now: Date, limit: number): Promise<number>;
}
