/**
 * The one place that names pub/sub topics and their payloads.
 * Payloads carry ids (and seq), never whole rows: subscribers load what their selection needs,
 * and a payload crosses Redis as JSON, so it holds only strings, numbers and booleans.
 */

export type MemberLeftReason = 'LEFT' | 'REMOVED' | 'BANNED';

export type RoomEventPayload =
  | { type: 'MessageAdded'; roomId: string; messageId: string; seq: number; authorId: string | null }
  | { type: 'MessageUpdated'; roomId: string; messageId: string; seq: number }
  | { type: 'MemberJoined'; roomId: string; userId: string }
  | { type: 'MemberLeft'; roomId: string; userId: string; reason: MemberLeftReason }
  | { type: 'RoomUpdated'; roomId: string }
  | { type: 'RoomDeleted'; roomId: string }
  | { type: 'ReadReceipt'; roomId: string; userId: string; lastReadSeq: number }
  | { type: 'TypingChanged'; roomId: string; userId: string; typing: boolean };

export type RoomEventType = RoomEventPayload['type'];

export type MessageAddedPayload = Extract<RoomEventPayload, { type: 'MessageAdded' }>;

export const messageAddedPayload = (message: { id: string; roomId: string; seq: number; authorId: string | null }): MessageAddedPayload => ({
  type: 'MessageAdded',
  roomId: message.roomId,
  messageId: message.id,
  seq: message.seq,
  authorId: message.authorId,
});

export interface PresencePayload {
  userId: string;
  status: 'ONLINE' | 'OFFLINE';
  /** ISO time the last connection closed; null while online. */
  lastSeenAt: string | null;
}

/** A topic name that carries its payload type. */
export type Topic<Payload> = string & { readonly __payload?: Payload };

export const topics = {
  /** Everything that happens in one room. */
  room: (roomId: string): Topic<RoomEventPayload> => `room:${roomId}`,
  /** What concerns one user directly: being added to, removed from or banned from a room. */
  user: (userId: string): Topic<RoomEventPayload> => `user:${userId}`,
  /** One user's presence changes. */
  presence: (userId: string): Topic<PresencePayload> => `presence:${userId}`,
};

/** An event with the topics it goes to; services return these and publish them after commit. */
export interface Outgoing<Payload = RoomEventPayload> {
  topic: Topic<Payload>;
  payload: Payload;
}

/** The room topic, plus the user topic of the member an event is about (so their own stream hears it). */
export function roomEvent(payload: RoomEventPayload, alsoToUserId?: string): Outgoing[] {
  const events: Outgoing[] = [{ topic: topics.room(payload.roomId), payload }];
  if (alsoToUserId) events.push({ topic: topics.user(alsoToUserId), payload });
  return events;
}
