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

/**
 * Subscriptions with shared execution. Many subscribers of one room receive the same event object
 * from the bus; executing their selection once per (event, document, variables) and handing every
 * subscriber the same result keeps fan-out cost close to serialization alone. A document that selects
 * a viewer-dependent field (marked `extensions: { viewerDependent: true }` in the schema) is shared
 * only among subscriptions of the same viewer.
 */
export function createSharedSubscribe(options: { maskError: (error: unknown) => Error }) {
  const results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();
  const viewerDependence = new WeakMap<DocumentNode, boolean>();

  const executeOnce = (event: unknown, key: string, run: () => Promise<ExecutionResult> | ExecutionResult) => {
    if (typeof event !== 'object' || event === null) return Promise.resolve(run());
    let byKey = results.get(event);
    if (!byKey) results.set(event, (byKey = new Map()));
    let result = byKey.get(key);
    if (!result) byKey.set(key, (result = Promise.resolve(run())));
    return result;
  };

  // graphql-js's execute runs a subscription operation's resolvers on one event, as its subscribe
  // does (yoga's executor would start a new subscription instead); errors are masked here.
  const executeEvent = async (args: ExecutionArgs, event: unknown): Promise<ExecutionResult> => {
    const result = await execute({ ...args, contextValue: withFreshLoaders(args.contextValue as Context), rootValue: event });
    return result.errors ? { ...result, errors: result.errors.map((error) => options.maskError(error) as GraphQLError) } : result;
  };

  return async (args: ExecutionArgs): Promise<ExecutionResult | AsyncIterableIterator<ExecutionResult>> => {
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
    return mapEvents(source, (event) => executeOnce(event, key, () => executeEvent(args, event)), options.maskError);
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

/**
 * How many events of one subscription may be executing at once. graphql-ws asks for the next result
 * only once the previous one is written, so executing on demand would cap a subscription at one
 * database round trip per event; executing ahead keeps a busy room's stream moving.
 */
const EXECUTE_AHEAD = 16;

/**
 * Maps a source stream, executing up to EXECUTE_AHEAD events ahead of the consumer, in order.
 * return() reaches the source at once (an async generator's would wait for the next event).
 */
function mapEvents(
  source: AsyncIterator<unknown>,
  map: (event: unknown) => Promise<ExecutionResult>,
  maskError: (error: unknown) => Error,
): AsyncIterableIterator<ExecutionResult> {
  type Step = IteratorResult<ExecutionResult, undefined>;
  const ahead: Promise<Step>[] = [];
  let ended = false;
  const pull = (): Promise<Step> => {
    const step = source.next().then(
      async (event): Promise<Step> => {
        if (event.done) {
          ended = true;
          return { done: true, value: undefined };
        }
        return { done: false, value: await map(event.value) };
      },
      async (error: unknown): Promise<Step> => {
        ended = true;
        await source.return?.();
        throw maskError(error instanceof GraphQLError ? error : new GraphQLError(String(error), { originalError: error as Error }));
      },
    );
    // Steps pulled ahead may never be asked for (the consumer stopped at an earlier error).
    step.catch(() => {});
    return step;
  };
  return {
    next: () => {
      while (!ended && ahead.length < EXECUTE_AHEAD) ahead.push(pull());
      return ahead.shift() ?? Promise.resolve({ done: true, value: undefined });
    },
    return: async () => {
      ended = true;
      ahead.length = 0;
      await source.return?.();
      return { done: true, value: undefined };
    },
    throw: async (error) => {
      ended = true;
      ahead.length = 0;
      await source.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
