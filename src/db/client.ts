import { join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import type {
  SqlDriverAdapterFactory,
  SqlMigrationAwareDriverAdapterFactory,
  SqlQuery,
  SqlQueryable,
} from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { applyMigrations } from './migrations.js';
import { openPGliteWorker } from './pglite-worker.js';
import { parseUtcTimestamp, TIMESTAMP_OID } from './utc-timestamps.js';

export type { PrismaClient };

/** Where the data lives: a PostgreSQL server, or embedded PGlite on disk or in memory. */
export type DatabaseLocation =
  | { kind: 'postgres'; url: string }
  | { kind: 'pglite'; dir: string | null };

/**
 * One statement whose text never changes, with its parameters. On PostgreSQL it is prepared once per
 * connection under `name`, so its plan is kept instead of being made again at every run.
 */
export interface NamedStatement {
  name: string;
  text: string;
  values: unknown[];
}

export interface Database {
  prisma: PrismaClient;
  /**
   * Runs a statement of the hot path past Prisma's raw-query path (parameter serialization, row
   * mapping): on PostgreSQL straight on `pg`, prepared; on PGlite straight on PGlite, on its thread.
   * Rows as `$queryRaw` gives them: timestamps as Dates, jsonb parsed, int4 as numbers. Errors are the
   * driver's, with PostgreSQL's SQLSTATE in `code` (db/errors.ts).
   */
  queryRows<Row>(statement: NamedStatement): Promise<Row[]>;
  /** Applies pending migrations (what `prisma migrate deploy` does); returns their names. */
  migrate(): Promise<string[]>;
  /** Resolves when the database answers a query. */
  ping(): Promise<void>;
  /** Calls listener with every SQL statement Prisma sends until the returned function is called (tests count queries). */
  onQuery(listener: (sql: string) => void): () => void;
  close(): Promise<void>;
}

export function pgliteDirectory(dataDir: string): string {
  return join(dataDir, 'pglite');
}

export async function openDatabase(location: DatabaseLocation): Promise<Database> {
  let factory: SqlMigrationAwareDriverAdapterFactory;
  let closeDriver: () => Promise<void>;
  let migrate: () => Promise<string[]>;
  let queryRows: <Row>(statement: NamedStatement) => Promise<Row[]>;
  if (location.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: location.url, max: 10 });
    // An idle client whose connection drops (PostgreSQL restarted, or terminated the backend) is
    // discarded by the pool and replaced on the next query; unheard, its error would crash the process.
    pool.on('error', () => {});
    factory = new PrismaPg(pool);
    queryRows = async <Row>({ name, text, values }: NamedStatement) => {
      notifyListeners(text);
      const result = await pool.query<Row & pg.QueryResultRow>({ name, text, values, types: prismaTypes });
      return result.rows;
    };
    closeDriver = () => pool.end();
    // Migrations get a connection of their own, closed after: the schema engine takes a session-level
    // advisory lock and releases it with a later statement, which on a shared pool can land on another
    // connection, leaving the lock held (and every other instance's start waiting) while the first
    // connection stays busy.
    migrate = async () => {
      const migrationPool = new pg.Pool({ connectionString: location.url, max: 1 });
      migrationPool.on('error', () => {});
      try {
        return await applyMigrations(new PrismaPg(migrationPool));
      } finally {
        await migrationPool.end();
      }
    };
  } else {
    // On its own thread: PGlite's statements run synchronously and would hold the event loop.
    const pglite = await openPGliteWorker(location.dir);
    factory = pglite.factory;
    closeDriver = () => pglite.close();
    migrate = async () => [...pglite.created, ...(await applyMigrations(factory))];
    queryRows = async ({ text, values }) => {
      notifyListeners(text);
      return pglite.query(text, values);
    };
  }
  const listeners = new Set<(sql: string) => void>();
  const notifyListeners = (sql: string) => listeners.forEach((listener) => listener(sql));
  const prisma = new PrismaClient({ adapter: observeQueries(factory, notifyListeners) });
  let closing: Promise<void> | undefined;
  return {
    prisma,
    queryRows,
    migrate,
    ping: async () => {
      await prisma.$queryRaw`SELECT 1`;
    },
    onQuery: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () =>
      (closing ??= (async () => {
        await prisma.$disconnect();
        await closeDriver();
      })()),
  };
}

/** pg's parsers, but a `timestamp` read as UTC. */
const prismaTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === TIMESTAMP_OID && format !== 'binary' ? parseUtcTimestamp : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** A factory whose connections, and the transactions they start, report each statement to notify. */
function observeQueries(factory: SqlDriverAdapterFactory, notify: (sql: string) => void): SqlDriverAdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => observe(await factory.connect(), notify),
  };
}

// Observed at the driver adapter: Prisma's own query events do not fire with driver adapters.
function observe<Q extends SqlQueryable>(queryable: Q, notify: (sql: string) => void): Q {
  // Made once per method: Prisma looks the adapter's methods up at every statement.
  const methods = new Map<PropertyKey, unknown>();
  return new Proxy(queryable, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key);
      if (typeof value !== 'function') return value;
      let observed = methods.get(key);
      if (observed === undefined) {
        // Adapters keep state in private fields: their methods must run on the adapter itself.
        observed = observedMethod(key, value.bind(target) as (...args: unknown[]) => Promise<unknown>, notify);
        methods.set(key, observed);
      }
      return observed;
    },
  });
}

/** An adapter's method, bound to it, reporting the statements it runs (and those of the transactions it starts) to notify. */
function observedMethod(key: PropertyKey, method: (...args: unknown[]) => Promise<unknown>, notify: (sql: string) => void): unknown {
  if (key === 'queryRaw' || key === 'executeRaw') {
    return (query: SqlQuery) => {
      notify(query.sql);
      return method(query);
    };
  }
  if (key === 'startTransaction') {
    return async (...args: unknown[]) => observe((await method(...args)) as SqlQueryable, notify);
  }
  return method;
}
