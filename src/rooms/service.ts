import type { App } from '../app.js';
import { isUniqueViolation } from '../db/errors.js';
import { fail } from '../errors.js';
import type { RoomVisibility } from '../generated/prisma/client.js';
import type { HookPoints } from '../hooks.js';
import { requireAcceptsDirectMessages, requireNotBlocked } from '../users/blocks.js';
import { queueWebhook, writeReporting } from '../webhooks/queue.js';
import { memberRoom, requireUsers } from './access.js';
import { memberJoined, roomDeleted, roomUpdated } from './events.js';
import { distinctUserIds, validRoomName, validTopic } from './input.js';
import { requireGroup, requireManager, requireOwner } from './permissions.js';
import { publish, writeRoom } from './transaction.js';

/** Room lifecycle: create, open a direct room, edit, delete. Each returns the room's id. */

export async function createRoom(
  app: App,
  viewerId: string,
  clientInput: HookPoints['createRoom']['input'],
): Promise<string> {
  const input = await app.hooks.before('createRoom', { userId: viewerId }, clientInput);
  const name = validRoomName(input.name);
  const topic = validTopic(input.topic);
  const memberIds = distinctUserIds(input.memberIds, 'memberIds').filter((id) => id !== viewerId);
  await requireUsers(app.prisma, memberIds);
  const room = await writeReporting(app, 'room.created', async (tx) => {
    const created = await tx.room.create({
      data: {
        kind: 'GROUP',
        name,
        topic,
        visibility: input.visibility,
        members: {
          create: [
            { userId: viewerId, role: 'OWNER' },
            ...memberIds.map((userId) => ({ userId, role: 'MEMBER' as const })),
          ],
        },
      },
    });
    await queueWebhook(app, tx, { event: 'room.created', room: created, userId: viewerId });
    return created;
  });
  const events = [viewerId, ...memberIds].flatMap((userId) => memberJoined(room.id, userId));
  await publish(app, { result: room.id, events });
  await app.hooks.after('createRoom', { userId: viewerId }, input, room);
  return room.id;
}

/** "<smaller id>:<larger id>": the same key whoever opens the room. */
const directKeyOf = (a: string, b: string) => (a < b ? `${a}:${b}` : `${b}:${a}`);

/** One DIRECT room per pair of users; concurrent calls agree through the unique directKey. */
export async function openDirectRoom(app: App, viewerId: string, otherId: string): Promise<string> {
  if (otherId === viewerId) throw fail.badInput("You can't open a direct room with yourself.", 'userId');
  await requireNotBlocked(app, viewerId, otherId);
  const directKey = directKeyOf(viewerId, otherId);
  const existing = await app.prisma.room.findUnique({ where: { directKey }, select: { id: true } });
  if (existing) return existing.id;
  await requireAcceptsDirectMessages(app, viewerId, otherId);
  try {
    const room = await app.prisma.room.create({
      data: {
        kind: 'DIRECT',
        visibility: 'PRIVATE',
        directKey,
        members: { create: [{ userId: viewerId }, { userId: otherId }] },
      },
    });
    return publish(app, { result: room.id, events: [...memberJoined(room.id, viewerId), ...memberJoined(room.id, otherId)] });
  } catch (error) {
    // The other side (or a retry) created it first: theirs is the room.
    if (!isUniqueViolation(error, 'directKey')) throw error;
    const winner = await app.prisma.room.findUniqueOrThrow({ where: { directKey }, select: { id: true } });
    return winner.id;
  }
}

export async function updateRoom(
  app: App,
  viewerId: string,
  input: { roomId: string; name?: string | null; topic?: string | null; visibility?: RoomVisibility | null },
): Promise<string> {
  // Absent or null name and visibility keep theirs; a topic given as null or blank is cleared.
  const name = input.name == null ? undefined : validRoomName(input.name);
  const topic = input.topic === undefined ? undefined : validTopic(input.topic);
  const visibility = input.visibility ?? undefined;
  return writeRoom(app, input.roomId, async (tx) => {
    const { room, member } = await memberRoom(tx, input.roomId, viewerId);
    requireGroup(room, 'be renamed or edited');
    requireManager(member, 'edit the room');
    await tx.room.update({ where: { id: room.id }, data: { name, topic, visibility } });
    return { result: room.id, events: roomUpdated(room.id) };
  });
}

export async function deleteRoom(app: App, viewerId: string, roomId: string): Promise<string> {
  return writeRoom(app, roomId, async (tx) => {
    const { room, member } = await memberRoom(tx, roomId, viewerId);
    requireGroup(room, 'be deleted');
    requireOwner(member, 'delete the room');
    const members = await tx.roomMember.findMany({ where: { roomId }, select: { userId: true } });
    await tx.room.delete({ where: { id: roomId } });
    return { result: roomId, events: roomDeleted(roomId, members.map((m) => m.userId)) };
  });
}
