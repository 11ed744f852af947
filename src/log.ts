// Structured JSON logs on stdout. Redaction is a safety net: no code path
// should hand a secret to the logger in the first place.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** JSON lines to stdout, or to `destination` (the tests read the lines back). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: undefined,
    redact: {
      paths: ['password', 'client_secret', 'secret', 'token', 'access_token', 'refresh_token', 'id_token', 'code', '*.password', '*.client_secret', 'req.headers.authorization', 'req.headers.cookie'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
