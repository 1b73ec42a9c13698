import type { PrismaClient } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import { Prisma, type RoomMember, type RoomRole } from '../generated/prisma/client.js';
import { uuidv7 } from '../ids.js';
import type { StoredMessage } from './events.js';

/** A message to store, validated except for what the statement itself checks. */
export interface MessageDraft {
  authorId: string;
  body: string | null;
  payload: Prisma.InputJsonObject | null;
  replyToId: string | null;
  clientMessageId: string | null;
}

export interface Appended {
  message: StoredMessage;
  /** The author's membership, which the statement checked. */
  member: RoomMember;
}

export interface MessageAppender {
  /**
   * Stores the message with its room's next seq. Null when the statement did not store it: the author
   * is not a member, the reply target is not a message of the room, the room is gone, or the author
   * used this clientMessageId before. The caller finds out which, off the hot path.
   */
  append(roomId: string, draft: MessageDraft): Promise<Appended | null>;
}

/** The most messages one statement stores (7 parameters each, far below PostgreSQL's 65535). */
const MAX_BATCH = 200;

interface Pending {
  id: string;
  draft: MessageDraft;
  resolve(appended: Appended | null): void;
  reject(error: unknown): void;
}

/**
 * Appends messages to room histories, one room's sends at a time, in batches: the sends to a room
 * that arrive while its previous statement runs go together in the next one. A batch is one
 * statement, so one round trip and one hold of the room's row lock however many senders it serves;
 * an idle room's send waits for nothing but the statement. `published` runs after each commit with
 * the batch's messages in seq order, before their senders are answered.
 */
export function createMessageAppender(
  prisma: PrismaClient,
  published: (messages: StoredMessage[]) => Promise<void>,
): MessageAppender {
  /** Rooms with sends queued or being stored; a room is here while its drain loop runs. */
  const queues = new Map<string, Pending[]>();

  async function drain(roomId: string, queue: Pending[]): Promise<void> {
    for (let batch = queue.splice(0, MAX_BATCH); batch.length > 0; batch = queue.splice(0, MAX_BATCH)) {
      await storeBatch(roomId, batch);
    }
    queues.delete(roomId);
  }

  /** Settles every pending send of the batch; never throws. */
  async function storeBatch(roomId: string, batch: Pending[]): Promise<void> {
    // A retry queued beside its original shares the original's fate: the caller then finds the
    // original (or the reason it was refused), as for a retry of a message stored earlier.
    const seen = new Set<string>();
    const fresh: Pending[] = [];
    const repeats: Pending[] = [];
    for (const pending of batch) {
      const { authorId, clientMessageId } = pending.draft;
      const key = clientMessageId === null ? null : `${authorId}\u0000${clientMessageId}`;
      if (key !== null && seen.has(key)) repeats.push(pending);
      else {
        if (key !== null) seen.add(key);
        fresh.push(pending);
      }
    }
    let appended: Appended[];
    try {
      appended = await insert(prisma, roomId, fresh);
    } catch (error) {
      if (isUniqueViolation(error, 'clientMessageId')) {
        // A retry committed elsewhere after this statement's snapshot. Alone, the retry is simply
        // not stored; in a batch it would refuse the others with it, so they go one by one.
        if (fresh.length === 1) fresh[0]!.resolve(null);
        else for (const pending of fresh) await storeBatch(roomId, [pending]);
      } else {
        for (const pending of fresh) pending.reject(error);
      }
      for (const pending of repeats) pending.resolve(null);
      return;
    }
    // Published in seq order, before the next batch's statement can commit; senders hear after. The
    // messages are stored either way, so a failed publish (streams fill the gap) still answers them.
    const delivered = published(appended.map(({ message }) => message));
    const byId = new Map(appended.map((entry) => [entry.message.id, entry]));
    const answer = () => {
      for (const pending of fresh) pending.resolve(byId.get(pending.id) ?? null);
      for (const pending of repeats) pending.resolve(null);
    };
    void delivered.then(answer, answer);
  }

  return {
    append: (roomId, draft) =>
      new Promise((resolve, reject) => {
        const pending = { id: uuidv7(), draft, resolve, reject };
        const queue = queues.get(roomId);
        if (queue) {
          queue.push(pending);
          return;
        }
        const started = [pending];
        queues.set(roomId, started);
        // Sends arriving in the same turn of the event loop join the first statement.
        setImmediate(() => void drain(roomId, started));
      }),
  };
}

