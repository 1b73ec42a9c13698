import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/** One JSON line per event on stdout. */
export function createLogger(level: Config['logLevel']): Logger {
  return pino({ level, base: { service: 'parley' } });
}
