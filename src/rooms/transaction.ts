import type { App } from '../app.js';
import type { Prisma } from '../generated/prisma/client.js';
import type { Outgoing } from '../realtime/topics.js';
import { lockRoom } from './access.js';

/** What a committed write returns, and the events to publish about it. */
export interface Write<T> {
  result: T;
  events: Outgoing[];
}

/** Publishes a committed write's events (never before the commit: subscribers would read the old state). */
export async function publish<T>(app: App, write: Write<T>): Promise<T> {
  await app.bus.publishAll(write.events);
  return write.result;
}

/** Runs work in a transaction holding the room's row lock, then publishes its events. */
export async function writeRoom<T>(
  app: App,
  roomId: string,
  work: (tx: Prisma.TransactionClient) => Promise<Write<T>>,
): Promise<T> {
  const write = await app.prisma.$transaction(async (tx) => {
    await lockRoom(tx, roomId);
    return work(tx);
  });
  return publish(app, write);
}
