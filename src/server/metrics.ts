import { timingSafeEqual, createHash } from 'node:crypto';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { getOperationAST, Kind, type DocumentNode, type ExecutionResult, type GraphQLError } from 'graphql';
import { ErrorCode, isContractCode } from '../errors.js';
import type { SubscriptionField } from '../realtime/live-streams.js';
import { isOutage } from './outages.js';

/** Upper bounds (ms) of the send → delivery latency buckets. */
const LATENCY_BUCKETS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];

/**
 * Counts kept where every delivered event passes: plain numbers and a fixed array, no labels and
 * no allocation (a prom-client observe costs about a microsecond, as much as the frame write
 * itself). /metrics reads them at scrape time.
 */
export class DeliveryTally {
  delivered = 0;
  readonly latencyBuckets = new Float64Array(LATENCY_BUCKETS_MS.length + 1);
  latencySumMs = 0;
  latencyCount = 0;

  /** One event written to one subscriber; sentAtMs is when its message was stored (NaN for other events). */
  count(nowMs: number, sentAtMs: number): void {
    this.delivered++;
    if (Number.isNaN(sentAtMs)) return;
    const ms = Math.max(0, nowMs - sentAtMs);
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[bucket]!) bucket++;
    this.latencyBuckets[bucket]!++;
    this.latencySumMs += ms;
    this.latencyCount++;
  }
}

export type Transport = 'http' | 'ws';

/** What the server's metrics read at scrape time. */
export interface MetricSources {
  openSockets(): number;
  liveStreams(): Map<SubscriptionField, number>;
  /** Resolve when the dependency answers; redis is null without REDIS_URL. */
  pingDatabase(): Promise<void>;
  pingRedis: (() => Promise<void>) | null;
  /** The webhook queue's state (webhooks/queue.ts); null when webhooks are off. */
  webhookQueue: (() => Promise<{ pending: number; oldestQueuedAt: Date | null }>) | null;
}

export interface Metrics {
  /** Null with METRICS=off. */
  readonly registry: Registry | null;
  readonly deliveries: DeliveryTally;
  messagesStored(count: number): void;
  /** A GraphQL operation's outcome: OK or the contract code of its first error. */
  operation(transport: Transport, kind: OperationKind, outcome: string): void;
  /** A subscription ended by an error (a slow subscriber's RATE_LIMITED, a removed member's FORBIDDEN...). */
  subscriptionEnded(code: string): void;
  /** A rate or connection limit refused something (src/limits/). */
  rateLimitRefused(limit: string): void;
  httpRequest(route: string, status: number, seconds: number): void;
  /** One POST of a webhook delivery: the receiver answered 2xx, or it failed (to be retried). */
  webhookAttempt(outcome: 'delivered' | 'failed'): void;
  /** Registers the gauges read from the running server. */
  watch(sources: MetricSources): void;
}

export interface OperationKind {
  /** query, mutation, subscription; `invalid` when the document did not parse or validate. */
  type: string;
  /** The first root field: operators see what ran, and the label's values are bounded by the schema (client-chosen operation names are not). */
  field: string;
  /** The operation's own name, or its field (for logs). */
  name: string;
}

export const invalidOperation: OperationKind = { type: 'invalid', field: '', name: '' };

export function operationKind(document: DocumentNode, operationName?: string | null): OperationKind {
  const operation = getOperationAST(document, operationName);
  if (!operation) return invalidOperation;
  const first = operation.selectionSet.selections[0];
  const field = first?.kind === Kind.FIELD ? first.name.value : '(fragment)';
  return { type: operation.operation, field, name: operation.name?.value ?? field };
}

/** OK, or the contract code of the first error (an outage is UNAVAILABLE, anything else an internal error). */
export function outcomeOf(result: ExecutionResult | { errors?: readonly GraphQLError[] }): string {
  const code = result.errors?.[0]?.extensions?.code;
  if (!result.errors?.length) return 'OK';
  if (isContractCode(code)) return code;
  // Counted before masking: an outage is answered UNAVAILABLE (server/errors.ts).
  return isOutage(result.errors[0]) ? ErrorCode.UNAVAILABLE : ErrorCode.INTERNAL_SERVER_ERROR;
}

/** The routes HTTP metrics distinguish (the label's values stay bounded). */
export function routeOf(path: string): string {
  return ['/graphql', '/health', '/ready', '/metrics'].includes(path) ? path : 'other';
}

const PING_TIMEOUT_MS = 2000;

async function isUp(ping: () => Promise<void>): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), PING_TIMEOUT_MS);
  });
  try {
    await Promise.race([ping(), timeout]);
    return 1;
  } catch {
    return 0;
  } finally {
    clearTimeout(timer);
  }
}

