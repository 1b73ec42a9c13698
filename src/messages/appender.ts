import type { WebhookSettings } from '../config.js';
import type { Database } from '../db/client.js';
import { isDeadlock, isUniqueViolation } from '../db/errors.js';
import type { Prisma, RoomMember, RoomRole } from '../generated/prisma/client.js';
import { uuidv7 } from '../ids.js';
import { sentWebhook } from '../webhooks/queue.js';
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
   * used this clientMessageId before. The caller finds out which, off the hot path. `id`: the
   * message's id, when the caller needs it before the message is stored.
   */
  append(roomId: string, draft: MessageDraft, id?: string): Promise<Appended | null>;
}

/** The most messages one statement stores (10 parameters each, far below PostgreSQL's 65535). */
const MAX_BATCH = 200;

interface Pending {
  id: string;
  roomId: string;
  draft: MessageDraft;
  resolve(appended: Appended | null): void;
  reject(error: unknown): void;
}

/**
 * Appends messages to room histories in batches across rooms: the sends that arrive while statements
 * run go together in the next one, whatever their rooms. A batch is one statement, so one round trip
 * however many senders and rooms it serves; an idle server's send waits for nothing but the statement.
 * A room is in at most one statement at a time (its sends wait for the next one), so a room's seqs are
 * handed out in arrival order. Up to `parallel` statements run at once (rooms disjoint). `published`
 * runs after each commit with the batch's messages, in seq order per room, before their senders are
 * answered and before the room's next statement. With `webhooks` choosing message.sent, the statement
 * also queues each message's webhook delivery: queued exactly when stored, at no extra round trip.
 */
