import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '../app.js';
import type { Config } from '../config.js';
import { openDatabase, pgliteDirectory, type DatabaseLocation } from '../db/client.js';
import { createConnectionLimits } from '../limits/connections.js';
import { createRateLimits } from '../limits/rates.js';
import { createLogger, type Logger } from '../logger.js';
import { createMessageAppender } from '../messages/appender.js';
import { acceptAnyPayload, type MessageChecker } from '../messages/checker.js';
import { messageAdded } from '../messages/events.js';
import { createEventBus } from '../realtime/bus.js';
import { createPresenceTracker } from '../realtime/presence.js';
import { connectRedis } from '../realtime/redis.js';
import { createTypingTracker } from '../realtime/typing.js';
import { createTokenService } from '../users/tokens.js';
import { createRequestListener } from './http.js';
import { attachWebSocketServer } from './websocket.js';
import { createGraphQLHandler } from './yoga.js';

export interface ParleyServer {
  app: App;
  /** e.g. http://127.0.0.1:4000/graphql */
  url: string;
  port: number;
  /** Graceful stop: refuse new work, complete subscriptions, close sockets, database and Redis. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Overrides where data lives (tests use in-memory PGlite or a per-run PostgreSQL database). */
  database?: DatabaseLocation;
  logger?: Logger;
  /** Custom message formats; by default any JSON object payload within the size limit is accepted. */
  messageChecker?: MessageChecker;
}

/** Opens storage, applies pending migrations, and starts HTTP + graphql-ws on one port. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<ParleyServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const location: DatabaseLocation =
    options.database ??
    (config.databaseUrl
      ? { kind: 'postgres', url: config.databaseUrl }
      : { kind: 'pglite', dir: pgliteDirectory(config.dataDir) });
  const db = await openDatabase(location);
  try {
    const applied = await db.migrate();
    if (applied.length > 0) logger.info({ migrations: applied }, 'applied database migrations');
  } catch (error) {
    await db.close();
    throw error;
  }
  const redis = config.redisUrl ? connectRedis(config.redisUrl, config.redisPrefix, logger, 'commands') : null;
  const bus = createEventBus({ redis, url: config.redisUrl, prefix: config.redisPrefix, logger });
  const typing = createTypingTracker({ redis, bus, logger, timeoutMs: config.realtime.typingTimeoutMs });
  const presence = createPresenceTracker({
    prisma: db.prisma,
    bus,
    logger,
    redis,
    instanceId: randomUUID(),
    ttlMs: config.realtime.presenceTtlMs,
    onOffline: (userId) => typing.stopAll(userId),
  });
  const app: App = {
    config,
    logger,
    db,
    prisma: db.prisma,
    redis,
    bus,
    presence,
    typing,
    tokens: createTokenService(config.jwtSecret, config.tokenTtlSeconds),
    limits: createRateLimits(config.rateLimits, redis),
    connections: createConnectionLimits(config.rateLimits),
    appender: createMessageAppender(db.prisma, (messages) => bus.publishAll(messages.flatMap(messageAdded))),
    messageChecker: options.messageChecker ?? acceptAnyPayload,
  };

  const yoga = createGraphQLHandler(app);
  const server = createServer(createRequestListener(app, yoga));
  const sockets = attachWebSocketServer(app, yoga, server);
  await listen(server, config.port, config.host);
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}/graphql`;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Stop accepting, finish subscriptions and sockets, then release storage and pub/sub.
      const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      await sockets.close();
      server.closeIdleConnections();
      server.closeAllConnections();
      await httpClosed;
      // Presence before typing: users going offline stop typing.
      await presence.close();
      await typing.close();
      await bus.close();
      await redis?.quit();
      await db.close();
    })());

  return { app, url, port, close };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
