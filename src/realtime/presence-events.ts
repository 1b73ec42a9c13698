import type { PrismaClient } from '../db/client.js';
import type { EventBus } from './bus.js';
import { topics } from './topics.js';

/** What happens when users come online or go offline, whichever tracker noticed it. */
export interface PresenceAnnouncer {
  online(userIds: readonly string[]): Promise<void>;
  /** Persists lastSeenAt, publishes OFFLINE, then runs the tracker's onOffline (typing stops). */
  offline(userIds: readonly string[]): Promise<void>;
}

export interface PresenceAnnouncerDeps {
  prisma: PrismaClient;
  bus: EventBus;
  onOffline: (userId: string) => Promise<void>;
}

export function createPresenceAnnouncer({ prisma, bus, onOffline }: PresenceAnnouncerDeps): PresenceAnnouncer {
  return {
    async online(userIds) {
      await Promise.all(
        userIds.map((userId) => bus.publish(topics.presence(userId), { userId, status: 'ONLINE', lastSeenAt: null })),
      );
    },
    async offline(userIds) {
      if (userIds.length === 0) return;
      const lastSeenAt = new Date();
      await prisma.user.updateMany({ where: { id: { in: [...userIds] } }, data: { lastSeenAt } });
      await Promise.all(
        userIds.map(async (userId) => {
          await bus.publish(topics.presence(userId), { userId, status: 'OFFLINE', lastSeenAt: lastSeenAt.toISOString() });
          await onOffline(userId);
        }),
      );
    },
  };
}
