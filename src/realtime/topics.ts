/**
 * The one place that names pub/sub topics and their payloads.
 * A payload crosses Redis as JSON, so it holds only JSON values (times as ISO strings). Most carry
 * ids, and subscribers load what their selection needs; MessageAdded carries the stored message and
 * its author, because every member of the room receives it, and reading the row back once per event
 * would cost more than the fan-out itself.
 */

export type MemberLeftReason = 'LEFT' | 'REMOVED' | 'BANNED';

export type RoomEventPayload =
  | { type: 'MessageAdded'; roomId: string; seq: number; message: MessageRecord; author: AuthorRecord | null }
  | { type: 'MessageUpdated'; roomId: string; messageId: string; seq: number }
  /** A reply was added to (or deleted from) the thread of rootId. */
  | { type: 'ThreadUpdated'; roomId: string; rootId: string; replyId: string }
  | { type: 'MemberJoined'; roomId: string; userId: string }
  | { type: 'MemberLeft'; roomId: string; userId: string; reason: MemberLeftReason }
  | { type: 'RoomUpdated'; roomId: string }
  | { type: 'RoomDeleted'; roomId: string }
  | { type: 'ReadReceipt'; roomId: string; userId: string; lastReadSeq: number }
  | { type: 'TypingChanged'; roomId: string; userId: string; typing: boolean }
  /** On the mentioned user's topic only. */
  | { type: 'Mentioned'; roomId: string; userId: string; messageId: string; seq: number }
  /** One copy per room of the user; the copies of one change share updateId. */
  | { type: 'UserUpdated'; roomId: string; userId: string; updateId: string };

export type RoomEventType = RoomEventPayload['type'];

export type MessageAddedPayload = Extract<RoomEventPayload, { type: 'MessageAdded' }>;

/** A stored message as it was added: the Message row, times as ISO strings. */
export interface MessageRecord {
  id: string;
  roomId: string;
  seq: number;
  authorId: string | null;
  body: string | null;
  payload: JsonValue | null;
  replyToId: string | null;
  threadRootId: string | null;
  clientMessageId: string | null;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
}

/** The public columns of a message's author (never the password hash). */
export interface AuthorRecord {
  id: string;
  username: string;
  displayName: string;
  createdAt: string;
  lastSeenAt: string | null;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface PresencePayload {
  userId: string;
  status: 'ONLINE' | 'OFFLINE';
  /** ISO time the last connection closed; null while online. */
  lastSeenAt: string | null;
}

/** Sessions that were ended (log-out, password change...): every instance refuses their tokens and closes their sockets. */
export interface SessionsEndedPayload {
  sessionIds: string[];
}

/** A topic name that carries its payload type. */
export type Topic<Payload> = string & { readonly __payload?: Payload };

export const topics = {
  /** Everything that happens in one room. */
  room: (roomId: string): Topic<RoomEventPayload> => `room:${roomId}`,
  /** What concerns one user directly: being added to, removed from or banned from a room, mentioned. */
  user: (userId: string): Topic<RoomEventPayload> => `user:${userId}`,
  /** One user's presence changes. */
  presence: (userId: string): Topic<PresencePayload> => `presence:${userId}`,
  /** A user's blocks changed: each instance forgets its copy of their list. */
  blocksChanged: (): Topic<{ userId: string }> => 'blocks:changed',
  /** Ended sessions, of every user: each instance listens once. */
  sessionsEnded: (): Topic<SessionsEndedPayload> => 'sessions:ended',
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
