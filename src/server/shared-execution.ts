import { createHash } from 'node:crypto';
import {
  createSourceEventStream,
  execute,
  GraphQLError,
  print,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { withFreshLoaders, type Context } from '../context.js';
import type { EventStream } from '../realtime/source-stream.js';
import { logInternalErrors } from './errors.js';
import type { DeliveryTally } from './metrics.js';

/** Where a subscription's `next` frames go: its graphql-ws operation id, and its socket's send. */
export interface FrameSink {
  id: string;
  send(frame: string): Promise<void> | undefined;
}

/** One event's `next` payload for one (document, variables, viewer): shared by every subscriber it goes to. */
interface Payload {
  text: string;
  /** When the event's message was stored (NaN for other events), for the delivery latency. */
  sentAtMs: number;
}

export interface SharedSubscribeOptions {
  maskError: (error: unknown) => Error;
  /** Counts each frame written (and its latency). */
  deliveries: DeliveryTally;
  /** When an event's message was stored; NaN for events that are not a new message. */
  sentAt: (event: unknown) => number;
  /** A subscription's stream ended with an error of this code. */
  ended: (code: string) => void;
}

/**
 * Subscriptions with shared execution. Many subscribers of one room receive the same event object
 * from the bus; executing their selection once per (event, document, variables), serializing the
 * result once, and writing that same text in every subscriber's frame keeps fan-out cost close to
 * the socket writes alone. A document that selects a viewer-dependent field (marked
 * `extensions: { viewerDependent: true }` in the schema) is shared only among subscriptions of the same viewer.
 */
export function createSharedSubscribe(options: SharedSubscribeOptions) {
  /** event → subscription key → the serialized `next` payload: once ready, or its promise until then. */
  const payloads = new WeakMap<object, Map<string, Payload | Promise<Payload>>>();
  const viewerDependence = new WeakMap<DocumentNode, boolean>();

  const executeOnce = (event: unknown, key: string, run: () => Promise<string>): Payload | Promise<Payload> => {
    const execute = () => run().then((text): Payload => ({ text, sentAtMs: options.sentAt(event) }));
    if (typeof event !== 'object' || event === null) return execute();
    let byKey = payloads.get(event);
    if (!byKey) payloads.set(event, (byKey = new Map()));
    let payload = byKey.get(key);
    if (payload === undefined) {
      const running = execute();
      byKey.set(key, (payload = running));
      // Subscribers reaching the event later take the payload as it is, without a wait.
      const ready = byKey;
      running.then((done) => ready.set(key, done), () => {});
    }
    return payload;
  };

  // graphql-js's execute runs a subscription operation's resolvers on one event, as its subscribe
  // does (yoga's executor would start a new subscription instead); errors are masked here. The text
  // is what graphql-ws would write as the payload (GraphQLError serializes through its toJSON).
  const executeEvent = async (args: ExecutionArgs, event: unknown): Promise<string> => {
    const context = args.contextValue as Context;
    const result = await execute({ ...args, contextValue: withFreshLoaders(context), rootValue: event });
    if (!result.errors) return JSON.stringify(result);
    logInternalErrors(context.log, result.errors);
    return JSON.stringify({ ...result, errors: result.errors.map((error) => options.maskError(error)) });
  };

  /** One object for all subscriptions: each keeps its args and key, not closures over them. */
  const execution: Execution = {
    payloadOf: (event, args, key) => executeOnce(event, key, () => executeEvent(args, event)),
    endWith: (error, args) => {
      logInternalErrors((args.contextValue as Context).log, [error]);
      const masked = options.maskError(error);
      options.ended(String((masked as GraphQLError).extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
      return masked;
    },
    deliveries: options.deliveries,
  };

  return async (args: ExecutionArgs, sink: FrameSink): Promise<ExecutionResult | AsyncIterableIterator<ExecutionResult>> => {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterator(source)) {
      const result = source as ExecutionResult;
      return { ...result, errors: result.errors?.map((error) => options.maskError(error) as GraphQLError) };
    }
    let dependsOnViewer = viewerDependence.get(args.document);
    if (dependsOnViewer === undefined) {
      dependsOnViewer = selectsViewerDependentField(args.schema, args.document);
      viewerDependence.set(args.document, dependsOnViewer);
    }
    const viewer = dependsOnViewer ? ((args.contextValue as Context).viewer?.id ?? '') : '';
    // Every Subscription field's stream is built in realtime/streams.ts.
    if (!isEventStream(source)) throw new Error('A subscription field returned a stream without nextBatch (see realtime/streams.ts).');
    return new FrameWriter(source, args, subscriptionKey(args, viewer), execution, sink);
  };
}

/** What a subscription's FrameWriter asks of the shared execution. */
interface Execution {
  /** The event's serialized payload for the subscription's (document, variables, viewer): shared, ready or running. */
  payloadOf(event: unknown, args: ExecutionArgs, key: string): Payload | Promise<Payload>;
  /** The error a subscription's stream ended with, logged, counted and masked for the client. */
  endWith(error: unknown, args: ExecutionArgs): Error;
  deliveries: DeliveryTally;
}

/**
 * Who shares an execution: the document's text, the viewer (when it matters), the operation and the
 * variables. Kept by the subscription for its life, so as a digest of fixed size (the text itself,
 * concatenated, held every part and the ropes between them), built once, so each event's lookup hashes
 * a string V8 has hashed before.
 */
function subscriptionKey(args: ExecutionArgs, viewer: string): string {
  const documentText = args.document.loc?.source.body ?? print(args.document);
  return createHash('sha256')
    .update(`${documentText}\u0000${viewer}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}`)
    .digest('base64');
}

function selectsViewerDependentField(schema: GraphQLSchema, document: DocumentNode): boolean {
  const typeInfo = new TypeInfo(schema);
  let found = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        if (typeInfo.getFieldDef()?.extensions?.viewerDependent) found = true;
      },
    }),
  );
  return found;
}

