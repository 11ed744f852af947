// Structured JSON logs on stdout. Redaction is a safety net: no code path
// should hand a secret to the logger in the first place.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    redact: {
      paths: ['password', 'client_secret', 'secret', 'token', 'access_token', 'refresh_token', 'id_token', 'code', '*.password', '*.client_secret', 'req.headers.authorization', 'req.headers.cookie'],
      censor: '[redacted]',
    },
  });
}
