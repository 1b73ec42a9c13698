import type { Redis } from 'ioredis';
import { createBackground } from './background.js';
import type { PresenceDeps, PresenceTracker } from './presence.js';
import { createPresenceAnnouncer } from './presence-events.js';
import { claimExpired, execAll } from './redis-expiry.js';

/**
 * Redis keys (under the deployment prefix):
 * - `presence:expiries`: sorted set of `userId|instanceId|connectionId`, scored by the time the
 *   connection stops counting unless its instance's heartbeat refreshes it.
 * - `presence:connections:<userId>`: set of `instanceId|connectionId`, the user's open connections
 *   on all instances. A user is online while it is not empty.
 *
 * Each change is a MULTI that adds or removes the entry and counts the set, so exactly one instance
 * sees a user's count go 0→1 (it publishes ONLINE) or 1→0 (it persists lastSeenAt and publishes OFFLINE).
 */
const expiries = 'presence:expiries';
const connectionsKey = (userId: string) => `presence:connections:${userId}`;
const expiryMember = (userId: string, entry: string) => `${userId}|${entry}`;

function parseMember(member: string) {
  const split = member.indexOf('|');
  return { userId: member.slice(0, split), entry: member.slice(split + 1) };
}

interface Connection {
  userId: string;
  connectionId: string;
}

export interface RedisPresenceOptions extends PresenceDeps {
  redis: Redis;
  instanceId: string;
  ttlMs: number;
}

export function createRedisPresence({ redis, instanceId, ttlMs, ...deps }: RedisPresenceOptions): PresenceTracker {
  const announce = createPresenceAnnouncer(deps);
  const background = createBackground(deps.logger);
  /** This instance's open connections, by connectionId. */
  const local = new Map<string, Connection>();
  let closed = false;

  /**
   * Adds (or refreshes) or removes connections; resolves to the users whose count this changed to
   * 1 (add) or 0 (remove). The MULTI is sent before the first await, so calls reach Redis in call
   * order: a heartbeat can't re-add a connection after its disconnect.
   */
  async function apply(connections: readonly Connection[], change: 'add' | 'remove'): Promise<string[]> {
    if (connections.length === 0) return [];
    const expiresAt = Date.now() + ttlMs;
    const multi = redis.multi();
    for (const { userId, connectionId } of connections) {
      const entry = `${instanceId}|${connectionId}`;
      if (change === 'add') multi.zadd(expiries, expiresAt, expiryMember(userId, entry)).sadd(connectionsKey(userId), entry);
      else multi.zrem(expiries, expiryMember(userId, entry)).srem(connectionsKey(userId), entry);
      multi.scard(connectionsKey(userId));
    }
    const replies = await execAll(multi);
    const edge = change === 'add' ? 1 : 0;
    return connections
      .filter((_, i) => replies[3 * i + 1] === 1 && replies[3 * i + 2] === edge)
      .map((connection) => connection.userId);
  }

  /**
   * Disconnects of this turn, removed together: sockets close in bursts (a client's network drops
   * thousands at once), and one MULTI each queued thousands of them behind one another, past Redis's
   * command timeout. A disconnected connection has already left `local`, so no heartbeat re-adds it meanwhile.
   */
  let leaving: { connections: Connection[]; removed: Promise<void> } | null = null;
  const removeSoon = (connection: Connection): Promise<void> => {
    if (!leaving) {
      const batch: Connection[] = [];
      const removed = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        leaving = null;
        await announce.offline(await apply(batch, 'remove'));
      });
      leaving = { connections: batch, removed };
    }
    leaving.connections.push(connection);
    return leaving.removed;
  };

  // Re-adding (not only refreshing) heals entries lost to a Redis restart or a sweep during a stall.
  background.every(ttlMs / 3, 'presence heartbeat', async () => {
    await announce.online(await apply([...local.values()], 'add'));
  });
  // Every instance sweeps; claimExpired gives each expired connection to exactly one of them.
  background.every(ttlMs / 6, 'presence sweep', async () => {
    const claims = await claimExpired(redis, expiries, (member) => {
      const { userId, entry } = parseMember(member);
      return { key: connectionsKey(userId), member: entry };
    });
    await announce.offline(claims.filter((claim) => claim.remaining === 0).map((claim) => parseMember(claim.member).userId));
  });

  return {
    async connect(userId, connectionId) {
      if (closed) return;
      const connection = { userId, connectionId };
      local.set(connectionId, connection);
      await background.track(apply([connection], 'add').then(announce.online));
    },
    async disconnect(userId, connectionId) {
      if (!local.delete(connectionId)) return;
      await background.track(removeSoon({ userId, connectionId }));
    },
    async online(userIds) {
      if (userIds.length === 0) return new Set();
      const pipeline = redis.pipeline();
      for (const userId of userIds) pipeline.scard(connectionsKey(userId));
      const counts = await execAll(pipeline);
      return new Set(userIds.filter((_, i) => Number(counts[i]) > 0));
    },
    async close() {
      closed = true;
      const remaining = [...local.values()];
      local.clear();
      await background
        .track(apply(remaining, 'remove').then(announce.offline))
        .catch((error: unknown) => deps.logger.error({ err: error }, 'presence shutdown failed'));
      await background.close();
    },
  };
}
