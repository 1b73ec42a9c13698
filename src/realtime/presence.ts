import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { createBackground } from './background.js';
import { createPresenceAnnouncer, type PresenceAnnouncerDeps } from './presence-events.js';
import { createRedisPresence } from './presence-redis.js';

/**
 * Who is online, counted over all of a user's connections: ONLINE when the first opens,
 * OFFLINE (lastSeenAt persisted on the user) when the last closes.
 */
export interface PresenceTracker {
  connect(userId: string, connectionId: string): Promise<void>;
  disconnect(userId: string, connectionId: string): Promise<void>;
  /** The subset of userIds that have at least one open connection. */
  online(userIds: readonly string[]): Promise<Set<string>>;
  /**
   * Graceful shutdown: this instance's remaining connections close (OFFLINE for users with no other),
   * and it resolves once no presence work is running. Later connect/disconnect calls do nothing.
   */
  close(): Promise<void>;
}

export interface PresenceDeps extends PresenceAnnouncerDeps {
  logger: Logger;
}

export interface PresenceOptions extends PresenceDeps {
  redis: Redis | null;
  /** Tells this instance's connections apart from other instances' in Redis. */
  instanceId: string;
  /** How long a connection counts as open without its instance's heartbeat. */
  ttlMs: number;
}

/** Presence in Redis, shared by every instance, when there is Redis; otherwise in this process. */
export function createPresenceTracker({ redis, instanceId, ttlMs, ...deps }: PresenceOptions): PresenceTracker {
  return redis ? createRedisPresence({ ...deps, redis, instanceId, ttlMs }) : createLocalPresence(deps);
}

/** Presence of this process's own connections: right for a single instance. */
export function createLocalPresence(deps: PresenceDeps): PresenceTracker {
  const announce = createPresenceAnnouncer(deps);
  const background = createBackground(deps.logger);
  const connections = new Map<string, Set<string>>();
  let closed = false;
  return {
    async connect(userId, connectionId) {
      if (closed) return;
      const open = connections.get(userId) ?? new Set<string>();
      open.add(connectionId);
      connections.set(userId, open);
      if (open.size === 1) await background.track(announce.online([userId]));
    },
    async disconnect(userId, connectionId) {
      const open = connections.get(userId);
      if (!open?.delete(connectionId) || open.size > 0) return;
      connections.delete(userId);
      await background.track(announce.offline([userId]));
    },
    online: async (userIds) => new Set(userIds.filter((id) => connections.has(id))),
    async close() {
      closed = true;
      const remaining = [...connections.keys()];
      connections.clear();
      await background
        .track(announce.offline(remaining))
        .catch((error: unknown) => deps.logger.error({ err: error }, 'presence shutdown failed'));
      await background.close();
    },
  };
}