function isAsyncIterator<T>(value: T | AsyncIterable<unknown>): value is AsyncIterable<unknown> & AsyncIterator<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

const isEventStream = (source: AsyncIterator<unknown>): source is EventStream<unknown> => 'nextBatch' in source;

/**
 * How many batches of events of one subscription may be executing at once. Frames are written in order, each
 * after the previous one, so executing on demand would cap a subscription at one database round trip
 * per event (for selections the event does not carry); executing ahead keeps a busy room's stream moving.
 */
const EXECUTE_AHEAD = 16;

type Done = IteratorResult<ExecutionResult, undefined>;

/**
 * Reads a source stream's batches, maps each to its payloads and writes them in graphql-ws `next`
 * frames of the subscription, in order, so that graphql-ws does not serialize the same result again
 * for every subscriber. While events flow, each batch that arrives starts the read of one more, up to
 * EXECUTE_AHEAD batches executing ahead of the socket. Driven by callbacks, not an async loop: an idle
 * subscription holds its one pending read and nothing else (its memory is per socket, times thousands).
 * A batch whose payloads are all ready (the usual case for all but the first subscriber of an event)
 * is written without a wait.
 *
 * graphql-ws still drives the operation: as its iterator, the writer yields nothing and ends as
 * the stream does (done, or with the stream's error), which graphql-ws answers with `complete` or
 * `error` after the frames written here; its return() (the client completed, or the socket closed)
 * stops the stream at once.
 */
