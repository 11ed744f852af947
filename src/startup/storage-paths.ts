// Can this process read and write where it keeps things? Checked before the
// database is opened, so that a bad DATABASE_URL or DATA_DIR gets one line
// naming the path instead of SQLite's "unable to open database file" or a
// raw ENOTDIR. Permissions are not read and judged (root ignores them, ACLs
// and read-only mounts hide from them): each check does what the server
// will do — create the directory, create and remove a file in it, open the
// existing file for reading and writing.
import { closeSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../config/index.js';
import { flavourOf, sqlitePath } from '../db/client.js';
import { EXIT, StartupError } from './exit-codes.js';

const REASONS: Record<string, string> = {
  ENOTDIR: 'a part of the path is a file, not a directory',
  EEXIST: 'a part of the path is a file, not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  EISDIR: 'it is a directory, not a file',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOENT: 'a part of the path does not exist',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the path is too long',
};

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return REASONS[code] ? `${REASONS[code]} (${code})` : (err as Error).message;
}

/** Creates `dir` when missing, then a file in it (removed at once). */
function probeDirectory(dir: string): unknown {
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.write-probe-${process.pid}-${Date.now()}`);
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
    return undefined;
  } catch (err) {
    return err;
  }
}

/** Opens `file` for reading and writing when it exists. */
function probeFile(file: string): unknown {
  try {
    if (statSync(file, { throwIfNoEntry: false }) === undefined) return undefined;
    closeSync(openSync(file, 'r+'));
    return undefined;
  } catch (err) {
    return err;
  }
}

const fail = (message: string) => new StartupError(message, EXIT.storage);

/** The SQLite file of DATABASE_URL (nothing to check for PostgreSQL). */
export function checkDatabasePath(databaseUrl: string): void {
  if (flavourOf(databaseUrl) !== 'sqlite') return;
  const file = sqlitePath(databaseUrl);
  // SQLite writes its -wal and -shm files beside the database: the directory must be writable too.
  const err = probeFile(file) ?? probeDirectory(dirname(file));
  if (err)
    throw fail(
      `the SQLite database ${file} (DATABASE_URL) cannot be read and written: ${reason(err)}; point DATABASE_URL at file:<a path this user may write>`,
    );
}

/** DATA_DIR, when it is used: it holds only the generated development secrets. */
export function checkDataDir(config: Config): void {
  if (config.cookieKeys?.length && config.secretKey) return;
  const dir = resolve(config.dataDir);
  const err = probeDirectory(dir) ?? probeFile(join(dir, 'secrets.json'));
  if (err)
    throw fail(
      `DATA_DIR ${dir} cannot be read and written: ${reason(err)}; point DATA_DIR at a directory this user may write, or set COOKIE_KEYS and SECRET_KEY`,
    );
}

export function checkStoragePaths(config: Config): void {
  checkDatabasePath(config.databaseUrl);
  checkDataDir(config);
}
