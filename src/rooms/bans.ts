import type { App } from '../app.js';
import { memberKey, memberRoom, requireUsers } from './access.js';
import { memberLeft } from './events.js';
import { validBanReason } from './input.js';
import { requireGroup, requireManager, requireOutranks, requireSomeoneElse } from './permissions.js';
import { writeRoom } from './transaction.js';

/**
 * Bans: a banned user loses their membership and can't join or be added until unbanned.
 * Users who are not members can be banned too, which keeps them out of a PUBLIC room.
 */

export async function banUser(
  app: App,
  viewerId: string,
  roomId: string,
  userId: string,
  reasonInput: string | null | undefined,
): Promise<string> {
  const reason = validBanReason(reasonInput);
  requireSomeoneElse(viewerId, userId, "You can't ban yourself: to go, use leaveRoom.");
  return writeRoom(app, roomId, async (tx) => {
    const { room, member } = await memberRoom(tx, roomId, viewerId);
    requireGroup(room, 'have bans');
    requireManager(member, 'ban users');
    await requireUsers(tx, [userId]);
    const target = await tx.roomMember.findUnique({ where: memberKey(roomId, userId) });
    requireOutranks(member, target, 'ban');
    // Banning again keeps the first ban and its reason.
    await tx.roomBan.upsert({
      where: memberKey(roomId, userId),
      create: { roomId, userId, reason, bannedById: viewerId },
      update: {},
    });
    if (!target) return { result: userId, events: [] };
    await tx.roomMember.delete({ where: memberKey(roomId, userId) });
    return { result: userId, events: memberLeft(roomId, userId, 'BANNED') };
  });
}

/** Lifts a ban; unbanning someone who is not banned changes nothing. Nothing is published: no member sees a change. */
export async function unbanUser(app: App, viewerId: string, roomId: string, userId: string): Promise<string> {
  return writeRoom(app, roomId, async (tx) => {
    const { room, member } = await memberRoom(tx, roomId, viewerId);
    requireGroup(room, 'have bans');
    requireManager(member, 'unban users');
    await requireUsers(tx, [userId]);
    await tx.roomBan.deleteMany({ where: { roomId, userId } });
    return { result: userId, events: [] };
  });
}
