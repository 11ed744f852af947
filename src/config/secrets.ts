// Cookie signing keys and the key that encrypts secrets at rest come from the
// environment. For development only, when they are absent, they are generated
// once and kept in DATA_DIR/secrets.json (mode 0600) so that sessions and
// stored client secrets survive a restart. Production refuses to start
// without them (see src/config/index.ts).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './index.js';

export interface Secrets {
  cookieKeys: string[];
  secretKey: string;
}

interface StoredSecrets {
  cookieKeys: string[];
  secretKey: string;
}

function readOrCreate(dataDir: string): StoredSecrets {
  const file = join(dataDir, 'secrets.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StoredSecrets;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const created: StoredSecrets = {
    cookieKeys: [randomBytes(32).toString('base64url')],
    secretKey: randomBytes(32).toString('base64url'),
  };
  mkdirSync(dataDir, { recursive: true });
  // 'wx': two processes starting at once must not overwrite each other's keys.
  try {
    writeFileSync(file, JSON.stringify(created, null, 2), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readOrCreate(dataDir);
    throw err;
  }
  return created;
}

export function resolveSecrets(config: Config): Secrets {
  if (config.cookieKeys?.length && config.secretKey) {
    return { cookieKeys: config.cookieKeys, secretKey: config.secretKey };
  }
  const stored = readOrCreate(config.dataDir);
  return {
    cookieKeys: config.cookieKeys?.length ? config.cookieKeys : stored.cookieKeys,
    secretKey: config.secretKey ?? stored.secretKey,
  };
}
