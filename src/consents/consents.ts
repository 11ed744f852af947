// What an account has allowed a client, remembered across sessions, so the
// same request does not ask twice. Only the content is kept, never a grant:
// each authorization gets a grant of its own (src/oidc/remembered-grant.ts),
// so that revoking one ends that authorization's tokens only.
import type { Db } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';

export interface Consented {
  /** OpenID Connect scopes (the provider's `scopes`, which include the API's). */
  scopes: string[];
  /** OpenID Connect claims asked for by the claims parameter. */
  claims: string[];
  /** RFC 8707 resource indicator -> the scopes allowed at it. */
  resourceScopes: Record<string, string[]>;
}

const union = (a: readonly string[], b: readonly string[]) => [...new Set([...a, ...b])];

function merge(a: Consented, b: Consented): Consented {
  const resourceScopes: Record<string, string[]> = { ...a.resourceScopes };
  for (const [indicator, scopes] of Object.entries(b.resourceScopes)) {
    resourceScopes[indicator] = union(resourceScopes[indicator] ?? [], scopes);
  }
  return { scopes: union(a.scopes, b.scopes), claims: union(a.claims, b.claims), resourceScopes };
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

function parse(row: { scopes: string; claims: string; resourceScopes: string }): Consented {
  const resources = JSON.parse(row.resourceScopes) as unknown;
  return {
    scopes: strings(JSON.parse(row.scopes)),
    claims: strings(JSON.parse(row.claims)),
    resourceScopes:
      resources && typeof resources === 'object'
        ? Object.fromEntries(Object.entries(resources).map(([indicator, scopes]) => [indicator, strings(scopes)]))
        : {},
  };
}

export class Consents {
  /**
   * @param rememberSeconds how long a consent is remembered after it was last
   * given (GRANT_TTL, as long as the shared grant used to live).
   */
  constructor(
    private readonly db: Db,
    private readonly rememberSeconds: number,
  ) {}

  async find(accountId: string, clientId: string): Promise<Consented | undefined> {
    return (await this.#read(accountId, clientId)).consented;
  }

  /** Adds what was just allowed to what is remembered (a union: consent only widens here). */
  async remember(accountId: string, clientId: string, allowed: Consented): Promise<void> {
    const key = { accountId, clientId };
    // Two consents of the same person to the same client at the same moment
    // (two browsers): the first insert wins the primary key, the other merges
    // into it on the retry. A merge lost to a concurrent update only means
    // being asked once more for the lost scopes, never more access.
    for (let attempt = 0; ; attempt++) {
      try {
        const { exists, consented } = await this.#read(accountId, clientId);
        // A forgotten (expired) consent is replaced, not widened.
        const next = merge(consented ?? { scopes: [], claims: [], resourceScopes: {} }, allowed);
        const data = {
          scopes: JSON.stringify(next.scopes),
          claims: JSON.stringify(next.claims),
          resourceScopes: JSON.stringify(next.resourceScopes),
        };
        // updateMany: the purge may have deleted a forgotten row since it was read.
        const updated = exists ? (await this.db.consent.updateMany({ where: key, data })).count : 0;
        if (!updated) await this.db.consent.create({ data: { accountId, clientId, ...data } });
        return;
      } catch (err) {
        if (attempt > 0 || !isUniqueViolation(err)) throw err;
      }
    }
  }

  /** Deletes the consents no longer remembered (last given GRANT_TTL ago or more); returns how many. */
  async forgetExpired(now = new Date()): Promise<number> {
    const before = new Date(now.getTime() - this.rememberSeconds * 1000);
    return (await this.db.consent.deleteMany({ where: { updatedAt: { lte: before } } })).count;
  }

  async #read(accountId: string, clientId: string): Promise<{ exists: boolean; consented?: Consented }> {
    const row = await this.db.consent.findUnique({ where: { accountId_clientId: { accountId, clientId } } });
    if (!row) return { exists: false };
    const fresh = Date.now() - row.updatedAt.getTime() < this.rememberSeconds * 1000;
    return { exists: true, consented: fresh ? parse(row) : undefined };
  }
}
