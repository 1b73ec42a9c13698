import { createHmac } from 'node:crypto';
import type { WebhookEvent, WebhookSettings } from './config.js';
import type { PrismaClient } from './db/client.js';
import type { Message } from './generated/prisma/client.js';
import type { Hooks } from './hooks.js';
import { globalId } from './ids.js';
import type { Logger } from './logger.js';

/**
 * Outgoing webhooks, for embedding servers that are not Node: chosen events are queued in the
 * database right after their commit (the after-hooks of hooks.ts) and POSTed to WEBHOOK_URL, signed,
 * in queue order, one at a time across every instance, so each room's events arrive in order. A
 * failed delivery is retried with a doubling backoff and holds back the later ones; the queue outlives
 * restarts. Delivered at least once: a receiver dedupes by X-Parley-Delivery.
 */

/** How long an instance's claim on the delivery it is POSTing lasts (beyond it, another instance may retry it). */
const CLAIM_MS = 60_000;
const POST_TIMEOUT_MS = 10_000;
const MAX_RETRY_MS = 3_600_000;
/** How often an idle instance looks for deliveries queued by the others. */
const POLL_MS = 1000;

export interface Webhooks {
  /** After-hooks that queue the configured events. */
  hooks: Hooks;
  /** Stops delivering (a POST in flight is abandoned and stays queued). */
  close(): Promise<void>;
}

/** `sha256=<hex>` of HMAC-SHA256(secret, `<timestamp>.<body>`): what X-Parley-Signature carries. */
export const webhookSignature = (secret: string, timestamp: string, body: string): string =>
  `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

export function startWebhooks(prisma: PrismaClient, settings: WebhookSettings, logger: Logger): Webhooks {
  let closed = false;
  /** Messages stored before then were sent without webhooks: a room's cursor starts after them. */
  const startedAt = new Date();
  let wake: () => void = () => {};
  const inFlight = new AbortController();

  const bodyOf = (event: WebhookEvent, roomId: string, data: Record<string, unknown>) =>
    JSON.stringify({ event, roomId: globalId('Room', roomId), occurredAt: new Date().toISOString(), data });

  const enqueue = async (event: WebhookEvent, roomId: string, data: Record<string, unknown>) => {
    if (!settings.events.has(event)) return;
    await prisma.webhookDelivery.create({ data: { event, body: bodyOf(event, roomId, data) } });
    wake();
  };

  /**
   * Queues message.sent for every message of the room up to this one not queued yet, in seq order:
   * concurrent sends finish (and reach here) in any order, and a send whose queueing was lost (a crash
   * right after its commit) is caught up by the room's next one.
   */
  const enqueueSent = async (sent: Message) => {
    if (!settings.events.has('message.sent')) return;
    const { roomId } = sent;
    await prisma.$transaction(async (tx) => {
      const lockCursor = async () =>
        (await tx.$queryRaw<{ seq: number }[]>`SELECT "seq" FROM "WebhookRoomCursor" WHERE "roomId" = ${roomId} FOR UPDATE`)[0];
      let cursor = await lockCursor();
      if (!cursor) {
        // The room's first send since webhooks started: its messages from then on are queued, whichever
        // of the sends racing in (a batch stores several at once) gets here first.
        const before = await tx.message.aggregate({ where: { roomId, createdAt: { lt: startedAt } }, _max: { seq: true } });
        await tx.webhookRoomCursor.createMany({ data: [{ roomId, seq: before._max.seq ?? 0 }], skipDuplicates: true });
        cursor = await lockCursor();
      }
      if (!cursor || cursor.seq >= sent.seq) return;
      const messages = await tx.message.findMany({ where: { roomId, seq: { gt: cursor.seq, lte: sent.seq } }, orderBy: { seq: 'asc' } });
      await tx.webhookDelivery.createMany({
        data: messages.map((m) => ({ event: 'message.sent', body: bodyOf('message.sent', roomId, { message: message(m) }) })),
      });
      await tx.webhookRoomCursor.update({ where: { roomId }, data: { seq: sent.seq } });
    });
    wake();
  };

  /** Claims and POSTs the head of the queue when it is due; answers when to look again (ms). */
  const deliverHead = async (): Promise<number> => {
    const head = await prisma.webhookDelivery.findFirst({ orderBy: { id: 'asc' } });
    if (!head) return POLL_MS;
    const wait = head.nextAttemptAt.getTime() - Date.now();
    if (wait > 0) return Math.min(wait, POLL_MS);
    // Conditional on the row as read: of the instances that read it, one claims it.
    const { count } = await prisma.webhookDelivery.updateMany({
      where: { id: head.id, nextAttemptAt: head.nextAttemptAt },
      data: { nextAttemptAt: new Date(Date.now() + CLAIM_MS), attempts: { increment: 1 } },
    });
    if (count === 0) return 0;
    const attempt = head.attempts + 1;
    const timestamp = String(Math.floor(Date.now() / 1000));
    try {
      const response = await fetch(settings.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-parley-delivery': String(head.id),
          'x-parley-event': head.event,
          'x-parley-timestamp': timestamp,
          'x-parley-signature': webhookSignature(settings.secret, timestamp, head.body),
        },
        body: head.body,
        signal: AbortSignal.any([inFlight.signal, AbortSignal.timeout(POST_TIMEOUT_MS)]),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`the receiver answered ${response.status}`);
    } catch (error) {
      // Stopping: the delivery goes back to the queue as it was, for the next start (or another instance).
      const retryMs = closed ? 0 : Math.min(settings.retryMs * 2 ** (attempt - 1), MAX_RETRY_MS);
      if (!closed) logger.warn({ err: error, delivery: String(head.id), event: head.event, attempt, retryInMs: retryMs }, 'webhook delivery failed');
      await prisma.webhookDelivery.update({
        where: { id: head.id },
        data: { nextAttemptAt: new Date(Date.now() + retryMs), ...(closed ? { attempts: head.attempts } : {}) },
      });
      return retryMs;
    }
    await prisma.webhookDelivery.delete({ where: { id: head.id } });
    return 0;
  };

  const loop = (async () => {
    while (!closed) {
      let next = POLL_MS;
      try {
        next = await deliverHead();
      } catch (error) {
        if (!closed) logger.error({ err: error }, 'webhook queue failed');
      }
      if (closed || next === 0) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, next);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = () => {};
    }
  })();

  const message = (m: Message) => ({
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

  const hooks: Hooks = {
    sendMessage: { after: (_input, m) => enqueueSent(m) },
    editMessage: { after: (_input, m) => enqueue('message.edited', m.roomId, { message: message(m) }) },
    deleteMessage: { after: (_input, m) => enqueue('message.deleted', m.roomId, { message: message(m) }) },
    createRoom: {
      after: (_input, room, caller) =>
        enqueue('room.created', room.id, {
          room: { id: globalId('Room', room.id), name: room.name, topic: room.topic, visibility: room.visibility },
          userId: globalId('User', caller.userId),
        }),
    },
    joinRoom: { after: (_input, member) => enqueue('member.joined', member.roomId, { userId: globalId('User', member.userId), role: member.role }) },
    leaveRoom: { after: (_input, { roomId }, caller) => enqueue('member.left', roomId, { userId: globalId('User', caller.userId) }) },
  };

  return {
    hooks,
    close: async () => {
      closed = true;
      inFlight.abort();
      wake();
      await loop;
    },
  };
}