export function createMetrics(enabled: boolean): Metrics {
  const deliveries = new DeliveryTally();
  let stored = 0;
  if (!enabled) {
    return {
      registry: null,
      deliveries,
      messagesStored: () => {},
      operation: () => {},
      subscriptionEnded: () => {},
      rateLimitRefused: () => {},
      httpRequest: () => {},
      webhookAttempt: () => {},
      watch: () => {},
    };
  }
  const registry = new Registry();
  // Process memory, CPU, event-loop lag (nodejs_eventloop_lag_*), GC, handles.
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const operations = new Counter({
    name: 'parley_operations_total',
    help: 'GraphQL operations by transport, type, root field and outcome (OK or the error code; RATE_LIMITED counts refusals).',
    labelNames: ['transport', 'type', 'field', 'outcome'],
    registers,
  });
  const subscriptionErrors = new Counter({
    name: 'parley_subscription_errors_total',
    help: 'Subscriptions over graphql-ws ended by an error, by code (RATE_LIMITED: a subscriber too slow for its buffer).',
    labelNames: ['code'],
    registers,
  });
  const refusals = new Counter({
    name: 'parley_rate_limit_refusals_total',
    help: 'Requests, connections and subscriptions refused by an abuse limit (src/limits/), by limit.',
    labelNames: ['limit'],
    registers,
  });
  const httpRequests = new Counter({
    name: 'parley_http_requests_total',
    help: 'HTTP requests by route and status.',
    labelNames: ['route', 'status'],
    registers,
  });
  const httpDuration = new Histogram({
    name: 'parley_http_request_duration_seconds',
    help: 'HTTP request duration by route.',
    labelNames: ['route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  new Counter({
    name: 'parley_messages_stored_total',
    help: 'Messages stored by this instance.',
    registers,
    collect() {
      this.reset();
      this.inc(stored);
    },
  });
  new Counter({
    name: 'parley_events_delivered_total',
    help: 'Subscription events written to graphql-ws sockets (one per event per subscriber).',
    registers,
    collect() {
      this.reset();
      this.inc(deliveries.delivered);
    },
  });
  const webhookAttempts = new Counter({
    name: 'parley_webhook_deliveries_total',
    help: 'POSTs of webhook deliveries by this instance, by outcome: delivered (2xx), failed (retried later).',
    labelNames: ['outcome'],
    registers,
  });
  registry.registerMetric(latencyHistogram(deliveries) as never);
  return {
    registry,
    deliveries,
    messagesStored: (count) => {
      stored += count;
    },
    operation: (transport, kind, outcome) => operations.inc({ transport, type: kind.type, field: kind.field, outcome }),
    subscriptionEnded: (code) => subscriptionErrors.inc({ code }),
    rateLimitRefused: (limit) => refusals.inc({ limit }),
    httpRequest: (route, status, seconds) => {
      httpRequests.inc({ route, status });
      httpDuration.observe({ route }, seconds);
    },
    webhookAttempt: (outcome) => webhookAttempts.inc({ outcome }),
    watch(sources) {
      new Gauge({
        name: 'parley_websocket_connections',
        help: 'Open graphql-ws sockets.',
        registers,
        collect() {
          this.set(sources.openSockets());
        },
      });
      new Gauge({
        name: 'parley_subscriptions',
        help: 'Open subscriptions by field (graphql-ws and HTTP event streams).',
        labelNames: ['field'],
        registers,
        collect() {
          this.reset();
          for (const [field, count] of sources.liveStreams()) this.set({ field }, count);
        },
      });
      new Gauge({
        name: 'parley_database_up',
        help: '1 when the database answered a query at this scrape (2 s at most), else 0.',
        registers,
        async collect() {
          this.set(await isUp(sources.pingDatabase));
        },
      });
      const { pingRedis } = sources;
      if (pingRedis) {
        new Gauge({
          name: 'parley_redis_up',
          help: '1 when Redis answered a PING at this scrape (2 s at most), else 0.',
          registers,
          async collect() {
            this.set(await isUp(pingRedis));
          },
        });
      }
      const { webhookQueue } = sources;
      if (webhookQueue) {
        new Gauge({
          name: 'parley_webhook_queue_pending',
          help: 'Webhook deliveries waiting in the queue (all instances): queued, failed and awaiting a retry, or being POSTed.',
          registers,
          async collect() {
            this.set((await webhookQueue()).pending);
          },
        });
        new Gauge({
          name: 'parley_webhook_queue_oldest_age_seconds',
          help: 'How long ago the oldest waiting webhook delivery was queued; 0 when the queue is empty.',
          registers,
          async collect() {
            const { oldestQueuedAt } = await webhookQueue();
            this.set(oldestQueuedAt ? Math.max(0, (Date.now() - oldestQueuedAt.getTime()) / 1000) : 0);
          },
        });
      }
    },
  };
}

/** The send → delivery latency histogram, read from the tally (prom-client's exposition format for a histogram). */
function latencyHistogram(tally: DeliveryTally) {
  const name = 'parley_delivery_latency_seconds';
  return {
    name,
    help: 'Time from a message being stored to its event being written to a subscriber socket (graphql-ws).',
    type: 'histogram',
    aggregator: 'sum',
    get() {
      let cumulative = 0;
      const buckets = [...LATENCY_BUCKETS_MS, Infinity].map((bound, index) => {
        cumulative += tally.latencyBuckets[index]!;
        return { metricName: `${name}_bucket`, labels: { le: bound === Infinity ? '+Inf' : bound / 1000 }, value: cumulative };
      });
      return {
        name,
        help: this.help,
        type: 'histogram',
        aggregator: 'sum',
        values: [
          ...buckets,
          { metricName: `${name}_sum`, labels: {}, value: tally.latencySumMs / 1000 },
          { metricName: `${name}_count`, labels: {}, value: tally.latencyCount },
        ],
      };
    },
    reset() {},
  };
}

/** Whether the Authorization header carries the metrics token (compared in constant time). */
export function hasMetricsToken(header: string | undefined, token: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(header ?? ''), digest(`Bearer ${token}`));
}
