import type { App } from '../app.js';
import { fail } from '../errors.js';
import type { Prisma, RoomMember, RoomRole } from '../generated/prisma/client.js';
import { queueWebhook } from '../webhooks/queue.js';
import { byTenure, memberKey, memberRoom, requireUsers, visibleRoom } from './access.js';
import { memberJoined, memberLeft, roomDeleted, roomUpdated } from './events.js';
import { distinctUserIds } from './input.js';
import { requireGroup, requireManager, requireOutranks, requireOwner, requireSomeoneElse } from './permissions.js';
import { writeRoom } from './transaction.js';

/** Membership: join, leave, add, remove, change roles. */

/** Joins a PUBLIC room; a member joining again keeps their membership. */
export async function joinRoom(app: App, viewerId: string, clientRoomId: string): Promise<RoomMember> {
  const input = await app.hooks.before('joinRoom', { userId: viewerId }, { roomId: clientRoomId });
  const { roomId } = input;
  const joined = await writeRoom(app, roomId, async (tx) => {
    // Non-members see only PUBLIC rooms: a PRIVATE or DIRECT one is NOT_FOUND here.
    const { member } = await visibleRoom(tx, roomId, viewerId);
    if (member) return { result: member, events: [] };
    if (await tx.roomBan.findUnique({ where: memberKey(roomId, viewerId) })) {
      throw fail.forbidden('You are banned from this room: ask its owner or an admin to unban you.');
    }
    const created = await tx.roomMember.create({ data: { roomId, userId: viewerId } });
    await queueWebhook(app, tx, { event: 'member.joined', member: created });
    return { result: created, events: memberJoined(roomId, viewerId) };
  });
  await app.hooks.after('joinRoom', { userId: viewerId }, input, joined);
  return joined;
}

/** Leaves a group room. An OWNER hands the room to their successor; the last one out deletes it. */
export async function leaveRoom(app: App, viewerId: string, clientRoomId: string): Promise<string> {
  const input = await app.hooks.before('leaveRoom', { userId: viewerId }, { roomId: clientRoomId });
  const roomId = await leaveGroupRoom(app, viewerId, input.roomId);
  await app.hooks.after('leaveRoom', { userId: viewerId }, input, { roomId });
  return roomId;
}

/**
 * leaveRoom without the embedding server's hooks (an account's deletion is not theirs to refuse); its
 * member.left webhook is queued either way: the receiver hears of every leaving.
 */
async function leaveGroupRoom(app: App, viewerId: string, roomId: string): Promise<string> {
  return writeRoom(app, roomId, async (tx) => {
    const { room, member } = await memberRoom(tx, roomId, viewerId);
    requireGroup(room, 'be left');
    await queueWebhook(app, tx, { event: 'member.left', roomId, userId: viewerId });
    if (member.role === 'OWNER') {
      const successor = await successorOf(tx, roomId, viewerId);
      if (!successor) {
        await tx.room.delete({ where: { id: roomId } });
        return { result: roomId, events: roomDeleted(roomId, [viewerId]) };
      }
      await tx.roomMember.update({ where: memberKey(roomId, successor), data: { role: 'OWNER' } });
      await tx.roomMember.delete({ where: memberKey(roomId, viewerId) });
      return { result: roomId, events: [...memberLeft(roomId, viewerId, 'LEFT'), ...roomUpdated(roomId, successor)] };
    }
    await tx.roomMember.delete({ where: memberKey(roomId, viewerId) });
    return { result: roomId, events: memberLeft(roomId, viewerId, 'LEFT') };
  });
}

/**
 * Takes a user out of every room, for their account's deletion: each group room is left as leaveRoom
 * leaves it (an OWNER hands it on, the last one out deletes it); each direct room is deleted, and its
 * other member hears RoomDeleted.
 */
