import DataLoader from 'dataloader';
import type { PrismaClient } from '../db/client.js';
import { Prisma, type Message } from '../generated/prisma/client.js';

/** Per-request loaders of the messages domain: each batches every key of a tick into one query. */
export interface MessageLoaders {
  /** Messages after a membership's lastReadSeq, not deleted and not its own. */
  unreadCount: DataLoader<MembershipKey, number, string>;
  /** Mentions of a member in messages after its lastReadSeq, not deleted. */
  mentionCount: DataLoader<MembershipKey, number, string>;
  /** The message with this seq in this room (Room.lastMessage is the one at lastSeq). */
  messageAt: DataLoader<MessageSeqKey, Message | null, string>;
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
