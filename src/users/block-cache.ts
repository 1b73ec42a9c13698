import type { PrismaClient } from '../db/client.js';
import type { EventBus } from '../realtime/bus.js';
import { topics } from '../realtime/topics.js';

/**
 * Who blocked whom, and who the two members of a direct room are, answered from memory: every
 * message a subscriber receives is marked by its author's block status, and every send into a
 * direct room checks it, so neither may cost a query each. A change of someone's blocks is published
 * to every instance (topics.blocksChanged), which forget that user's list and load it again when asked.
 */
export interface BlockCache {
  /** The users userId has blocked. */
  blockedBy(userId: string): Promise<ReadonlySet<string>>;
  /** The other member of a DIRECT room; null for a GROUP room (or none). */
  directPeer(roomId: string, userId: string): Promise<string | null>;
  /** Tells every instance that userId's blocks changed. Call after commit. */
  changed(userId: string): Promise<void>;
  close(): void;
}

/** Users' block lists and rooms' kinds remembered at most each; past that the oldest is forgotten (and loaded again if asked). */
const REMEMBERED = 50_000;

export async function createBlockCache(options: { prisma: PrismaClient; bus: EventBus }): Promise<BlockCache> {
  const { prisma, bus } = options;
  const lists = new Map<string, Promise<ReadonlySet<string>>>();
  /** Room id → its directKey ("<user id>:<user id>"), or null for a GROUP room: a room's kind and a direct room's pair never change. */
  const directKeys = new Map<string, Promise<string | null>>();

  const bounded = <V>(map: Map<string, V>, key: string, value: V): V => {
    if (map.size >= REMEMBERED) map.delete(map.keys().next().value!);
    map.set(key, value);
    return value;
  };
  const forget = <V>(map: Map<string, Promise<V>>, key: string, load: Promise<V>) =>
    load.catch((error: unknown) => {
      // A failed load is not remembered: the next caller tries again.
      if (map.get(key) === load) map.delete(key);
      throw error;
    });

  const unsubscribe = await bus.subscribe(topics.blocksChanged(), ({ userId }) => lists.delete(userId));
  // Changes published while Redis was unreachable were lost: load every list again.
  const offReconnect = bus.onReconnect(() => lists.clear());

  return {
    blockedBy(userId) {
      const cached = lists.get(userId);
      if (cached) return cached;
      const load = prisma.userBlock
        .findMany({ where: { blockerId: userId }, select: { blockedId: true } })
        .then((rows) => new Set(rows.map((row) => row.blockedId)));
      return bounded(lists, userId, forget(lists, userId, load));
    },
    async directPeer(roomId, userId) {
      let directKey = directKeys.get(roomId);
      if (!directKey) {
        const load = prisma.room.findUnique({ where: { id: roomId }, select: { directKey: true } }).then((room) => room?.directKey ?? null);
        directKey = bounded(directKeys, roomId, forget(directKeys, roomId, load));
      }
      const pair = (await directKey)?.split(':');
      if (!pair?.includes(userId)) return null;
      return pair.find((id) => id !== userId) ?? null;
    },
    async changed(userId) {
      lists.delete(userId);
      await bus.publishAll([{ topic: topics.blocksChanged(), payload: { userId } }]);
    },
    close() {
      unsubscribe();
      offReconnect();
    },
  };
}
