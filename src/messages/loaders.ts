import DataLoader from 'dataloader';
import type { PrismaClient } from '../db/client.js';
import { Prisma, type Attachment, type Message, type User } from '../generated/prisma/client.js';

/** Per-request loaders of the messages domain: each batches every key of a tick into one query. */
export interface MessageLoaders {
  /** Messages after a membership's lastReadSeq, not deleted and not its own. */
  unreadCount: DataLoader<MembershipKey, number, string>;
  /** Mentions of a member in messages after its lastReadSeq, not deleted. */
  mentionCount: DataLoader<MembershipKey, number, string>;
  /** The message with this seq in this room (Room.lastMessage is the one at lastSeq). */
  messageAt: DataLoader<MessageSeqKey, Message | null, string>;
  /** The thread a root message starts, by the root's id; null while it has no replies. */
  thread: DataLoader<string, ThreadSummary | null>;
  /** A message's attachments, by the message's id, in upload order. */
  attachments: DataLoader<string, Attachment[]>;
}

/** The most participants a thread lists: enough faces for a thread summary. */
export const MAX_THREAD_PARTICIPANTS = 10;

/** What a client shows under a thread's root ("3 replies, last at ..., by ..."). */
export interface ThreadSummary {
  rootId: string;
  roomId: string;
  /** Every reply, deleted ones too: they keep their place in the thread, as in the room's history. */
  replyCount: number;
  lastReplyAt: Date;
  /** Authors of replies that are not deleted, in the order of their first reply, at most MAX_THREAD_PARTICIPANTS. */
  participants: User[];
}

export interface MembershipKey {
  roomId: string;
  userId: string;
}

export interface MessageSeqKey {
  roomId: string;
  seq: number;
}

const membershipKey = ({ roomId, userId }: MembershipKey) => `${roomId}:${userId}`;
const seqKey = ({ roomId, seq }: MessageSeqKey) => `${roomId}:${seq}`;

export function createMessageLoaders(prisma: PrismaClient): MessageLoaders {
  return {
    unreadCount: new DataLoader((keys) => countUnread(prisma, keys), {
      cacheKeyFn: membershipKey,
    }),
    mentionCount: new DataLoader((keys) => countMentions(prisma, keys), {
      cacheKeyFn: membershipKey,
    }),
    messageAt: new DataLoader(
      async (keys) => {
        const rows = await prisma.message.findMany({ where: { OR: keys.map(({ roomId, seq }) => ({ roomId, seq })) } });
        const byKey = new Map(rows.map((row) => [seqKey(row), row]));
        return keys.map((key) => byKey.get(seqKey(key)) ?? null);
      },
      { cacheKeyFn: seqKey },
    ),
    thread: new DataLoader((rootIds) => summarizeThreads(prisma, rootIds)),
    attachments: new DataLoader(async (messageIds) => {
      const rows = await prisma.attachment.findMany({ where: { messageId: { in: [...messageIds] } }, orderBy: { id: 'asc' } });
      return messageIds.map((id) => rows.filter((row) => row.messageId === id));
    }),
  };
}

async function countUnread(prisma: PrismaClient, keys: readonly MembershipKey[]): Promise<number[]> {
  const memberships = Prisma.join(keys.map(({ roomId, userId }) => Prisma.sql`(${roomId}, ${userId})`));
  const rows = await prisma.$queryRaw<(MembershipKey & { unread: number })[]>`
    SELECT rm."roomId", rm."userId", COUNT(m."id")::int AS "unread"
    FROM "RoomMember" rm
    LEFT JOIN "Message" m
      ON m."roomId" = rm."roomId" AND m."seq" > rm."lastReadSeq"
      AND m."deletedAt" IS NULL AND m."authorId" IS DISTINCT FROM rm."userId"
    WHERE (rm."roomId", rm."userId") IN (${memberships})
    GROUP BY rm."roomId", rm."userId"`;
  const byKey = new Map(rows.map((row) => [membershipKey(row), row.unread]));
  return keys.map((key) => byKey.get(membershipKey(key)) ?? 0);
}

async function countMentions(prisma: PrismaClient, keys: readonly MembershipKey[]): Promise<number[]> {
  const memberships = Prisma.join(keys.map(({ roomId, userId }) => Prisma.sql`(${roomId}, ${userId})`));
  const rows = await prisma.$queryRaw<(MembershipKey & { mentions: number })[]>`
    SELECT rm."roomId", rm."userId", COUNT(m."id")::int AS "mentions"
    FROM "RoomMember" rm
    JOIN "Mention" mn ON mn."userId" = rm."userId" AND mn."roomId" = rm."roomId" AND mn."seq" > rm."lastReadSeq"
    JOIN "Message" m ON m."id" = mn."messageId" AND m."deletedAt" IS NULL
    WHERE (rm."roomId", rm."userId") IN (${memberships})
    GROUP BY rm."roomId", rm."userId"`;
  const byKey = new Map(rows.map((row) => [membershipKey(row), row.mentions]));
  return keys.map((key) => byKey.get(membershipKey(key)) ?? 0);
}

/** Two statements for any number of threads: the counts with the participants' ids, then those users. */
async function summarizeThreads(prisma: PrismaClient, rootIds: readonly string[]): Promise<(ThreadSummary | null)[]> {
  const rows = await prisma.$queryRaw<(Omit<ThreadSummary, 'participants'> & { participantIds: string[] })[]>`
    SELECT root."id" AS "rootId", root."roomId", s."replyCount", s."lastReplyAt", p."participantIds"
    FROM "Message" root
    CROSS JOIN LATERAL (
      SELECT count(*)::int AS "replyCount", max(r."createdAt") AS "lastReplyAt"
      FROM "Message" r WHERE r."threadRootId" = root."id"
    ) s
    CROSS JOIN LATERAL (
      SELECT COALESCE(array_agg(a."authorId" ORDER BY a."firstSeq"), '{}') AS "participantIds"
      FROM (
        SELECT r."authorId", min(r."seq") AS "firstSeq"
        FROM "Message" r
        WHERE r."threadRootId" = root."id" AND r."deletedAt" IS NULL AND r."authorId" IS NOT NULL
        GROUP BY r."authorId" ORDER BY "firstSeq" LIMIT ${MAX_THREAD_PARTICIPANTS}
      ) a
    ) p
    WHERE root."id" IN (${Prisma.join(rootIds)}) AND s."replyCount" > 0`;
  const userIds = [...new Set(rows.flatMap((row) => row.participantIds))];
  const users = userIds.length === 0 ? [] : await prisma.user.findMany({ where: { id: { in: userIds } } });
  const userById = new Map(users.map((user) => [user.id, user]));
  const byRoot = new Map(
    rows.map(({ participantIds, ...row }) => [
      row.rootId,
      { ...row, participants: participantIds.flatMap((id) => userById.get(id) ?? []) },
    ]),
  );
  return rootIds.map((id) => byRoot.get(id) ?? null);
}
