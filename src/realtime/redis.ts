import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/**
 * A Redis client that survives Redis restarts: commands wait (they are not failed) while it
 * reconnects, with backoff up to 2 s. Keys get the deployment's prefix; pub/sub channels don't
 * (ioredis leaves them alone), so the event bus prefixes those itself.
 */
export function connectRedis(url: string, prefix: string, logger: Logger, role: string): Redis {
  const client = new Redis(url, {
    keyPrefix: prefix,
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
  client.on('error', (error) => logger.warn({ err: error, role }, 'redis connection problem'));
  return client;
}
