import type { PrismaClient } from '../db/client.js';
import { messageAddedPayload, storedMessageSelect } from '../messages/events.js';
import type { MessageAddedPayload } from './topics.js';

/** How long a finished fill stays shared, for subscribers that reach the same gap a moment later. */
const KEEP_MS = 1000;

const fillsByDatabase = new WeakMap<PrismaClient, Map<string, Promise<MessageAddedPayload[]>>>();

/**
 * The MessageAdded events of a room with afterSeq < seq < beforeSeq, from the database: what a live
 * stream missed (a publish overtaken by a later one, or lost). Every subscriber of the room meets the
 * same gap at the same moment, so concurrent fills of one gap share one query and the same event
 * objects, which subscriptions then execute once for all (see server/shared-execution.ts).
 */
export function fillGap(prisma: PrismaClient, roomId: string, afterSeq: number, beforeSeq: number): Promise<MessageAddedPayload[]> {
  let fills = fillsByDatabase.get(prisma);
  if (!fills) fillsByDatabase.set(prisma, (fills = new Map()));
  const key = `${roomId}:${afterSeq}:${beforeSeq}`;
  let fill = fills.get(key);
  if (!fill) {
    fill = prisma.message
      .findMany({
        where: { roomId, seq: { gt: afterSeq, lt: beforeSeq } },
        orderBy: { seq: 'asc' },
        select: storedMessageSelect,
      })
      .then((rows) => rows.map(messageAddedPayload));
    const shared = fills;
    const forget = () => setTimeout(() => shared.delete(key), KEEP_MS).unref();
    fill.then(forget, forget);
    fills.set(key, fill);
  }
  return fill;
}
