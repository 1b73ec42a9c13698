import type { App } from '../app.js';
import { fail } from '../errors.js';
import type { DirectMessagePolicy } from '../generated/prisma/client.js';
import { requireUsers } from '../rooms/access.js';

/**
 * Blocking and who may message whom. Two users of whom one blocked the other have no direct
 * messages: neither opens a direct room with the other nor sends into the one they have. In group
 * rooms the blocked user's messages are delivered, marked (Message.authorBlockedByMe).
 */

/** The one refusal for "they blocked you" and "they accept no direct messages from you": it reveals which of the two it is to no one. */
const cannotMessage = () => fail.forbidden('You cannot send direct messages to this user.');

export async function blockUser(app: App, viewerId: string, userId: string): Promise<void> {
  if (userId === viewerId) throw fail.badInput("You can't block yourself.", 'userId');
  await app.limits.act('accountChanges', viewerId);
  await requireUsers(app.prisma, [userId]);
  const { count } = await app.prisma.userBlock.createMany({ data: [{ blockerId: viewerId, blockedId: userId }], skipDuplicates: true });
  if (count > 0) await app.blocks.changed(viewerId);
}

export async function unblockUser(app: App, viewerId: string, userId: string): Promise<void> {
  await app.limits.act('accountChanges', viewerId);
  await requireUsers(app.prisma, [userId]);
  const { count } = await app.prisma.userBlock.deleteMany({ where: { blockerId: viewerId, blockedId: userId } });
  if (count > 0) await app.blocks.changed(viewerId);
}

/** FORBIDDEN when sender and recipient have blocked one another (either way); from memory (users/block-cache.ts). */
export async function requireNotBlocked(app: App, senderId: string, recipientId: string): Promise<void> {
  const [mine, theirs] = await Promise.all([app.blocks.blockedBy(senderId), app.blocks.blockedBy(recipientId)]);
  if (mine.has(recipientId)) throw fail.forbidden('You have blocked this user: unblock them to message them.');
  if (theirs.has(senderId)) throw cannotMessage();
}

/** A send into a direct room: FORBIDDEN when its two members have blocked one another. */
export async function requireMayMessageIn(app: App, roomId: string, senderId: string): Promise<void> {
  const recipientId = await app.blocks.directPeer(roomId, senderId);
  if (recipientId) await requireNotBlocked(app, senderId, recipientId);
}

/** A new direct room: the recipient's directMessages setting must admit the sender. */
export async function requireAcceptsDirectMessages(app: App, senderId: string, recipientId: string): Promise<void> {
  const recipient = await app.prisma.user.findUnique({ where: { id: recipientId }, select: { directMessages: true } });
  if (!recipient) throw fail.notFound('User');
  const policy: DirectMessagePolicy = recipient.directMessages;
  if (policy === 'EVERYONE') return;
  if (policy === 'SHARED_ROOMS') {
    const shared = await app.prisma.roomMember.count({
      where: { userId: senderId, room: { members: { some: { userId: recipientId } } } },
    });
    if (shared > 0) return;
  }
  throw cannotMessage();
}
