import type { Socket } from 'node:net';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { corkPerTurn } from './cork.js';

const corkForThisTurn = corkPerTurn();

/** Corks the connection at its first write of each turn (ioredis writes with socket.write). */
function writeOncePerTurn(socket: Socket): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  socket.write = ((...args: unknown[]) => {
    corkForThisTurn(socket);
    return write(...args);
  }) as Socket['write'];
}

/** The longest a command of the app's command client waits for its answer (a Redis that hangs, or a connection lost mid-command). */
const COMMAND_TIMEOUT_MS = 3000;

/**
 * A Redis client that survives Redis restarts, reconnecting with backoff up to 2 s. Keys get the
 * deployment's prefix; pub/sub channels don't (ioredis leaves them alone), so the event bus prefixes
 * those itself.
 *
 * The command client (role 'commands') waits for its first connection, then fails fast: a command
 * sent while Redis is down fails at once, and any command gives up after COMMAND_TIMEOUT_MS, so a
 * request is never held by an outage. What uses it copes: rate limits count in memory meanwhile,
 * a lost publish is filled from the database, presence heals at its next heartbeat, and an error
 * that reaches a client is UNAVAILABLE (server/outages.ts). The subscriber keeps its commands until
 * it reconnects: graphql-redis-subscriptions fires its UNSUBSCRIBEs and forgets them.
 */
export function connectRedis(url: string, prefix: string, logger: Logger, role: 'commands' | 'subscriber'): Redis {
  const client = new Redis(url, {
    keyPrefix: prefix,
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    ...(role === 'commands' ? { commandTimeout: COMMAND_TIMEOUT_MS } : {}),
  });
  if (role === 'commands') {
    // ioredis reads the option at each command: queued until the first connection, failed after it.
    client.once('ready', () => (client.options.enableOfflineQueue = false));
    // ioredis writes each command to the socket as it is issued: a batch of sends publishes each
    // message and stops each author's typing, a system call apiece. Corked until the end of the turn,
    // a turn's commands leave together (their order, and so their replies', is unchanged).
    client.on('connect', () => writeOncePerTurn(client.stream as Socket));
  }
  client.on('error', (error) => logger.warn({ err: error, role }, 'redis connection problem'));
  return client;
}

/**
 * Closes client: QUIT when connected, so replies still due arrive first; otherwise at once, failing
 * what is queued (a stop must not wait for a Redis that is down).
 */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else client.disconnect();
}
