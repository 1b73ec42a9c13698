import { roomEvent, topics, type MemberLeftReason, type Outgoing } from '../realtime/topics.js';

/**
 * The events room and membership writes publish. Each goes to the room's topic, and to the user
 * topic of whoever it is about, so that user's own stream hears it even once they are out of the room.
 */

export const memberJoined = (roomId: string, userId: string): Outgoing[] =>
  roomEvent({ type: 'MemberJoined', roomId, userId }, userId);

export const memberLeft = (roomId: string, userId: string, reason: MemberLeftReason): Outgoing[] =>
  roomEvent({ type: 'MemberLeft', roomId, userId, reason }, userId);

/** Name, topic or visibility changed, or the role of userId did (there is no separate role event). */
export const roomUpdated = (roomId: string, userId?: string): Outgoing[] =>
  roomEvent({ type: 'RoomUpdated', roomId }, userId);

/** Every former member hears it on their own topic: the room topic dies with the room. */
export function roomDeleted(roomId: string, memberIds: readonly string[]): Outgoing[] {
  const payload = { type: 'RoomDeleted', roomId } as const;
  return [...roomEvent(payload), ...memberIds.map((userId) => ({ topic: topics.user(userId), payload }))];
}
