// What a failed start exits with, so that a script or a supervisor can tell
// the cases apart without reading the message (README, "Settings"). Each
// comes with one line on stderr and no stack trace.
export const EXIT = {
  /** Anything else: invalid settings, a database that does not answer, a bug. */
  failed: 1,
  /** Not the Node.js major this product runs on. */
  nodeVersion: 3,
  /** PORT (API_PORT for the API on its own) is taken, or not ours to bind. */
  cannotListen: 4,
  /** The SQLite database file or DATA_DIR cannot be read or written. */
  storage: 5,
} as const;

/** A start that cannot go on for a reason the person starting it can fix; the message says how. */
export class StartupError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Ends the process with the one-line message and the exit code that fit `err`. */
export function exitForFailedStart(err: unknown, isConfigError: (err: unknown) => boolean): never {
  if (err instanceof StartupError) {
    process.stderr.write(`cannot start: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  if (isConfigError(err)) {
    process.stderr.write(`${(err as Error).message}\n`);
  } else {
    process.stderr.write(`failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(EXIT.failed);
}
