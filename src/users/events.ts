import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../db/client.js';
import { topics, type Outgoing } from '../realtime/topics.js';

/**
 * UserUpdated (username or display name changed) on the topic of every room the user is in: everyone
 * who can see them there hears it. The copies share an updateId, so a stream that follows several of
 * those rooms (myEvents) passes it on once.
 */
export async function userUpdated(prisma: PrismaClient, userId: string): Promise<Outgoing[]> {
  const rooms = await prisma.roomMember.findMany({ where: { userId }, select: { roomId: true } });
  const updateId = randomUUID();
  return rooms.map(({ roomId }) => ({ topic: topics.room(roomId), payload: { type: 'UserUpdated', roomId, userId, updateId } }));
}
