// Embedded PGlite on a worker thread: its WebAssembly PostgreSQL runs each statement synchronously,
// holding whichever thread runs it (spans of 24 ms median, up to 278 ms on a batched send, see
// docs/performance.md), so on the main thread every socket and timer waits behind it. The worker
// (pglite-thread.ts) runs pglite-prisma-adapter itself; this side is a Prisma driver adapter factory
// whose adapters and transactions forward each call to their twin there. Queries, results and
// errors are plain data at that interface (rows already parsed), so they cross by structured clone.
import { Worker } from 'node:worker_threads';
import {
  DriverAdapterError,
  isDriverAdapterError,
  type ConnectionInfo,
  type IsolationLevel,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQuery,
  type SqlResultSet,
  type Transaction,
  type TransactionOptions,
} from '@prisma/driver-adapter-utils';
import { runSiblingSource } from './sibling-module.js';

/** A call on the worker's adapter or transaction `target` (ids the worker handed out). */
export type Request =
  | { op: 'connect' | 'connectToShadowDb' | 'close' }
  | { op: 'queryRaw' | 'executeRaw'; target: number; query: SqlQuery }
  | { op: 'executeScript'; target: number; script: string }
  | { op: 'startTransaction'; target: number; isolationLevel?: IsolationLevel }
  | { op: 'commit' | 'rollback' | 'dispose'; target: number }
  | { op: 'query'; text: string; values: unknown[] };

/** An error as it crosses: the adapter's own (its PostgreSQL fields in cause), or any other with its own fields (code, detail…). */
export type SerializedError =
  | { driverAdapterError: DriverAdapterError['cause'] }
  | { name: string; message: string; stack?: string; fields: Record<string, unknown> };

/** The worker's first message: PGlite is open; the migrations applied when its data directory was created. */
export type Ready = { ready: string[] };
export type Reply = { id: number; result?: unknown; error?: SerializedError };
export type Opened = { id: number; info?: ConnectionInfo };
export type Started = { id: number; options: TransactionOptions };

export interface PGliteWorker {
  factory: SqlMigrationAwareDriverAdapterFactory;
  /** The migrations applied when the data directory was created (by a child process, see createPGliteDirectory). */
  created: string[];
  /**
   * Runs one statement on PGlite itself, past the adapter (Database.queryRows): its rows as objects,
   * `timestamp` columns read as UTC. In PGlite's queue like every other call.
   */
  query<Row>(text: string, values: unknown[]): Promise<Row[]>;
  /** Closes PGlite (flushing its data directory), then stops the thread. */
  close(): Promise<void>;
}

/** Opens PGlite in dir (in memory when null) on a new worker thread. */
export async function openPGliteWorker(dir: string | null): Promise<PGliteWorker> {
  const worker = new Worker(runSiblingSource(import.meta.url, 'pglite-thread'), { eval: true, workerData: { dir }, execArgv: [] });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let stopped: Error | undefined;
  let opened: { resolve: (created: string[]) => void; reject: (error: Error) => void } | undefined;
  const stop = (error: Error) => {
    stopped ??= error;
    opened?.reject(stopped);
    for (const call of pending.values()) call.reject(stopped);
    pending.clear();
  };
  worker.on('error', stop);
  worker.on('exit', (code) => stop(new Error(`PGlite's worker exited (${code})`)));
  worker.on('message', (reply: Reply | Ready) => {
    if ('ready' in reply) return opened?.resolve(reply.ready);
    const call = pending.get(reply.id);
    if (!call) return;
    pending.delete(reply.id);
    // An idle worker must not keep the process alive (PGlite on the main thread does not); a call in flight must.
    if (pending.size === 0) worker.unref();
    if (reply.error) call.reject(deserializeError(reply.error));
    else call.resolve(reply.result);
  });
  const created = await new Promise<string[]>((resolve, reject) => (opened = { resolve, reject }));
  opened = undefined;
  worker.unref();

  const call = <T>(request: Request): Promise<T> => {
    if (stopped) return Promise.reject(stopped);
    const id = nextId++;
    if (pending.size === 0) worker.ref();
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ id, request });
    });
  };

  const queryable = (target: number) => ({
    provider: 'postgres' as const,
    adapterName: 'pglite-prisma-adapter',
    queryRaw: (query: SqlQuery) => call<SqlResultSet>({ op: 'queryRaw', target, query }),
    executeRaw: (query: SqlQuery) => call<number>({ op: 'executeRaw', target, query }),
  });
  const adapter = ({ id, info }: Opened): SqlDriverAdapter => ({
    ...queryable(id),
    executeScript: (script) => call({ op: 'executeScript', target: id, script }),
    startTransaction: async (isolationLevel) => {
      const started = await call<Started>({ op: 'startTransaction', target: id, isolationLevel });
      return transaction(started);
    },
    ...(info && { getConnectionInfo: () => info }),
    dispose: () => call({ op: 'dispose', target: id }),
  });
  const transaction = ({ id, options }: Started): Transaction => ({
    ...queryable(id),
    options,
    commit: () => call({ op: 'commit', target: id }),
    rollback: () => call({ op: 'rollback', target: id }),
  });

  return {
    created,
    factory: {
      provider: 'postgres',
      adapterName: 'pglite-prisma-adapter',
      connect: async () => adapter(await call<Opened>({ op: 'connect' })),
      connectToShadowDb: async () => adapter(await call<Opened>({ op: 'connectToShadowDb' })),
    },
    query: (text, values) => call({ op: 'query', text, values }),
    close: async () => {
      if (!stopped) await call({ op: 'close' });
      stop(new Error('PGlite is closed'));
      await worker.terminate();
    },
  };
}

export function serializeError(error: unknown): SerializedError {
  // By name, as Prisma recognises it: the adapter may bring its own copy of the class.
  if (error instanceof Error && isDriverAdapterError(error)) return { driverAdapterError: error.cause };
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), fields: {} };
  const fields = Object.fromEntries(Object.entries(error).filter(([, value]) => value === null || typeof value !== 'object'));
  return { name: error.name, message: error.message, stack: error.stack, fields };
}

function deserializeError(error: SerializedError): Error {
  if ('driverAdapterError' in error) return new DriverAdapterError(error.driverAdapterError);
  return Object.assign(new Error(error.message), { name: error.name, stack: error.stack }, error.fields);
}
