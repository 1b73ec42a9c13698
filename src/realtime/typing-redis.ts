import type { Redis } from 'ioredis';
import { createBackground } from './background.js';
import { claimExpired, execAll } from './redis-expiry.js';
import type { TypingDeps, TypingTracker } from './typing.js';
import { publishTyping } from './typing-events.js';

/**
 * Redis keys (under the deployment prefix):
 * - `typing:expiries`: sorted set of `roomId|userId`, scored by the time the typing stops unless refreshed.
 * - `typing:rooms:<userId>`: set of the roomIds the user is typing in (for stopAll).
 *
 * A typing session is one life of its `roomId|userId` entry. Whoever's ZADD creates it publishes
 * typing:true; whoever's ZREM (set false, stop, stopAll) or expiry claim removes it publishes typing:false.
 * Redis decides both, so each is published exactly once whichever instances the calls reach, and an
 * instance that dies doesn't leave anyone typing: the others' sweeps expire its sessions.
 */
const expiries = 'typing:expiries';
const roomsKey = (userId: string) => `typing:rooms:${userId}`;
const expiryMember = (roomId: string, userId: string) => `${roomId}|${userId}`;

/**
 * What a MULTI of ZREM and SREM does, as one command: every send stops its author's typing, and one
 * EVAL costs the server's client a fraction of a MULTI's four commands and replies. EVAL, not
 * EVALSHA: a script missing from Redis's cache would be retried after commands issued later.
 */
const stopScript = `local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[2])
return removed`;

function parseMember(member: string) {
  const [roomId = '', userId = ''] = member.split('|');
  return { roomId, userId };
}

export function createRedisTyping({ redis, bus, logger, timeoutMs }: TypingDeps & { redis: Redis }): TypingTracker {
  const background = createBackground(logger);

  async function start(roomId: string, userId: string): Promise<void> {
    const multi = redis.multi().zadd(expiries, Date.now() + timeoutMs, expiryMember(roomId, userId)).sadd(roomsKey(userId), roomId);
    const [added] = await execAll(multi);
    if (added === 1) await publishTyping(bus, roomId, userId, true);
  }

  async function stop(roomId: string, userId: string): Promise<void> {
    const removed = await redis.eval(stopScript, 2, expiries, roomsKey(userId), expiryMember(roomId, userId), roomId);
    if (removed === 1) await publishTyping(bus, roomId, userId, false);
  }

  // A fraction of the timeout, so typing stops at most that much later than due.
  background.every(timeoutMs / 6, 'typing expiry sweep', async () => {
    const claims = await claimExpired(redis, expiries, (member) => {
      const { roomId, userId } = parseMember(member);
      return { key: roomsKey(userId), member: roomId };
    });
    await Promise.all(
      claims.map(({ member }) => {
        const { roomId, userId } = parseMember(member);
        return publishTyping(bus, roomId, userId, false);
      }),
    );
  });

  return {
    set: (roomId, userId, typing) => background.track(typing ? start(roomId, userId) : stop(roomId, userId)),
    stop: (roomId, userId) => background.track(stop(roomId, userId)),
    async stopAll(userId) {
      const rooms = await background.track(redis.smembers(roomsKey(userId)));
      await Promise.all(rooms.map((roomId) => background.track(stop(roomId, userId))));
    },
    close: () => background.close(),
  };
}
