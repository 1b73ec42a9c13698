import { fail } from '../errors.js';
import type { Message, Prisma, Room, RoomMember } from '../generated/prisma/client.js';
import { memberRoom, visibleTo, type Db } from '../rooms/access.js';

/**
 * The message, its room and the user's membership. A message of a room the user may not see is
 * NOT_FOUND, like a missing one; one of a PUBLIC room the user has not joined is FORBIDDEN.
 */
export async function memberMessage(
  db: Db,
  messageId: string,
  userId: string,
): Promise<{ message: Message; room: Room; member: RoomMember }> {
  const message = await db.message.findFirst({ where: { id: messageId, room: visibleTo(userId) } });
  if (!message) throw fail.notFound('Message');
  return { message, ...(await memberRoom(db, message.roomId, userId)) };
}

/**
 * Locks the message against deletion until the transaction ends; false when it is already deleted.
 * A delete waits for the lock and then sees (and removes) what this transaction added, such as a reaction.
 */
export async function lockLiveMessage(tx: Prisma.TransactionClient, messageId: string): Promise<boolean> {
  const rows = await tx.$queryRaw<unknown[]>`SELECT 1 FROM "Message" WHERE "id" = ${messageId} AND "deletedAt" IS NULL FOR SHARE`;
  return rows.length > 0;
}
