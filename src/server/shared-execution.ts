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
import type { EventStream } from '../realtime/streams.js';
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
    // Each subscriber parses its own copy of the document: the text identifies it. Built once per
    // subscription, so each event's lookup hashes a string V8 has hashed before.
    const documentText = args.document.loc?.source.body ?? print(args.document);
    const key = `${documentText}\u0000${viewer}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}`;
    // Every Subscription field's stream is built in realtime/streams.ts.
    if (!isEventStream(source)) throw new Error('A subscription field returned a stream without nextBatch (see realtime/streams.ts).');
    const endWith = (error: unknown): Error => {
      logInternalErrors((args.contextValue as Context).log, [error]);
      const masked = options.maskError(error);
      options.ended(String((masked as GraphQLError).extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
      return masked;
    };
    const serialized = mapBatches(source, (event) => executeOnce(event, key, () => executeEvent(args, event)), endWith);
    return writeFrames(serialized, sink, options.deliveries);
  };
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

/**
 * Maps a source stream's batches to their payloads, in order, reading ahead of the consumer while
 * events flow: each batch that arrives starts the read of one more, up to EXECUTE_AHEAD, so an idle
 * stream waits with one read pending (its memory is per socket, times thousands). A batch whose
 * payloads are all ready (the usual case for all but the first subscriber of an event) maps without
 * a wait. return() reaches the source at once.
 */
function mapBatches(
  source: EventStream<unknown>,
  map: (event: unknown) => Payload | Promise<Payload>,
  endWith: (error: unknown) => Error,
): AsyncIterator<Payload[], undefined> {
  type Step = IteratorResult<Payload[], undefined>;
  const ahead: Promise<Step>[] = [];
  let ended = false;
  const pull = (): Promise<Step> => {
    const step = source.nextBatch().then(
      (batch): Step | Promise<Step> => {
        if (batch.done) {
          ended = true;
          return { done: true, value: undefined };
        }
        if (!ended && ahead.length < EXECUTE_AHEAD) ahead.push(pull());
        const payloads = batch.value.map(map);
        return payloads.every((payload) => !(payload instanceof Promise))
          ? { done: false, value: payloads as Payload[] }
          : Promise.all(payloads).then((ready) => ({ done: false, value: ready }));
      },
      async (error: unknown): Promise<Step> => {
        ended = true;
        await source.return?.();
        throw endWith(error instanceof GraphQLError ? error : new GraphQLError(String(error), { originalError: error as Error }));
      },
    );
    // Steps pulled ahead may never be asked for (the consumer stopped at an earlier error).
    step.catch(() => {});
    return step;
  };
  return {
    next: () => {
      if (!ended && ahead.length === 0) ahead.push(pull());
      return ahead.shift() ?? Promise.resolve({ done: true, value: undefined });
    },
    return: async () => {
      ended = true;
      ahead.length = 0;
      await source.return?.();
      return { done: true, value: undefined };
    },
  };
}

/**
 * Writes each serialized payload in a graphql-ws `next` frame of the subscription, so that graphql-ws
 * does not serialize the same result again for every subscriber. graphql-ws still drives the
 * operation: the iterator it gets yields nothing and ends as the stream does (done, or with the
 * stream's error), which graphql-ws answers with `complete` or `error` after the frames written here;
 * its return() (the client completed, or the socket closed) stops the stream.
 */
function writeFrames(
  batches: AsyncIterator<Payload[], undefined>,
  sink: FrameSink,
  deliveries: DeliveryTally,
): AsyncIterableIterator<ExecutionResult> {
  const prefix = `{"id":${JSON.stringify(sink.id)},"type":"next","payload":`;
  let stopped = false;
  const ended = (async (): Promise<IteratorResult<ExecutionResult, undefined>> => {
    for (let step = await batches.next(); !step.done && !stopped; step = await batches.next()) {
      const now = Date.now();
      for (const payload of step.value) {
        // Only a full socket makes the subscription wait (see ws-transport.ts).
        const full = sink.send(`${prefix}${payload.text}}`);
        deliveries.count(now, payload.sentAtMs);
        if (full) await full;
        if (stopped) break;
      }
    }
    return { done: true, value: undefined };
  })();
  // graphql-ws never asks for a subscription the client completed while it was being set up.
  ended.catch(() => {});
  const stop = async () => {
    stopped = true;
    await batches.return?.();
  };
  return {
    next: () => ended,
    return: async () => {
      await stop();
      return { done: true, value: undefined };
    },
    throw: async (error) => {
      await stop();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
