import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/**
 * One JSON line per event, on stdout by default. Nothing logs a password or a token; the redaction
 * is a second line of defence should an object carrying one ever be logged.
 */
export function createLogger(level: Config['logLevel'], destination?: DestinationStream): Logger {
  const secrets = ['password', 'token', 'authToken', 'authorization', 'connectionParams', 'jwtSecret'];
  return pino(
    {
      level,
      base: { service: 'parley' },
      redact: { paths: [...secrets, ...secrets.map((key) => `*.${key}`), '*.headers.authorization'], censor: '[redacted]' },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
