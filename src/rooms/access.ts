import type { PrismaClient } from '../db/client.js';
import { fail } from '../errors.js';
import type { Prisma, Room, RoomMember } from '../generated/prisma/client.js';

/** A Prisma client or an interactive transaction. */
export type Db = PrismaClient | Prisma.TransactionClient;

export interface RoomAccess {
  room: Room;
  /** The user's membership, or null when they are not a member. */
  member: RoomMember | null;
}

/**
 * Loads a room with the user's membership in one query. Rooms the user may not see at all
 * (PRIVATE or DIRECT without membership, or no such room) are NOT_FOUND, so their existence does not leak.
 */
export async function visibleRoom(db: Db, roomId: string, userId: string): Promise<RoomAccess> {
  const room = await db.room.findUnique({ where: { id: roomId }, include: { members: { where: { userId } } } });
  const member = room?.members[0] ?? null;
  if (!room || (!member && room.visibility !== 'PUBLIC')) throw fail.notFound('Room');
  const { members: _members, ...plain } = room;
  return { room: plain, member };
}

/** Like visibleRoom, but the user must be a member: a visible PUBLIC room without membership is FORBIDDEN. */
export async function memberRoom(db: Db, roomId: string, userId: string): Promise<{ room: Room; member: RoomMember }> {
  const { room, member } = await visibleRoom(db, roomId, userId);
  if (!member) throw fail.forbidden('Join the room first: only members can do that.');
  return { room, member };
}

/**
 * The user's membership of the room, for writes that need nothing else of the room (sending,
 * typing): one query when the user is a member; the failure's code (NOT_FOUND or FORBIDDEN) as memberRoom's.
 */
export async function requireMember(db: Db, roomId: string, userId: string): Promise<RoomMember> {
  const member = await db.roomMember.findUnique({ where: { roomId_userId: { roomId, userId } } });
  return member ?? (await memberRoom(db, roomId, userId)).member;
}

/**
 * Rooms a user may see: PUBLIC ones, and those they are a member of (DIRECT rooms are PRIVATE).
 * Anonymous callers see none (an empty OR matches nothing).
 */
export const visibleTo = (userId: string | null): { OR: Prisma.RoomWhereInput[] } => ({
  OR: userId ? [{ visibility: 'PUBLIC' }, { members: { some: { userId } } }] : [],
});

/**
 * Holds the room's row lock until the transaction ends, so writes to one room's membership run one
 * at a time: an owner leaving while the only admin leaves, or a join racing a ban, see each other's result.
 */
export async function lockRoom(tx: Prisma.TransactionClient, roomId: string): Promise<void> {
  await tx.$queryRaw`SELECT 1 FROM "Room" WHERE "id" = ${roomId} FOR UPDATE`;
}

/** Fails with NOT_FOUND unless every id names an existing user. */
export async function requireUsers(db: Db, userIds: readonly string[]): Promise<void> {
  const found = await db.user.count({ where: { id: { in: [...userIds] } } });
  if (found < userIds.length) throw fail.notFound(userIds.length === 1 ? 'User' : 'One of the users');
}

/** The where of one membership. */
export const memberKey = (roomId: string, userId: string) => ({ roomId_userId: { roomId, userId } });

/** Longest-standing first, ties by user id: the order of member lists and of ownership succession. */
export const byTenure = [{ joinedAt: 'asc' }, { userId: 'asc' }] satisfies Prisma.RoomMemberOrderByWithRelationInput[];
