import type { App } from '../app.js';
import { fail } from '../errors.js';
import type { Message } from '../generated/prisma/client.js';
import { topics, type Outgoing } from '../realtime/topics.js';

/**
 * Mentions: the members a message names, by @username in its body or picked by the sender (the
 * `mentions` of SendMessageInput). Only members of the room other than the author, and who have not
 * blocked the author, count; any other
 * name or id is ignored without a word, so a mention reveals nothing about who exists. Stored when the
 * message is sent (an edit mentions no one new), each told on their own topic, which myEvents follows.
 */

/** More people than anyone picks by hand. */
export const MAX_MENTIONS = 50;

/** @name where a word starts (not inside an address like a@b.c), name as usernames are spelled. */
const MENTION = /(?<![\p{L}\p{N}_.@-])@([a-z0-9_.-]{3,32})/giu;

/** The usernames a body names; "@bob." at the end of a sentence names bob too (usernames may hold dots). */
export function mentionedUsernames(body: string | null): string[] {
  const names = new Set<string>();
  for (const [, name] of (body ?? '').matchAll(MENTION)) {
    const username = name!.toLowerCase();
    names.add(username);
    names.add(username.replace(/[.-]+$/, ''));
  }
  return [...names];
}

/** The explicit mentions of a send: at most MAX_MENTIONS user ids. */
export function validMentions(userIds: readonly string[]): string[] {
  if (userIds.length > MAX_MENTIONS) throw fail.badInput(`A message can mention at most ${MAX_MENTIONS} people.`, 'mentions');
  return [...new Set(userIds)];
}

/** Stores the mentions of a just-sent message and tells each mentioned member. */
export async function storeMentions(app: App, message: Message, userIds: readonly string[]): Promise<void> {
  const usernames = mentionedUsernames(message.body);
  if (usernames.length === 0 && userIds.length === 0) return;
  const { id: messageId, roomId, seq, authorId } = message;
  const mentioned = await app.prisma.roomMember.findMany({
    where: {
      roomId,
      userId: { not: authorId ?? undefined },
      OR: [{ userId: { in: [...userIds] } }, { user: { username: { in: usernames } } }],
      // Someone who blocked the author is not called by them (the message itself still shows, marked).
      ...(authorId ? { user: { blocks: { none: { blockedId: authorId } } } } : {}),
    },
    select: { userId: true },
  });
  if (mentioned.length === 0) return;
  // Only the mentions this call created are announced: a retry announces none twice.
  const created = await app.prisma.mention.createManyAndReturn({
    data: mentioned.map(({ userId }) => ({ messageId, userId, roomId, seq })),
    skipDuplicates: true,
    select: { userId: true },
  });
  await app.bus.publishAll(
    created.map(({ userId }): Outgoing => ({ topic: topics.user(userId), payload: { type: 'Mentioned', roomId, userId, messageId, seq } })),
  );
}