export async function leaveEveryRoom(app: App, userId: string): Promise<void> {
  const memberships = await app.prisma.roomMember.findMany({ where: { userId }, select: { roomId: true, room: { select: { kind: true } } } });
  for (const { roomId, room } of memberships) {
    if (room.kind === 'GROUP') {
      await leaveGroupRoom(app, userId, roomId);
      continue;
    }
    await writeRoom(app, roomId, async (tx) => {
      const members = await tx.roomMember.findMany({ where: { roomId }, select: { userId: true } });
      await tx.room.delete({ where: { id: roomId } });
      return { result: undefined, events: roomDeleted(roomId, members.map((member) => member.userId)) };
    });
  }
}

/** The next OWNER: the longest-standing ADMIN, else the longest-standing MEMBER; null when nobody else is left. */
async function successorOf(tx: Prisma.TransactionClient, roomId: string, ownerId: string): Promise<string | null> {
  const others = { roomId, userId: { not: ownerId } };
  const next =
    (await tx.roomMember.findFirst({ where: { ...others, role: 'ADMIN' }, orderBy: byTenure })) ??
    (await tx.roomMember.findFirst({ where: others, orderBy: byTenure }));
  return next?.userId ?? null;
}

/** Adds users as MEMBERs, skipping those already in; returns every requested user id, in order. */
export async function addMembers(app: App, viewerId: string, roomId: string, userIds: readonly string[]): Promise<string[]> {
  const requested = distinctUserIds(userIds, 'userIds');
  return writeRoom(app, roomId, async (tx) => {
    const { room, member } = await memberRoom(tx, roomId, viewerId);
    requireGroup(room, 'have members added');
    requireManager(member, 'add members');
    await requireUsers(tx, requested);
    const ban = await tx.roomBan.findFirst({
      where: { roomId, userId: { in: requested } },
      select: { user: { select: { username: true } } },
    });
    if (ban) throw fail.conflict(`${ban.user.username} is banned from this room: unban them before adding them.`);
    const present = await tx.roomMember.findMany({ where: { roomId, userId: { in: requested } }, select: { userId: true } });
    const presentIds = new Set(present.map((row) => row.userId));
    const added = requested.filter((userId) => !presentIds.has(userId));
    await tx.roomMember.createMany({ data: added.map((userId) => ({ roomId, userId })) });
    return { result: requested, events: added.flatMap((userId) => memberJoined(roomId, userId)) };
  });
}

export async function removeMember(app: App, viewerId: string, roomId: string, userId: string): Promise<string> {
  requireSomeoneElse(viewerId, userId, 'To leave a room yourself, use leaveRoom.');
  return writeRoom(app, roomId, async (tx) => {
    const { room, member } = await memberRoom(tx, roomId, viewerId);
    requireGroup(room, 'have members removed');
    requireManager(member, 'remove members');
    const target = await tx.roomMember.findUnique({ where: memberKey(roomId, userId) });
    if (!target) throw fail.notFound('A member with that user ID');
    requireOutranks(member, target, 'remove');
    await tx.roomMember.delete({ where: memberKey(roomId, userId) });
    return { result: userId, events: memberLeft(roomId, userId, 'REMOVED') };
  });
}

/**
 * The OWNER makes members ADMIN or MEMBER. Setting another member OWNER hands over ownership:
 * they become OWNER and the former owner an ADMIN, so a room always has exactly one owner.
 */
export async function setMemberRole(
  app: App,
  viewerId: string,
  roomId: string,
  userId: string,
  role: RoomRole,
): Promise<void> {
  return writeRoom(app, roomId, async (tx) => {
    const { room, member } = await memberRoom(tx, roomId, viewerId);
    requireGroup(room, 'have roles');
    requireOwner(member, 'change roles');
    if (userId === viewerId && role !== 'OWNER') {
      throw fail.conflict('A room needs an owner: to step down, make another member OWNER and you become an ADMIN.');
    }
    const target = await tx.roomMember.findUnique({ where: memberKey(roomId, userId) });
    if (!target) throw fail.notFound('A member with that user ID');
    if (target.role === role) return { result: undefined, events: [] };
    if (role === 'OWNER') await tx.roomMember.update({ where: memberKey(roomId, viewerId), data: { role: 'ADMIN' } });
    await tx.roomMember.update({ where: memberKey(roomId, userId), data: { role } });
    return { result: undefined, events: roomUpdated(roomId, userId) };
  });
}
