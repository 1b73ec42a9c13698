import type { PrismaClient } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { EventBus } from '../realtime/bus.js';
import { topics } from '../realtime/topics.js';

/**
 * Which sessions are live, answered from memory: every request and WebSocket operation presents a
 * token, and its session is looked up in the database only the first time this instance sees it.
 * Ending a session is published to every instance (topics.sessionsEnded), which forget it at once
 * and close its sockets (server/websocket.ts).
 */
export interface SessionCache {
  /** Whether the session is live (it exists and belongs to userId). */
  isLive(sessionId: string, userId: string): boolean | Promise<boolean>;
  /** A session this instance just created: live without asking the database. */
  started(sessionId: string, userId: string): void;
  /** Tells every instance (this one first, before it returns) that these sessions ended. Call after commit. */
  ended(sessionIds: readonly string[]): Promise<void>;
  /** Calls listener with the ids of sessions that ended, on any instance. Returns the unsubscriber. */
  onEnded(listener: (sessionIds: readonly string[]) => void): () => void;
  close(): void;
}

/** Sessions remembered at most, live and ended each; past that the oldest is forgotten (and looked up again if it comes back). */
const REMEMBERED_SESSIONS = 100_000;
/** lastSeenAt is written at most this often per session and instance: "last seen" to the minute is plenty. */
const TOUCH_INTERVAL_MS = 5 * 60_000;

export async function createSessionCache(options: { prisma: PrismaClient; bus: EventBus; logger: Logger }): Promise<SessionCache> {
  const { prisma, bus, logger } = options;
  /** Live session id → its user and when this instance last wrote its lastSeenAt. */
  const live = new Map<string, { userId: string; touchedAt: number }>();
  /** Sessions known to have ended; ids are never reused, so an entry never turns live again. */
  const ended = new Set<string>();
  const lookups = new Map<string, Promise<boolean>>();
  const listeners = new Set<(sessionIds: readonly string[]) => void>();

  const makeRoom = <K>(collection: { size: number; keys(): IterableIterator<K>; delete(key: K): boolean }) => {
    if (collection.size >= REMEMBERED_SESSIONS) collection.delete(collection.keys().next().value as K);
  };
  const markLive = (sessionId: string, userId: string, touchedAt: number) => {
    makeRoom(live);
    live.set(sessionId, { userId, touchedAt });
  };
  const forget = (sessionIds: readonly string[]) => {
    for (const id of sessionIds) {
      live.delete(id);
      if (!ended.has(id)) {
        makeRoom(ended);
        ended.add(id);
      }
    }
    for (const listener of listeners) listener(sessionIds);
  };

  const lookUp = (sessionId: string, userId: string): Promise<boolean> => {
    let lookup = lookups.get(sessionId);
    if (!lookup) {
      lookup = prisma.session
        .findUnique({ where: { id: sessionId }, select: { userId: true } })
        .then((row) => {
          // An end published while the query ran wins over what the query saw.
          if (!row || ended.has(sessionId)) return false;
          markLive(sessionId, row.userId, Date.now());
          return true;
        })
        .finally(() => lookups.delete(sessionId));
      lookups.set(sessionId, lookup);
    }
    return lookup.then((isLive) => isLive && live.get(sessionId)?.userId === userId);
  };

  const touch = (sessionId: string, entry: { touchedAt: number }) => {
    const now = Date.now();
    if (now - entry.touchedAt < TOUCH_INTERVAL_MS) return;
    entry.touchedAt = now;
    prisma.session.updateMany({ where: { id: sessionId }, data: { lastSeenAt: new Date(now) } }).catch((error: unknown) => {
      logger.warn({ err: error }, 'session lastSeenAt update failed');
    });
  };

  const unsubscribe = await bus.subscribe(topics.sessionsEnded(), ({ sessionIds }) => forget(sessionIds));
  // Ends published while Redis was unreachable were lost: look every session up again.
  const offReconnect = bus.onReconnect(() => live.clear());

  return {
    isLive(sessionId, userId) {
      if (ended.has(sessionId)) return false;
      const entry = live.get(sessionId);
      if (!entry) return lookUp(sessionId, userId);
      touch(sessionId, entry);
      return entry.userId === userId;
    },
    started: (sessionId, userId) => markLive(sessionId, userId, Date.now()),
    async ended(sessionIds) {
      if (sessionIds.length === 0) return;
      forget(sessionIds);
      await bus.publishAll([{ topic: topics.sessionsEnded(), payload: { sessionIds: [...sessionIds] } }]);
    },
    onEnded(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      unsubscribe();
      offReconnect();
    },
  };
}
