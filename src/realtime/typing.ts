import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { createBackground } from './background.js';
import type { EventBus } from './bus.js';
import { publishTyping } from './typing-events.js';
import { createRedisTyping } from './typing-redis.js';

/**
 * Who is typing in which room. TypingChanged goes to the room's topic only when the state changes:
 * once when typing starts, once when it stops (set false, a message sent, the user's last connection
 * closed, or no refresh for the typing timeout). A refresh only extends the timeout.
 */
export interface TypingTracker {
  set(roomId: string, userId: string, typing: boolean): Promise<void>;
  /** The user sent a message in the room. */
  stop(roomId: string, userId: string): Promise<void>;
  /** The user went offline: stops their typing in every room. */
  stopAll(userId: string): Promise<void>;
  close(): Promise<void>;
}

export interface TypingDeps {
  bus: EventBus;
  logger: Logger;
  timeoutMs: number;
}

/** Typing in Redis, shared by every instance, when there is Redis; otherwise in this process. */
export function createTypingTracker({ redis, ...deps }: TypingDeps & { redis: Redis | null }): TypingTracker {
  return redis ? createRedisTyping({ ...deps, redis }) : createLocalTyping(deps);
}

/** Typing of this process's users, with one expiry timer per user and room: right for a single instance. */
export function createLocalTyping({ bus, logger, timeoutMs }: TypingDeps): TypingTracker {
  const background = createBackground(logger);
  /** userId → roomId → the timer that stops the typing. */
  const timers = new Map<string, Map<string, NodeJS.Timeout>>();

  async function stop(roomId: string, userId: string): Promise<void> {
    const rooms = timers.get(userId);
    const timer = rooms?.get(roomId);
    if (!rooms || !timer) return;
    clearTimeout(timer);
    rooms.delete(roomId);
    if (rooms.size === 0) timers.delete(userId);
    await background.track(publishTyping(bus, roomId, userId, false));
  }

  const expire = (roomId: string, userId: string) =>
    stop(roomId, userId).catch((error: unknown) => logger.error({ err: error }, 'typing expiry failed'));

  return {
    async set(roomId, userId, typing) {
      if (!typing) return stop(roomId, userId);
      const rooms = timers.get(userId) ?? new Map<string, NodeJS.Timeout>();
      timers.set(userId, rooms);
      const running = rooms.get(roomId);
      clearTimeout(running);
      rooms.set(roomId, setTimeout(() => void expire(roomId, userId), timeoutMs).unref());
      if (!running) await background.track(publishTyping(bus, roomId, userId, true));
    },
    stop,
    async stopAll(userId) {
      await Promise.all([...(timers.get(userId)?.keys() ?? [])].map((roomId) => stop(roomId, userId)));
    },
    async close() {
      for (const rooms of timers.values()) for (const timer of rooms.values()) clearTimeout(timer);
      timers.clear();
      await background.close();
    },
  };
}