class FrameWriter implements AsyncIterableIterator<ExecutionResult> {
  /** Mapped batches not written yet, in order: ready, or their payloads' promise. */
  private readonly ahead: (Payload[] | Promise<Payload[]>)[] = [];
  private reading = false;
  private writing = false;
  private stopped = false;
  /** Set once the source has nothing more: done (null) or its error. */
  private sourceEnd: { error: unknown } | null = null;
  /** The end of the subscription, once known (null: done); what graphql-ws's read settles with. */
  private endedWith: { error: unknown } | null = null;
  /** graphql-ws's read, made at its first next(): unasked, an ending error is nobody's unhandled rejection. */
  private resolveEnded: ((step: Done) => void) | null = null;
  private rejectEnded: ((error: unknown) => void) | null = null;
  private readonly prefix: string;
  private readonly onBatch = (step: IteratorResult<unknown[], undefined>) => this.arrived(step);
  private readonly onError = (error: unknown) => this.failed(error);

  constructor(
    private readonly source: EventStream<unknown>,
    private readonly args: ExecutionArgs,
    private readonly key: string,
    private readonly execution: Execution,
    private readonly sink: FrameSink,
  ) {
    this.prefix = `{"id":${JSON.stringify(sink.id)},"type":"next","payload":`;
    this.read();
  }

  /** graphql-ws's one read: it settles when the subscription ends (the frames are written here meanwhile). */
  next(): Promise<Done> {
    const ended = this.endedWith;
    if (ended) return ended.error === null ? Promise.resolve({ done: true, value: undefined }) : Promise.reject(ended.error);
    return new Promise<Done>((resolve, reject) => {
      this.resolveEnded = resolve;
      this.rejectEnded = reject;
    });
  }

  async return(): Promise<Done> {
    await this.stop();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<Done> {
    await this.stop();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish(error: unknown): void {
    if (this.endedWith) return;
    this.endedWith = { error };
    if (error === null) this.resolveEnded?.({ done: true, value: undefined });
    else this.rejectEnded?.(error);
    this.resolveEnded = this.rejectEnded = null;
  }

  private read(): void {
    if (this.reading || this.stopped || this.sourceEnd || this.ahead.length >= EXECUTE_AHEAD) return;
    this.reading = true;
    this.source.nextBatch().then(this.onBatch, this.onError);
  }

  private arrived(step: IteratorResult<unknown[], undefined>): void {
    this.reading = false;
    if (this.stopped) return;
    if (step.done) {
      this.sourceEnd = { error: null };
    } else {
      const payloads = step.value.map((event) => this.execution.payloadOf(event, this.args, this.key));
      if (payloads.every((payload) => !(payload instanceof Promise))) {
        this.ahead.push(payloads as Payload[]);
      } else {
        const ready = Promise.all(payloads);
        // Batches executed ahead may never be written (the subscription stopped at an earlier error).
        ready.catch(() => {});
        this.ahead.push(ready);
      }
      this.read();
    }
    void this.write();
  }

  private failed(error: unknown): void {
    this.reading = false;
    if (this.stopped) return;
    const graphqlError = error instanceof GraphQLError ? error : new GraphQLError(String(error), { originalError: error as Error });
    this.sourceEnd = { error: this.execution.endWith(graphqlError, this.args) };
    void this.source.return?.();
    void this.write();
  }

  /** Writes what is ahead, in order; only a full socket makes it wait (see ws-transport.ts). Ends the subscription after the last batch. */
  private async write(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.ahead.length > 0 && !this.stopped) {
        const next = this.ahead[0]!;
        const payloads = Array.isArray(next) ? next : await next;
        this.ahead.shift();
        this.read();
        const now = Date.now();
        for (const payload of payloads) {
          const full = this.sink.send(`${this.prefix}${payload.text}}`);
          this.execution.deliveries.count(now, payload.sentAtMs);
          if (full) await full;
          if (this.stopped) break;
        }
      }
    } catch (error) {
      await this.stop();
      this.finish(error);
      return;
    } finally {
      this.writing = false;
    }
    if (this.stopped) this.finish(null);
    else if (this.sourceEnd) this.finish(this.sourceEnd.error);
  }

  private async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.ahead.length = 0;
    if (!this.writing) this.finish(null);
    await this.source.return?.();
  }
}
