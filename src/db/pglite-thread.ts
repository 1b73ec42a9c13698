// The worker thread of pglite-worker.ts: owns PGlite and pglite-prisma-adapter, and runs each call
// the main thread forwards on the adapter or transaction it names. Calls start in arrival order, so
// PGlite's own queue orders them as it would on the main thread: a statement outside an open
// transaction waits for that transaction to end.
import { parentPort, workerData } from 'node:worker_threads';
import type { SqlDriverAdapter, Transaction } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { createPGliteDirectory, openPGlite } from './pglite.js';
import { serializeError, type Opened, type Ready, type Reply, type Request, type Started } from './pglite-worker.js';
import { parseUtcTimestamp, TIMESTAMP_OID } from './utc-timestamps.js';

const port = parentPort!;
const { dir } = workerData as { dir: string | null };
const created = dir ? await createPGliteDirectory(dir) : [];
const pglite = await openPGlite(dir);
const factory = new PrismaPGlite(pglite);
const adapters = new Map<number, SqlDriverAdapter>();
const transactions = new Map<number, Transaction>();
const queryOptions = { parsers: { [TIMESTAMP_OID]: parseUtcTimestamp } };
let nextId = 0;

function opened(adapter: SqlDriverAdapter): Opened {
  const id = nextId++;
  adapters.set(id, adapter);
  return { id, info: adapter.getConnectionInfo?.() };
}

function queryable(target: number): SqlDriverAdapter | Transaction {
  const found = adapters.get(target) ?? transactions.get(target);
  if (!found) throw new Error(`No open connection or transaction ${target} in PGlite's worker`);
  return found;
}

async function perform(request: Request): Promise<unknown> {
  switch (request.op) {
    case 'connect':
      return opened(await factory.connect());
    case 'connectToShadowDb':
      return opened(await factory.connectToShadowDb());
    case 'queryRaw':
      return queryable(request.target).queryRaw(request.query);
    case 'executeRaw':
      return queryable(request.target).executeRaw(request.query);
    case 'executeScript':
      return (queryable(request.target) as SqlDriverAdapter).executeScript(request.script);
    case 'startTransaction': {
      const transaction = await (queryable(request.target) as SqlDriverAdapter).startTransaction(request.isolationLevel);
      const id = nextId++;
      transactions.set(id, transaction);
      return { id, options: transaction.options } satisfies Started;
    }
    case 'commit':
    case 'rollback': {
      const transaction = transactions.get(request.target);
      transactions.delete(request.target);
      if (!transaction) throw new Error(`No open transaction ${request.target} in PGlite's worker`);
      return request.op === 'commit' ? transaction.commit() : transaction.rollback();
    }
    case 'dispose': {
      const adapter = adapters.get(request.target);
      adapters.delete(request.target);
      return adapter?.dispose();
    }
    case 'query':
      return (await pglite.query(request.text, request.values, queryOptions)).rows;
    case 'close':
      return pglite.close();
  }
}

port.on('message', ({ id, request }: { id: number; request: Request }) => {
  perform(request).then(
    (result) => {
      try {
        port.postMessage({ id, result } satisfies Reply);
      } catch (error) {
        port.postMessage({ id, error: serializeError(error) } satisfies Reply);
      }
    },
    (error: unknown) => port.postMessage({ id, error: serializeError(error) } satisfies Reply),
  );
});
port.postMessage({ ready: created } satisfies Ready);
