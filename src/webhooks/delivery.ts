import type { WebhookSettings } from '../config.js';
import type { PrismaClient } from '../db/client.js';
import type { HookPoint, Hooks } from '../hooks.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../server/metrics.js';
import { webhookSignature } from './signature.js';

/**
 * Delivers the webhook queue (queue.ts) to WEBHOOK_URL: signed POSTs in queue order, one at a time
 * across every instance, so each room's events arrive in order. A failed delivery is retried with a
 * doubling backoff and holds back the later ones; the queue outlives restarts. Delivered at least
 * once: a receiver dedupes by X-Parley-Delivery.
 */

/** How long an instance's claim on the delivery it is POSTing lasts (beyond it, another instance may retry it). */
const CLAIM_MS = 60_000;
const POST_TIMEOUT_MS = 10_000;
const MAX_RETRY_MS = 3_600_000;
/** How often an idle instance looks for deliveries queued by the others. */
const POLL_MS = 1000;
/**
 * The use cases that queue events: their after-hooks (run once the write is committed) wake the worker.
 * What is queued without hooks (an account's deletion leaving rooms) waits for the next poll.
 */
const QUEUEING_POINTS: readonly HookPoint[] = ['sendMessage', 'editMessage', 'deleteMessage', 'createRoom', 'joinRoom', 'leaveRoom'];

export interface WebhookDelivery {
  /** After-hooks that start delivering what a use case just committed (rather than at the next poll). */
  hooks: Hooks;
  /** Stops delivering (a POST in flight is abandoned and stays queued). */
  close(): Promise<void>;
}

/** The receiver answered, but not 2xx. */
class ReceiverAnswered extends Error {
  constructor(readonly status: number) {
    super(`the receiver answered ${status}`);
  }
}

/** Why an attempt failed, for its log line: the receiver's status, or what went wrong on the way. */
const failureOf = (error: unknown): { status: number } | { error: string } => {
  if (error instanceof ReceiverAnswered) return { status: error.status };
  // fetch's "fetch failed" says nothing: its cause does (ECONNREFUSED, a TLS error...).
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return { error: cause instanceof Error ? cause.message : String(cause) };
};

export function startWebhookDelivery(prisma: PrismaClient, settings: WebhookSettings, logger: Logger, metrics: Metrics): WebhookDelivery {
  let closed = false;
  /** Set by a wake while a delivery runs: then the loop looks again at once rather than sleeping. */
  let woken = false;
  let stopSleeping = () => {};
  const wake = () => {
    woken = true;
    stopSleeping();
  };
  const inFlight = new AbortController();
  // Logged instead of the URL, whose path or query may hold a credential of the receiver.
  const host = new URL(settings.url).host;

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
      if (!response.ok) throw new ReceiverAnswered(response.status);
    } catch (error) {
      // Stopping: the delivery goes back to the queue as it was, for the next start (or another instance).
      const retryMs = closed ? 0 : Math.min(settings.retryMs * 2 ** (attempt - 1), MAX_RETRY_MS);
      if (!closed) {
        metrics.webhookAttempt('failed');
        logger.warn({ delivery: String(head.id), event: head.event, host, attempt, ...failureOf(error), retryInMs: retryMs }, 'webhook delivery failed');
      }
      await prisma.webhookDelivery.update({
        where: { id: head.id },
        data: { nextAttemptAt: new Date(Date.now() + retryMs), ...(closed ? { attempts: head.attempts } : {}) },
      });
      return retryMs;
    }
    metrics.webhookAttempt('delivered');
    await prisma.webhookDelivery.delete({ where: { id: head.id } });
    return 0;
  };

  const loop = (async () => {
    while (!closed) {
      woken = false;
      let next = POLL_MS;
      try {
        next = await deliverHead();
      } catch (error) {
        if (!closed) logger.error({ err: error }, 'webhook queue failed');
      }
      if (closed || next === 0 || woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, next);
        stopSleeping = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      stopSleeping = () => {};
    }
  })();

  return {
    hooks: Object.fromEntries(QUEUEING_POINTS.map((point) => [point, { after: () => wake() }])),
    close: async () => {
      closed = true;
      inFlight.abort();
      wake();
      await loop;
    },
  };
}
