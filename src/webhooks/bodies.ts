import type { WebhookEvent } from '../config.js';
import type { Message, Room, RoomMember } from '../generated/prisma/client.js';
import { globalId } from '../ids.js';

/** The JSON bodies POSTed for each event: `{ event, roomId, occurredAt, data }`, IDs as the API's global IDs. */

/** The message fields a body carries (the payload as stored, or as the appender is about to store it). */
export type WebhookMessage = Pick<Message, 'id' | 'roomId' | 'seq' | 'authorId' | 'body' | 'replyToId' | 'createdAt' | 'editedAt' | 'deletedAt'> & {
  payload: unknown;
};

/** A change to report, as the write that makes it knows it (message.sent is the appender's: see sentBodyAround). */
export type WebhookOccurrence =
  | { event: 'message.edited' | 'message.deleted'; message: WebhookMessage }
  | { event: 'room.created'; room: Room; userId: string }
  | { event: 'member.joined'; member: RoomMember }
  | { event: 'member.left'; roomId: string; userId: string };

const bodyOf = (event: WebhookEvent, roomId: string, data: Record<string, unknown>) =>
  JSON.stringify({ event, roomId: globalId('Room', roomId), occurredAt: new Date().toISOString(), data });

const messageData = (m: Omit<WebhookMessage, 'seq'> & { seq: unknown }) => ({
  id: globalId('Message', m.id),
  roomId: globalId('Room', m.roomId),
  seq: m.seq,
  authorId: m.authorId && globalId('User', m.authorId),
  body: m.body,
  payload: m.payload,
  replyToId: m.replyToId && globalId('Message', m.replyToId),
  createdAt: m.createdAt.toISOString(),
  editedAt: m.editedAt?.toISOString() ?? null,
  deletedAt: m.deletedAt?.toISOString() ?? null,
});

export function webhookBody(occurrence: WebhookOccurrence): string {
  switch (occurrence.event) {
    case 'message.edited':
    case 'message.deleted':
      return bodyOf(occurrence.event, occurrence.message.roomId, { message: messageData(occurrence.message) });
    case 'room.created': {
      const { room, userId } = occurrence;
      return bodyOf('room.created', room.id, {
        room: { id: globalId('Room', room.id), name: room.name, topic: room.topic, visibility: room.visibility },
        userId: globalId('User', userId),
      });
    }
    case 'member.joined': {
      const { member } = occurrence;
      return bodyOf('member.joined', member.roomId, { userId: globalId('User', member.userId), role: member.role });
    }
    case 'member.left':
      return bodyOf('member.left', occurrence.roomId, { userId: globalId('User', occurrence.userId) });
  }
}

/** Stands for the seq while the body is written; a string, so JSON.stringify quotes it. */
const SEQ_MARK = '\u0000seq';

/**
 * message.sent's body as the text before and after the message's seq, which only the appender's
 * statement hands out: the statement joins them around it. Everything before the seq is the server's
 * own text (event, IDs, times), so the mark's first occurrence is the seq's, whatever the message says.
 */
export function sentBodyAround(message: Omit<WebhookMessage, 'seq'>): { head: string; tail: string } {
  const body = bodyOf('message.sent', message.roomId, { message: messageData({ ...message, seq: SEQ_MARK }) });
  const mark = JSON.stringify(SEQ_MARK);
  const at = body.indexOf(mark);
  return { head: body.slice(0, at), tail: body.slice(at + mark.length) };
}