interface AppendedRow {
  id: string;
  roomId: string;
  seq: number;
  authorId: string;
  body: string | null;
  payload: Prisma.JsonValue | null;
  replyToId: string | null;
  clientMessageId: string | null;
  createdAt: Date;
  memberRole: RoomRole;
  memberJoinedAt: Date;
  memberLastReadSeq: number;
  authorUsername: string;
  authorDisplayName: string;
  authorCreatedAt: Date;
  authorLastSeenAt: Date | null;
}

/**
 * One statement for the whole batch. It keeps the drafts whose author is a member, whose reply target
 * is a message of the room and whose clientMessageId is new; adds their count to the room's lastSeq
 * (the UPDATE takes the room's row lock, so concurrent batches, on any instance, get consecutive
 * ranges); and inserts them numbered in arrival order. If the INSERT fails, the increment goes with
 * it: seqs stay 1..N without gaps or duplicates. Nothing is stored when the room is gone.
 */
async function insert(prisma: PrismaClient, roomId: string, batch: Pending[]): Promise<Appended[]> {
  const now = new Date();
  const drafts = batch.map(
    ({ id, draft }, index) =>
      Prisma.sql`(${id}::text, ${draft.authorId}::text, ${draft.body}::text, ${draft.payload === null ? null : JSON.stringify(draft.payload)}::jsonb, ${draft.replyToId}::text, ${draft.clientMessageId}::text, ${index}::int)`,
  );
  const rows = await prisma.$queryRaw<AppendedRow[]>`
    WITH "draft" ("id", "authorId", "body", "payload", "replyToId", "clientMessageId", "position") AS (
      VALUES ${Prisma.join(drafts)}
    ),
    "accepted" AS (
      SELECT d.*, row_number() OVER (ORDER BY d."position")::int AS "rank"
      FROM "draft" d
      WHERE EXISTS (SELECT 1 FROM "RoomMember" rm WHERE rm."roomId" = ${roomId} AND rm."userId" = d."authorId")
        AND (d."replyToId" IS NULL
          OR EXISTS (SELECT 1 FROM "Message" r WHERE r."id" = d."replyToId" AND r."roomId" = ${roomId}))
        AND (d."clientMessageId" IS NULL
          OR NOT EXISTS (SELECT 1 FROM "Message" o WHERE o."roomId" = ${roomId} AND o."authorId" = d."authorId"
            AND o."clientMessageId" = d."clientMessageId"))
    ),
    "counted" AS (SELECT count(*)::int AS "n" FROM "accepted"),
    "next" AS (
      UPDATE "Room" SET "lastSeq" = "lastSeq" + "counted"."n", "lastActivityAt" = ${now}
      FROM "counted"
      WHERE "Room"."id" = ${roomId} AND "counted"."n" > 0
      RETURNING "Room"."lastSeq" - "counted"."n" AS "before"
    ),
    "stored" AS (
      INSERT INTO "Message" ("id", "roomId", "seq", "authorId", "body", "payload", "replyToId", "clientMessageId", "createdAt")
      SELECT a."id", ${roomId}, "next"."before" + a."rank", a."authorId", a."body", a."payload", a."replyToId", a."clientMessageId", ${now}
      FROM "accepted" a, "next"
      RETURNING "id", "roomId", "seq", "authorId", "body", "payload", "replyToId", "clientMessageId", "createdAt"
    )
    SELECT s.*, rm."role"::text AS "memberRole", rm."joinedAt" AS "memberJoinedAt", rm."lastReadSeq" AS "memberLastReadSeq",
      u."username" AS "authorUsername", u."displayName" AS "authorDisplayName", u."createdAt" AS "authorCreatedAt",
      u."lastSeenAt" AS "authorLastSeenAt"
    FROM "stored" s
    JOIN "RoomMember" rm ON rm."roomId" = s."roomId" AND rm."userId" = s."authorId"
    JOIN "User" u ON u."id" = s."authorId"
    ORDER BY s."seq"`;
  return rows.map((row) => ({
    message: {
      id: row.id,
      roomId: row.roomId,
      seq: row.seq,
      authorId: row.authorId,
      body: row.body,
      payload: row.payload,
      replyToId: row.replyToId,
      clientMessageId: row.clientMessageId,
      createdAt: row.createdAt,
      editedAt: null,
      deletedAt: null,
      author: {
        id: row.authorId,
        username: row.authorUsername,
        displayName: row.authorDisplayName,
        createdAt: row.authorCreatedAt,
        lastSeenAt: row.authorLastSeenAt,
      },
    },
    member: {
      roomId: row.roomId,
      userId: row.authorId,
      role: row.memberRole,
      joinedAt: row.memberJoinedAt,
      lastReadSeq: row.memberLastReadSeq,
    },
  }));
}
