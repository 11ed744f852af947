// Signing keys: generated on first start, kept in the database (sealed with
// SECRET_KEY) so every node signs with the same keys, served at /oauth/jwks.
// The library signs with the first key of the wanted algorithm, so the
// active key of each algorithm comes first; a rotated-out key stays
// published (verification only) until the tokens it signed have expired.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Db } from '../db/client.js';
import type { SecretBox } from '../db/secret-box.js';

/** RS256 is what every client supports; ES256 is smaller and faster. */
export const SIGNING_ALGS = ['RS256', 'ES256'] as const;

/** Stores a new active key; undefined when another node stored one first (one active key per algorithm, by a unique index). */
async function newKey(db: Db, box: SecretBox, alg: (typeof SIGNING_ALGS)[number]): Promise<string | undefined> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  try {
    await db.signingKey.create({ data: { kid, alg, jwkEncrypted: box.seal('signing-key', JSON.stringify({ ...jwk, kid, alg, use: 'sig' })) } });
    return kid;
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002') return undefined;
    throw err;
  }
}

/** Creates a key for each algorithm that has no active one. Returns the new kids. */
export async function ensureSigningKeys(db: Db, box: SecretBox): Promise<string[]> {
  const created: string[] = [];
  for (const alg of SIGNING_ALGS) {
    const active = await db.signingKey.findFirst({ where: { alg, retiredAt: null } });
    const kid = active ? undefined : await newKey(db, box, alg);
    if (kid) created.push(kid);
  }
  return created;
}

/** The private JWKS for the provider: active keys first (newest first), then retired ones still within `retention` seconds. */
export async function loadJwks(db: Db, box: SecretBox, retention: number, now = new Date()): Promise<{ keys: JWK[] }> {
  const rows = await db.signingKey.findMany({
    where: { OR: [{ retiredAt: null }, { retiredAt: { gt: new Date(now.getTime() - retention * 1000) } }] },
    orderBy: { createdAt: 'desc' },
  });
  const ordered = [...rows.filter((r) => !r.retiredAt), ...rows.filter((r) => r.retiredAt)];
  return { keys: ordered.map((r) => JSON.parse(box.open('signing-key', r.jwkEncrypted)) as JWK) };
}

export interface Rotation {
  created: string[];
  retired: string[];
  deleted: string[];
}

/**
 * New keys sign from the next start of each node; the retired ones stay in the
 * JWKS for `retention` seconds, then are deleted at the next rotation.
 */
export async function rotateSigningKeys(db: Db, box: SecretBox, retention: number, now = new Date()): Promise<Rotation> {
  const retiring = await db.signingKey.findMany({ where: { retiredAt: null } });
  const expired = await db.signingKey.findMany({ where: { retiredAt: { lte: new Date(now.getTime() - retention * 1000) } } });
  await db.signingKey.updateMany({ where: { kid: { in: retiring.map((k) => k.kid) } }, data: { retiredAt: now } });
  await db.signingKey.deleteMany({ where: { kid: { in: expired.map((k) => k.kid) } } });
  const created = await ensureSigningKeys(db, box);
  return { created, retired: retiring.map((k) => k.kid), deleted: expired.map((k) => k.kid) };
}
