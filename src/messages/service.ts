import type { App } from '../app.js';
import { fail } from '../errors.js';
import { appendWithAttachments, deleteMessageAttachments } from '../files/service.js';
import { Prisma, type Message, type RoomMember } from '../generated/prisma/client.js';
import { memberKey, memberRoom, requireMember } from '../rooms/access.js';
import { requireManager, requireOutranks } from '../rooms/permissions.js';
import { requireMayMessageIn } from '../users/blocks.js';
import { queueWebhook, writeReporting } from '../webhooks/queue.js';
import { lockLiveMessage, memberMessage } from './access.js';
import { messageDeleted, messageUpdated, readReceipt } from './events.js';
import { validBody, validClientMessageId, validEmoji, validPayload, validReadSeq } from './input.js';
import { storeMentions, validMentions } from './mentions.js';

/**
 * Messages, reactions and read state. Each use case validates, writes (in one transaction where
 * it takes several statements, its webhook event included), and publishes its events only after the commit. Writes that
 * change nothing (a retried send, a second identical reaction, a read marker already further on)
 * publish nothing.
 */

export interface SendMessageInput {
  roomId: string;
  body?: string | null;
  payload?: unknown;
  replyToId?: string | null;
  clientMessageId?: string | null;
  /** Users the sender picked to mention, besides the @usernames of the body. */
  mentions?: readonly string[] | null;
  /** Uploads (uploadAttachment) of the sender to the room, attached to the message. */
  attachmentIds?: readonly string[] | null;
}

/** Sends a message; answers with it and the author's membership (which the answer's access check needs). */
export async function sendMessage(
  app: App,
  authorId: string,
  clientInput: SendMessageInput,
): Promise<{ message: Message; member: RoomMember }> {
  await app.limits.act('sendMessage', authorId);
  const input = await app.hooks.before('sendMessage', { userId: authorId }, clientInput);
  const { roomId } = input;
  await requireMayMessageIn(app, roomId, authorId);
  const content = await validContent(app, { roomId, authorId }, input);
  const clientMessageId = input.clientMessageId == null ? null : validClientMessageId(input.clientMessageId);
  const replyToId = input.replyToId ?? null;
  const mentions = validMentions(input.mentions ?? []);
  // Stored and published in one batched statement (see appender.ts), which also checks membership,
  // the reply target and the idempotency key.
  const appended =
    (await appendWithAttachments(app, { roomId, authorId, clientMessageId }, input.attachmentIds ?? [], (id) =>
      app.appender.append(roomId, { authorId, ...content, replyToId, clientMessageId }, id),
    )) ?? (await notStored(app, { roomId, authorId, replyToId, clientMessageId }));
  // Mentions are stored after the message: a retry of a send that failed in between (same
  // clientMessageId, so the original above) stores what is missing, and announces only that.
  await storeMentions(app, appended.message, mentions);
  // Sending ends the author's typing in the room. The message is already stored, so the sender is not
  // kept waiting for it (on Redis a round trip), and a failure is only logged. The stop is issued
  // now, before the answer, so a typing:true the author sends next reaches the tracker after it.
  void app.typing.stop(roomId, authorId).catch((error: unknown) => app.logger.error({ err: error }, 'typing stop failed'));
  await app.hooks.after('sendMessage', { userId: authorId }, input, appended.message);
  return appended;
}

/** Why the appender did not store a send: the original message of a retry, or the error the send deserves. */
async function notStored(
  app: App,
  send: { roomId: string; authorId: string; replyToId: string | null; clientMessageId: string | null },
): Promise<{ message: Message; member: RoomMember }> {
  const { roomId, authorId, replyToId, clientMessageId } = send;
  const member = await requireMember(app.prisma, roomId, authorId);
  if (clientMessageId) {
    const original = await app.prisma.message.findUnique({
      where: { roomId_authorId_clientMessageId: { roomId, authorId, clientMessageId } },
    });
    if (original) return { message: original, member };
  }
  if (replyToId) {
    const repliedTo = await app.prisma.message.findFirst({ where: { id: replyToId, roomId }, select: { id: true } });
    if (!repliedTo) throw fail.badInput('replyToId must be a message of the same room.', 'replyToId');
  }
  // Not a member when the statement ran, but one now: the room's membership changed in between.
  throw fail.conflict('The room changed while the message was being sent: send it again.');
}

/** A body, a payload, attachments, or several; the payload passes the size limit and the server's message checker. */
async function validContent(
  app: App,
  message: { roomId: string; authorId: string },
  input: SendMessageInput,
): Promise<{ body: string | null; payload: Prisma.InputJsonObject | null }> {
  if (input.body == null && input.payload == null && !input.attachmentIds?.length) {
    throw fail.badInput('A message needs a body, a payload or attachments.', 'body');
  }
  const body = input.body == null ? null : validBody(app.config.limits, input.body);
  if (input.payload == null) return { body, payload: null };
  const payload = validPayload(app.config.limits, input.payload);
  const problem = await app.messageChecker.checkPayload(payload, message);
  if (problem) throw fail.badInput(problem, 'payload');
  // Came in as JSON, so it is JSON.
  return { body, payload: payload as Prisma.InputJsonObject };
}

