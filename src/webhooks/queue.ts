import type { App } from '../app.js';
import type { WebhookSettings } from '../config.js';
import type { PrismaClient } from '../db/client.js';
import type { Prisma } from '../generated/prisma/client.js';
import { sentBodyAround, webhookBody, type WebhookMessage, type WebhookOccurrence } from './bodies.js';

/**
 * The queue of webhook deliveries (WebhookDelivery). Each event is inserted by the transaction of the
 * write it reports, so a committed write has its event queued and a rolled-back one has none, whatever
 * crashes in between. message.sent is the appender's statement's own (see sentWebhook).
 */

/** Queues the occurrence's event in the write's transaction; nothing when webhooks are off or the event is not chosen. */
export async function queueWebhook(app: App, tx: Prisma.TransactionClient, occurrence: WebhookOccurrence): Promise<void> {
  if (!app.config.webhooks?.events.has(occurrence.event)) return;
  await tx.webhookDelivery.create({ data: { event: occurrence.event, body: webhookBody(occurrence) } });
}

/**
 * Runs a write that reports event in a transaction when that event is queued (so it commits with the
 * write), and on the client itself when it is not: a write of one statement needs no BEGIN/COMMIT.
 */
export function writeReporting<T>(
  app: App,
  event: WebhookOccurrence['event'],
  write: (db: Prisma.TransactionClient) => Promise<T>,
): Promise<T> {
  return app.config.webhooks?.events.has(event) ? app.prisma.$transaction(write) : write(app.prisma);
}

/** message.sent's body around the seq, for the appender's statement to queue; null when the event is not chosen. */
export const sentWebhook = (settings: WebhookSettings | null, message: Omit<WebhookMessage, 'seq'>) =>
  settings?.events.has('message.sent') ? sentBodyAround(message) : null;

/** Deliveries waiting (queued, failed, or being POSTed), and when the oldest was queued. */
export async function webhookQueueState(prisma: PrismaClient): Promise<{ pending: number; oldestQueuedAt: Date | null }> {
  const { _count, _min } = await prisma.webhookDelivery.aggregate({ _count: { _all: true }, _min: { createdAt: true } });
  return { pending: _count._all, oldestQueuedAt: _min.createdAt };
}