export function createMessageAppender(
  db: Database,
  published: (messages: StoredMessage[]) => Promise<void>,
  parallel: number,
  webhooks: WebhookSettings | null,
): MessageAppender {
  let waiting: Pending[] = [];
  /** Rooms with a statement running. */
  const busyRooms = new Set<string>();
  let running = 0;
  let scheduled = false;

  /** Starts statements for the waiting sends of rooms not busy, while fewer than `parallel` run. */
  function flush(): void {
    scheduled = false;
    while (running < parallel && waiting.length > 0) {
      const batch: Pending[] = [];
      const rest: Pending[] = [];
      // In arrival order: once a room's send waits (batch full, or room busy), its later ones wait too.
      for (const pending of waiting) {
        if (batch.length < MAX_BATCH && !busyRooms.has(pending.roomId)) batch.push(pending);
        else rest.push(pending);
      }
      if (batch.length === 0) return;
      waiting = rest;
      const rooms = new Set(batch.map((pending) => pending.roomId));
      for (const roomId of rooms) busyRooms.add(roomId);
      running++;
      const release = () => {
        for (const roomId of rooms) busyRooms.delete(roomId);
        running--;
        flush();
      };
      // storeBatch settles every send itself; should it throw all the same, its rooms are not left busy.
      void storeBatch(batch)
        .catch((error: unknown) => batch.forEach((pending) => pending.reject(error)))
        .then(release);
    }
  }

  /** Settles every pending send of the batch; never throws. */
  async function storeBatch(batch: Pending[]): Promise<void> {
    // A retry queued beside its original shares the original's fate: the caller then finds the
    // original (or the reason it was refused), as for a retry of a message stored earlier.
    const seen = new Set<string>();
    const fresh: Pending[] = [];
    const repeats: Pending[] = [];
    for (const pending of batch) {
      const { authorId, clientMessageId } = pending.draft;
      const key = clientMessageId === null ? null : `${pending.roomId}\u0000${authorId}\u0000${clientMessageId}`;
      if (key !== null && seen.has(key)) repeats.push(pending);
      else {
        if (key !== null) seen.add(key);
        fresh.push(pending);
      }
    }
    let appended: Appended[];
    try {
      appended = await insert(db, fresh, webhooks);
    } catch (error) {
      if (isUniqueViolation(error, 'clientMessageId') || isDeadlock(error)) {
        // A retry committed elsewhere after this statement's snapshot: alone, the retry is simply not
        // stored; in a batch it would refuse the others with it, so they go one by one. A deadlock
        // (another instance locking the same rooms in another order) rolled everything back: one by
        // one, each statement locks one room.
        if (fresh.length === 1 && !isDeadlock(error)) fresh[0]!.resolve(null);
        else if (fresh.length === 1) fresh[0]!.reject(error);
        else for (const pending of fresh) await storeBatch([pending]);
      } else {
        for (const pending of fresh) pending.reject(error);
      }
      for (const pending of repeats) pending.resolve(null);
      return;
    }
    // Published in seq order, before the rooms' next statement can commit; senders hear after. The
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
    append: (roomId, draft, id = uuidv7()) =>
      new Promise((resolve, reject) => {
        waiting.push({ id, roomId, draft, resolve, reject });
        // Sends arriving in the same turn of the event loop join the same statement.
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
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
  threadRootId: string | null;
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
 * One statement for the whole batch, whatever its rooms. It keeps the drafts whose author is a member
 * of the room, whose reply target is a message of the room and whose clientMessageId is new; a reply
 * joins the thread of its target's root (the target itself when it replies to nothing); adds each
 * room's count to its lastSeq (the UPDATE takes the rooms' row locks, so concurrent statements, on any
 * instance, get consecutive ranges); and inserts them numbered in arrival order. If the INSERT fails,
 * the increments go with it: seqs stay 1..N without gaps or duplicates. Nothing is stored in a room
 * that is gone. With message.sent webhooks, each stored message's delivery is queued in arrival order
 * (so a room's in seq order; the rooms' row locks order concurrent statements), its body joined around
 * the seq the statement hands out.
 *
 * The drafts come as one array per column (unnest), so the text is the same for every batch size and
 * PostgreSQL keeps its plan (Database.queryRows prepares it once per connection).
 */
function appendStatement(queuesWebhooks: boolean): string {
  // Unreferenced, it still runs (PostgreSQL runs every data-modifying WITH to completion).
  const queued = queuesWebhooks
    ? `,
    "queued" AS (
      INSERT INTO "WebhookDelivery" ("event", "body")
      SELECT 'message.sent', d."webhookHead" || s."seq"::text || d."webhookTail"
      FROM "stored" s JOIN "draft" d ON d."id" = s."id"
      ORDER BY d."position"
    )`
    : '';
  return `
    WITH "draft" AS (
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::text[], $8::text[], $9::text[])
        WITH ORDINALITY AS d ("id", "roomId", "authorId", "body", "payload", "replyToId", "clientMessageId", "webhookHead", "webhookTail", "position")
    ),
    "accepted" AS (
      SELECT d.*, COALESCE(r."threadRootId", r."id") AS "threadRootId",
        row_number() OVER (PARTITION BY d."roomId" ORDER BY d."position")::int AS "rank"
      FROM "draft" d
      -- At most one row (by primary key): the reply target, when it is a message of the room.
      LEFT JOIN "Message" r ON r."id" = d."replyToId" AND r."roomId" = d."roomId"
      WHERE EXISTS (SELECT 1 FROM "RoomMember" rm WHERE rm."roomId" = d."roomId" AND rm."userId" = d."authorId")
        AND (d."replyToId" IS NULL OR r."id" IS NOT NULL)
        AND (d."clientMessageId" IS NULL
          OR NOT EXISTS (SELECT 1 FROM "Message" o WHERE o."roomId" = d."roomId" AND o."authorId" = d."authorId"
            AND o."clientMessageId" = d."clientMessageId"))
    ),
    "counted" AS (SELECT "roomId", count(*)::int AS "n" FROM "accepted" GROUP BY "roomId"),
    "next" AS (
      UPDATE "Room" SET "lastSeq" = "Room"."lastSeq" + c."n", "lastActivityAt" = $10::timestamp(3)
      FROM "counted" c
      WHERE "Room"."id" = c."roomId"
      RETURNING "Room"."id" AS "roomId", "Room"."lastSeq" - c."n" AS "before"
    ),
    "stored" AS (
      INSERT INTO "Message" ("id", "roomId", "seq", "authorId", "body", "payload", "replyToId", "threadRootId", "clientMessageId", "createdAt")
      SELECT a."id", a."roomId", nx."before" + a."rank", a."authorId", a."body", a."payload", a."replyToId", a."threadRootId", a."clientMessageId", $10::timestamp(3)
      FROM "accepted" a JOIN "next" nx ON nx."roomId" = a."roomId"
      RETURNING "id", "roomId", "seq", "authorId", "body", "payload", "replyToId", "threadRootId", "clientMessageId", "createdAt"
    )${queued}
    SELECT s.*, rm."role"::text AS "memberRole", rm."joinedAt" AS "memberJoinedAt", rm."lastReadSeq" AS "memberLastReadSeq",
      u."username" AS "authorUsername", u."displayName" AS "authorDisplayName", u."createdAt" AS "authorCreatedAt",
      u."lastSeenAt" AS "authorLastSeenAt"
    FROM "stored" s
    JOIN "RoomMember" rm ON rm."roomId" = s."roomId" AND rm."userId" = s."authorId"
    JOIN "User" u ON u."id" = s."authorId"
    ORDER BY s."roomId", s."seq"`;
}

const APPEND = { name: 'parley_append', text: appendStatement(false) };
const APPEND_QUEUING_WEBHOOKS = { name: 'parley_append_webhooks', text: appendStatement(true) };

async function insert(db: Database, batch: Pending[], webhooks: WebhookSettings | null): Promise<Appended[]> {
  const now = new Date();
  // One array per column of the statement's unnest, in its order.
  const ids: string[] = [];
  const roomIds: string[] = [];
  const authorIds: string[] = [];
  const bodies: (string | null)[] = [];
  const payloads: (string | null)[] = [];
  const replyToIds: (string | null)[] = [];
  const clientMessageIds: (string | null)[] = [];
  const webhookHeads: (string | null)[] = [];
  const webhookTails: (string | null)[] = [];
  let queuesWebhooks = false;
  for (const { id, roomId, draft } of batch) {
    const sent = sentWebhook(webhooks, { id, roomId, ...draft, createdAt: now, editedAt: null, deletedAt: null });
    queuesWebhooks ||= sent !== null;
    ids.push(id);
    roomIds.push(roomId);
    authorIds.push(draft.authorId);
    bodies.push(draft.body);
    payloads.push(draft.payload === null ? null : JSON.stringify(draft.payload));
    replyToIds.push(draft.replyToId);
    clientMessageIds.push(draft.clientMessageId);
    webhookHeads.push(sent?.head ?? null);
    webhookTails.push(sent?.tail ?? null);
  }
  const rows = await db.queryRows<AppendedRow>({
    ...(queuesWebhooks ? APPEND_QUEUING_WEBHOOKS : APPEND),
    values: [ids, roomIds, authorIds, bodies, payloads, replyToIds, clientMessageIds, webhookHeads, webhookTails, now.toISOString()],
  });
  return rows.map((row) => ({
    message: {
      id: row.id,
      roomId: row.roomId,
      seq: row.seq,
      authorId: row.authorId,
      body: row.body,
      payload: row.payload,
      replyToId: row.replyToId,
      threadRootId: row.threadRootId,
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