export async function editMessage(app: App, userId: string, clientMessageId: string, clientBody: string): Promise<Message> {
  await app.limits.act('editMessage', userId);
  const input = await app.hooks.before('editMessage', { userId }, { messageId: clientMessageId, body: clientBody });
  const { messageId } = input;
  const text = validBody(app.config.limits, input.body);
  const { message } = await memberMessage(app.prisma, messageId, userId);
  if (message.authorId !== userId) throw fail.forbidden('Only its author can edit a message.');
  const edited = { ...message, body: text, editedAt: new Date() };
  await writeReporting(app, 'message.edited', async (tx) => {
    // Conditional, so an edit racing a delete cannot bring the body back.
    const { count } = await tx.message.updateMany({ where: { id: messageId, deletedAt: null }, data: { body: edited.body, editedAt: edited.editedAt } });
    if (count === 0) throw fail.conflict('This message was deleted: it can no longer be edited.');
    await queueWebhook(app, tx, { event: 'message.edited', message: edited });
  });
  await app.bus.publishAll(messageUpdated(message));
  await app.hooks.after('editMessage', { userId }, input, edited);
  return message;
}

/**
 * Keeps the message (and its seq) in history, without content or reactions. Authors delete their
 * own; a manager deletes others' by the rank rule of removeMember (an author who left ranks below everyone).
 */
export async function deleteMessage(app: App, userId: string, clientMessageId: string): Promise<Message> {
  const input = await app.hooks.before('deleteMessage', { userId }, { messageId: clientMessageId });
  const { messageId } = input;
  const { message, member } = await memberMessage(app.prisma, messageId, userId);
  if (message.authorId !== userId) {
    requireManager(member, "delete other members' messages");
    const author = message.authorId
      ? await app.prisma.roomMember.findUnique({ where: memberKey(message.roomId, message.authorId) })
      : null;
    requireOutranks(member, author, 'delete the messages of');
  }
  const deleted = { ...message, body: null, payload: null, deletedAt: new Date() };
  // False when a racing delete came first: that one reports it.
  const deletedHere = await app.prisma.$transaction(async (tx) => {
    const { count } = await tx.message.updateMany({
      where: { id: messageId, deletedAt: null },
      data: { body: null, payload: Prisma.DbNull, deletedAt: deleted.deletedAt },
    });
    if (count === 0) return false;
    await tx.reaction.deleteMany({ where: { messageId } });
    await queueWebhook(app, tx, { event: 'message.deleted', message: deleted });
    return true;
  });
  if (deletedHere) {
    await deleteMessageAttachments(app, messageId);
    await app.bus.publishAll(messageDeleted(message));
  }
  await app.hooks.after('deleteMessage', { userId }, input, deletedHere ? deleted : message);
  return message;
}

/** One reaction per user and emoji: adding it again changes nothing. */
export async function addReaction(app: App, userId: string, messageId: string, emoji: string): Promise<Message> {
  await app.limits.act('reactions', userId);
  const reaction = { messageId, userId, emoji: validEmoji(emoji) };
  const { message } = await memberMessage(app.prisma, messageId, userId);
  const added = await app.prisma.$transaction(async (tx) => {
    if (!(await lockLiveMessage(tx, messageId))) {
      throw fail.conflict('This message was deleted: it can no longer get reactions.');
    }
    const { count } = await tx.reaction.createMany({ data: [reaction], skipDuplicates: true });
    return count > 0;
  });
  if (added) await app.bus.publishAll(messageUpdated(message));
  return message;
}

/** Removing a reaction the user has not made changes nothing. */
export async function removeReaction(app: App, userId: string, messageId: string, emoji: string): Promise<Message> {
  await app.limits.act('reactions', userId);
  const reaction = { messageId, userId, emoji: validEmoji(emoji) };
  const { message } = await memberMessage(app.prisma, messageId, userId);
  const { count } = await app.prisma.reaction.deleteMany({ where: reaction });
  if (count > 0) await app.bus.publishAll(messageUpdated(message));
  return message;
}

/** Moves the user's read marker up to seq, clamped to the newest message; never backwards. */
export async function markRead(app: App, userId: string, roomId: string, seq: number): Promise<void> {
  const wanted = validReadSeq(seq);
  const { room } = await memberRoom(app.prisma, roomId, userId);
  const lastReadSeq = Math.min(wanted, room.lastSeq);
  // Conditional, so a concurrent markRead with a smaller seq cannot move the marker back.
  const { count } = await app.prisma.roomMember.updateMany({
    where: { roomId, userId, lastReadSeq: { lt: lastReadSeq } },
    data: { lastReadSeq },
  });
  if (count > 0) await app.bus.publishAll(readReceipt(roomId, userId, lastReadSeq));
}
