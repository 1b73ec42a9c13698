import type { Redis } from 'ioredis';
import type { Config } from './config.js';
import type { Database, PrismaClient } from './db/client.js';
import type { FileStore } from './files/storage.js';
import type { HookRunner } from './hooks.js';
import type { ConnectionLimits } from './limits/connections.js';
import type { RateLimits } from './limits/rates.js';
import type { Logger } from './logger.js';
import type { MessageAppender } from './messages/appender.js';
import type { MessageChecker } from './messages/checker.js';
import type { EventBus } from './realtime/bus.js';
import type { LiveStreams } from './realtime/live-streams.js';
import type { PresenceTracker } from './realtime/presence.js';
import type { TypingTracker } from './realtime/typing.js';
import type { Drain } from './server/drain.js';
import type { Metrics } from './server/metrics.js';
import type { BlockCache } from './users/block-cache.js';
import type { IdTokenVerifier } from './users/id-tokens.js';
import type { SessionCache } from './users/session-cache.js';
import type { TokenService } from './users/tokens.js';

/** The long-lived services of one server instance, shared by every request. */
export interface App {
  config: Config;
  logger: Logger;
  db: Database;
  prisma: PrismaClient;
  /** Redis command client when REDIS_URL is set; null for a single in-process instance. */
  redis: Redis | null;
  bus: EventBus;
  /** The open subscription streams (metrics count them; a graceful stop ends them). */
  liveStreams: LiveStreams;
  presence: PresenceTracker;
  typing: TypingTracker;
  tokens: TokenService;
  /** Verifies ID tokens of the configured OpenID Connect provider (OIDC_ISSUER); null when there is none. */
  idTokens: IdTokenVerifier | null;
  /** Which sessions are live, in memory, told of ended ones through the bus. */
  sessions: SessionCache;
  /** Who blocked whom and who is in each direct room, in memory, told of changes through the bus. */
  blocks: BlockCache;
  /** The abuse limits every use case counts against (Redis-backed with Redis). */
  limits: RateLimits;
  /** Long-lived connections (WebSockets, event streams) per client address. */
  connections: ConnectionLimits;
  /** Stores sent messages, batching concurrent sends to a room, and publishes them. */
  appender: MessageAppender;
  /** Where attachment bytes are kept (FILE_STORE). */
  files: FileStore;
  /** Which message payloads sendMessage accepts (custom message formats). */
  messageChecker: MessageChecker;
  /** The embedding server's before/after hooks around the use cases (none by default). */
  hooks: HookRunner;
  /** Requests and operations in flight, which a graceful stop waits for. */
  drain: Drain;
  metrics: Metrics;
}
