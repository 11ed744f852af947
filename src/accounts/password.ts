// Password hashing with scrypt (memory-hard, in node:crypto, no native addon).
// Stored as "scrypt$<N>$<r>$<p>$<salt>$<hash>" so the cost can be raised later
// without invalidating existing hashes. N = 2^15, r = 8 uses 32 MiB per hash:
// OWASP's minimum for scrypt is N = 2^17 with r = 8 at p = 1 *or* an
// equivalent; 2^15 keeps a login near 50 ms on the 2-core machines we target.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { availableParallelism } from 'node:os';

// Each hash holds 32 MiB while it runs. More hashes at once than cores only
// adds memory (and queues in libuv's pool anyway), so the rest wait here.
const SLOTS = Math.max(1, availableParallelism());
// Beyond this many waiting, a hash is refused at once rather than queued
// behind seconds of others (a burst of sign-ins must not starve everyone).
const MAX_WAITING = 32 * SLOTS;
let running = 0;
const waiting: (() => void)[] = [];

export class KdfBusy extends Error {}

async function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  // A finishing hash hands its slot straight to the next in line.
  if (running < SLOTS) running++;
  else if (waiting.length >= MAX_WAITING) throw new KdfBusy('too many password hashes queued');
  else await new Promise<void>((resolve) => waiting.push(resolve));
  try {
    return await new Promise<Buffer>((resolve, reject) =>
      scryptCb(password.normalize('NFC'), salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
    );
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

const COST = { N: 2 ** 15, r: 8, p: 1 };
const KEYLEN = 32;
const maxmem = (N: number, r: number) => 256 * N * r;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, KEYLEN, { ...COST, maxmem: maxmem(COST.N, COST.r) });
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const options = { N: Number(n), r: Number(r), p: Number(p) };
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, {
    ...options,
    maxmem: maxmem(options.N, options.r),
  });
  return timingSafeEqual(actual, expected);
}

// Verified against when the username is unknown, so that "no such user" costs
// the same time as "wrong password" and the two cannot be told apart.
let dummy: Promise<string> | undefined;
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  return dummy;
}
