import type { Message, Prisma, User } from '../generated/prisma/client.js';
import { roomEvent, type JsonValue, type MessageAddedPayload, type Outgoing } from '../realtime/topics.js';

/** The events message writes publish, on the room's topic. */

/** A message's author as MessageAdded carries it: its public columns (not the password hash, nor the directMessages setting). */
export type Author = Omit<User, 'passwordHash' | 'directMessages'>;

/** A stored message with its author, as a send returns it and MessageAdded carries it. */
export type StoredMessage = Message & { author: Author | null };

/** Reads a StoredMessage (replays and gap fills build their MessageAdded events from it). */
export const storedMessageSelect = {
  id: true,
  roomId: true,
  seq: true,
  authorId: true,
  body: true,
  payload: true,
  replyToId: true,
  threadRootId: true,
  clientMessageId: true,
  createdAt: true,
  editedAt: true,
  deletedAt: true,
  author: { select: { id: true, username: true, displayName: true, createdAt: true, lastSeenAt: true } },
} satisfies Prisma.MessageSelect;

const isoOrNull = (date: Date | null) => (date ? date.toISOString() : null);
const dateOrNull = (iso: string | null) => (iso === null ? null : new Date(iso));

export function messageAddedPayload({ author, ...message }: StoredMessage): MessageAddedPayload {
  return {
    type: 'MessageAdded',
    roomId: message.roomId,
    seq: message.seq,
    message: {
      ...message,
      payload: message.payload as JsonValue | null,
      createdAt: message.createdAt.toISOString(),
      editedAt: isoOrNull(message.editedAt),
      deletedAt: isoOrNull(message.deletedAt),
    },
    author: author && { ...author, createdAt: author.createdAt.toISOString(), lastSeenAt: isoOrNull(author.lastSeenAt) },
  };
}

/** The message a MessageAdded event carries, as the row it was made from. */
export function storedMessageOf({ message, author }: MessageAddedPayload): StoredMessage {
  return {
    ...message,
    createdAt: new Date(message.createdAt),
    editedAt: dateOrNull(message.editedAt),
    deletedAt: dateOrNull(message.deletedAt),
    author: author && { ...author, createdAt: new Date(author.createdAt), lastSeenAt: dateOrNull(author.lastSeenAt) },
  };
}

/** For a reply that was sent or deleted, its thread's summary changed; nothing for any other message. */
const threadUpdated = (message: Message): Outgoing[] =>
  message.threadRootId === null
    ? []
    : roomEvent({ type: 'ThreadUpdated', roomId: message.roomId, rootId: message.threadRootId, replyId: message.id });

/** A sent message: MessageAdded, and for a reply, ThreadUpdated of its thread right after. */
export const messageSent = (message: StoredMessage): Outgoing[] => [...roomEvent(messageAddedPayload(message)), ...threadUpdated(message)];

/** A deleted message: MessageUpdated, and for a reply, ThreadUpdated (its author may no longer be a participant). */
export const messageDeleted = (message: Message): Outgoing[] => [...messageUpdated(message), ...threadUpdated(message)];

/** Edited, deleted, or its reactions changed. */
export const messageUpdated = (message: Message): Outgoing[] =>
  roomEvent({ type: 'MessageUpdated', roomId: message.roomId, messageId: message.id, seq: message.seq });

export const readReceipt = (roomId: string, userId: string, lastReadSeq: number): Outgoing[] =>
  roomEvent({ type: 'ReadReceipt', roomId, userId, lastReadSeq });

/** When a MessageAdded event's message was stored, in ms since the epoch (delivery latency); NaN for any other event. */
export const messageSentAt = (event: unknown): number =>
  (event as { type?: unknown }).type === 'MessageAdded' ? Date.parse((event as MessageAddedPayload).message.createdAt) : NaN;
