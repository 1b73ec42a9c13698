import type { App } from '../app.js';
import { fail } from '../errors.js';
import type { Attachment } from '../generated/prisma/client.js';
import { uuidv7 } from '../ids.js';
import { requireMember } from '../rooms/access.js';
import { requireMayMessageIn } from '../users/blocks.js';
import { sniff } from './sniff.js';

/** Uploads not attached to a message within this long are deleted (at their uploader's next upload). */
const UNATTACHED_TTL_MS = 24 * 3600 * 1000;
/** The most attachments one message may have. */
export const MAX_ATTACHMENTS = 10;
const MAX_NAME = 255;

/**
 * Stores an upload to a room the user may send to. Its type is sniffed from the bytes, and must be
 * one of ALLOWED_FILE_TYPES; the name keeps only its last path segment.
 */
export async function uploadAttachment(app: App, userId: string, roomId: string, file: File): Promise<Attachment> {
  await app.limits.act('uploads', userId);
  const { maxFileBytes, allowedTypes } = app.config.files;
  await requireMember(app.prisma, roomId, userId);
  await requireMayMessageIn(app, roomId, userId);
  // Already in memory (http.ts bounds the request body), so measured as read.
  const bytes = Buffer.from(await file.arrayBuffer());
  if (bytes.length > maxFileBytes) throw fail.fileTooLarge(maxFileBytes);
  if (bytes.length === 0) throw fail.badInput('The file is empty.', 'file');
  const { contentType, width, height } = sniff(bytes);
  if (!allowedTypes.includes(contentType)) {
    throw fail.badInput(`Files of type ${contentType} are not accepted (accepted: ${allowedTypes.join(', ')}).`, 'file');
  }
  await removeStaleUploads(app, userId);
  const attachment = await app.prisma.attachment.create({
    data: { roomId, uploaderId: userId, name: fileName(file.name), contentType, size: bytes.length, width, height },
  });
  try {
    await app.files.put(attachment.id, bytes);
  } catch (error) {
    await app.prisma.attachment.delete({ where: { id: attachment.id } });
    throw error;
  }
  return attachment;
}

/** The last path segment, without control characters, at most 255 characters; "file" when nothing is left. */
function fileName(name: string): string {
  const base = name.split(/[/\\]/).at(-1) ?? '';
  const clean = [...base.replace(/\p{Cc}/gu, '').trim()].slice(0, MAX_NAME).join('');
  return clean === '' ? 'file' : clean;
}

/**
 * Attaches the author's unattached uploads to the room to messageId, before the message is stored
 * (so no reader sees it without them). All or nothing: BAD_USER_INPUT when any id is not such an upload.
 */
async function claimAttachments(app: App, send: { roomId: string; authorId: string; messageId: string }, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const unique = [...new Set(ids)];
  if (unique.length > MAX_ATTACHMENTS) throw fail.badInput(`A message may have at most ${MAX_ATTACHMENTS} attachments.`, 'attachmentIds');
  await app.prisma.$transaction(async (tx) => {
    const { count } = await tx.attachment.updateMany({
      where: { id: { in: unique }, roomId: send.roomId, uploaderId: send.authorId, messageId: null },
      data: { messageId: send.messageId },
    });
    if (count !== unique.length) {
      // Rolls the partial claim back.
      throw fail.badInput('attachmentIds must be your own uploads to this room, not yet attached to a message.', 'attachmentIds');
    }
  });
}

/**
 * Stores a message (`append`, given its id) with the author's uploads attached. The uploads are
 * claimed for the message's id before it is stored, so no reader ever sees it without them, and let
 * go of when it is not stored after all. A retry (same clientMessageId) of a send already stored
 * answers null, as the appender does, for the caller to find the original.
 */
export async function appendWithAttachments<T>(
  app: App,
  send: { roomId: string; authorId: string; clientMessageId: string | null },
  attachmentIds: readonly string[],
  append: (id?: string) => Promise<T | null>,
): Promise<T | null> {
  if (attachmentIds.length === 0) return append();
  const { roomId, authorId, clientMessageId } = send;
  if (clientMessageId !== null) {
    const original = await app.prisma.message.findUnique({
      where: { roomId_authorId_clientMessageId: { roomId, authorId, clientMessageId } },
      select: { id: true },
    });
    if (original) return null;
  }
  // A non-member hears that first, as for a send without attachments.
  await requireMember(app.prisma, roomId, authorId);
  const messageId = uuidv7();
  await claimAttachments(app, { roomId, authorId, messageId }, attachmentIds);
  let appended: T | null = null;
  try {
    appended = await append(messageId);
    return appended;
  } finally {
    if (appended === null) await app.prisma.attachment.updateMany({ where: { messageId }, data: { messageId: null } });
  }
}

/** Deletes the files of a deleted message: bytes first, then rows. */
export async function deleteMessageAttachments(app: App, messageId: string): Promise<void> {
  const attachments = await app.prisma.attachment.findMany({ where: { messageId }, select: { id: true } });
  await deleteAttachments(app, attachments.map(({ id }) => id));
}

async function deleteAttachments(app: App, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await app.files.remove(ids);
  await app.prisma.attachment.deleteMany({ where: { id: { in: ids } } });
}

/** The user's uploads never attached within UNATTACHED_TTL_MS. */
async function removeStaleUploads(app: App, userId: string): Promise<void> {
  const stale = await app.prisma.attachment.findMany({
    where: { uploaderId: userId, messageId: null, createdAt: { lt: new Date(Date.now() - UNATTACHED_TTL_MS) } },
    select: { id: true },
  });
  await deleteAttachments(app, stale.map(({ id }) => id));
}

/**
 * The attachment behind GET /files/<id>: for a signed URL (viewerId null, the signature checked by
 * the caller) any; otherwise one in a room the viewer is a member of. Null alike when missing or not theirs.
 */
export async function downloadableAttachment(app: App, id: string, viewerId: string | null): Promise<Attachment | null> {
  const attachment = await app.prisma.attachment.findUnique({ where: { id } });
  if (!attachment || viewerId === null) return attachment;
  const member = await app.prisma.roomMember.findUnique({ where: { roomId_userId: { roomId: attachment.roomId, userId: viewerId } } });
  return member ? attachment : null;
}
