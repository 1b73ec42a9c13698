import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '../app.js';
import { createFileStore } from '../files/storage.js';
import type { Config } from '../config.js';
import { openDatabase, pgliteDirectory, type DatabaseLocation } from '../db/client.js';
import { fail } from '../errors.js';
import { createHookRunner, type Hooks } from '../hooks.js';
import { createConnectionLimits } from '../limits/connections.js';
import { createRateLimits } from '../limits/rates.js';
import { createLogger, type Logger } from '../logger.js';
import { createMessageAppender } from '../messages/appender.js';
import { acceptAnyPayload, type MessageChecker } from '../messages/checker.js';
import { messageSent } from '../messages/events.js';
import { createEventBus } from '../realtime/bus.js';
import { createLiveStreams } from '../realtime/live-streams.js';
import { createPresenceTracker } from '../realtime/presence.js';
import { closeRedis, connectRedis } from '../realtime/redis.js';
import { createTypingTracker } from '../realtime/typing.js';
import { createBlockCache } from '../users/block-cache.js';
import { createIdTokenVerifier } from '../users/id-tokens.js';
import { createSessionCache } from '../users/session-cache.js';
import { createTokenService } from '../users/tokens.js';
import { startWebhookDelivery } from '../webhooks/delivery.js';
import { webhookQueueState } from '../webhooks/queue.js';
import { createDrain } from './drain.js';
import { createMetrics } from './metrics.js';
import { createRequestListener } from './http.js';
import { attachWebSocketServer } from './websocket.js';
import { createGraphQLHandler } from './yoga.js';

export interface ParleyServer {
  app: App;
  /** e.g. http://127.0.0.1:4000/graphql */
  url: string;
  port: number;
  /**
   * Graceful stop: stop accepting connections, end every subscription with UNAVAILABLE, let requests
   * and operations in flight finish (SHUTDOWN_TIMEOUT at most), close sockets (1001), then presence,
   * pub/sub, Redis and the database.
   */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Overrides where data lives (tests use in-memory PGlite or a per-run PostgreSQL database). */
  database?: DatabaseLocation;
  logger?: Logger;
  /** Custom message formats; by default any JSON object payload within the size limit is accepted. */
  messageChecker?: MessageChecker;
  /** Code of the embedding server run before and after the use cases (see hooks.ts). */
  hooks?: Hooks;
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
  const metrics = createMetrics(config.metrics.enabled);
  const sessions = await createSessionCache({ prisma: db.prisma, bus, logger });
  const blocks = await createBlockCache({ prisma: db.prisma, bus });
  const webhooks = config.webhooks ? startWebhookDelivery(db.prisma, config.webhooks, logger, metrics) : null;
  const app: App = {
    config,
    logger,
    db,
    prisma: db.prisma,
    redis,
    bus,
    liveStreams: createLiveStreams(),
    presence,
    typing,
    tokens: createTokenService(config.jwtSecret, sessions),
    idTokens: config.oidc ? createIdTokenVerifier(config.oidc) : null,
    sessions,
    blocks,
    limits: createRateLimits(config.rateLimits, redis, metrics.rateLimitRefused),
    connections: createConnectionLimits(config.rateLimits, metrics.rateLimitRefused),
    appender: createMessageAppender(
      db,
      (messages) => {
        metrics.messagesStored(messages.length);
        return bus.publishAll(messages.flatMap(messageSent));
      },
      // PGlite runs one statement at a time; PostgreSQL's pool (10) keeps room for reads beside four.
      location.kind === 'postgres' ? 4 : 1,
      config.webhooks,
    ),
    files: createFileStore(config.files, config.dataDir, db.prisma),
    messageChecker: options.messageChecker ?? acceptAnyPayload,
    hooks: createHookRunner([options.hooks ?? {}, ...(webhooks ? [webhooks.hooks] : [])], logger),
    drain: createDrain(),
    metrics,
  };

  const yoga = createGraphQLHandler(app);
  const server = createServer(createRequestListener(app, yoga));
  const sockets = attachWebSocketServer(app, yoga, server);
  metrics.watch({
    openSockets: sockets.count,
    liveStreams: () => app.liveStreams.counts(),
    pingDatabase: db.ping,
    pingRedis: redis ? async () => void (await redis.ping()) : null,
    webhookQueue: webhooks ? () => webhookQueueState(db.prisma) : null,
  });
  await listen(server, config.port, config.host);
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}/graphql`;
  if (config.metrics.enabled && config.metrics.token === null && !isLoopback(config.host)) {
    logger.warn('GET /metrics answers anyone who reaches this address: set METRICS_TOKEN, or METRICS=off');
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Stop accepting; end the subscriptions (their error frames are the last thing their clients
      // hear from us); let the work in flight finish; close what is left; release storage and pub/sub.
      const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      const drained = app.drain.settle(config.shutdownTimeoutMs);
      app.liveStreams.endAll(fail.shuttingDown());
      if (!(await drained)) {
        logger.warn({ inFlight: app.drain.inFlight }, 'shutdown: work still in flight after SHUTDOWN_TIMEOUT, closing anyway');
      }
      await sockets.close();
      server.closeIdleConnections();
      server.closeAllConnections();
      await httpClosed;
      // Presence before typing: users going offline stop typing.
      await presence.close();
      await typing.close();
      sessions.close();
      blocks.close();
      await webhooks?.close();
      await bus.close();
      if (redis) await closeRedis(redis);
      await db.close();
    })());

  return { app, url, port, close };
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
