import type { Message } from '../generated/prisma/client.js';
import { messageAddedPayload, roomEvent, type Outgoing } from '../realtime/topics.js';

/** The events message writes publish, on the room's topic. */

export const messageAdded = (message: Message): Outgoing[] => roomEvent(messageAddedPayload(message));

/** Edited, deleted, or its reactions changed. */
export const messageUpdated = (message: Message): Outgoing[] =>
  roomEvent({ type: 'MessageUpdated', roomId: message.roomId, messageId: message.id, seq: message.seq });

export const readReceipt = (roomId: string, userId: string, lastReadSeq: number): Outgoing[] =>
  roomEvent({ type: 'ReadReceipt', roomId, userId, lastReadSeq });
