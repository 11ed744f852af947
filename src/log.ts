// Structured JSON logs on stdout. Redaction is a safety net: no code path
// should hand a secret to the logger in the first place.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

// Prisma's errors quote the whole query with its arguments, and an opaque
// token's value is its row id: log what kind of error it was, never its text.
function serializeError(err: unknown): unknown {
  const e = err as { name?: string; code?: string; message?: string } | undefined;
  if (e?.name?.startsWith('PrismaClient')) return { type: e.name, code: e.code };
  return pino.stdSerializers.err(err as Error);
}

/** JSON lines to stdout, or to `destination` (the tests read the lines back). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: undefined,
    serializers: { err: serializeError },
    redact: {
      paths: [
        'password',
        'client_secret',
        'secret',
        'token',
        'access_token',
        'refresh_token',
        'id_token',
        'code',
        '*.password',
        '*.client_secret',
        'req.headers.authorization',
        'req.headers.cookie',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
