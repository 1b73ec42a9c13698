import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pgliteDirectory } from '../src/db/client.js';
import { openPGlite } from '../src/db/pglite.js';
import { compiledServer, startChild, type ServerChild } from './processes.js';

/** The Parley servers the benchmarks start: embedded (PGlite), or on PostgreSQL + Redis. */

export const databaseAdminUrl = process.env.BENCH_DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
export const redisUrl = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';

/**
 * Starts the compiled server (`dist/main.js`; the benchmark builds it first) in a child process on a fresh data folder, and for `postgres` a fresh database
 * and Redis prefix (extraEnv comes on top); cleanup() removes them (after the child has stopped).
 */
export async function startParleyChild(
  backend: 'embedded' | 'postgres',
  nodeArgs: string[] = [],
  extraEnv: Record<string, string> = {},
): Promise<{
  server: ServerChild;
  cleanup: () => Promise<void>;
  /** The child's DATA_DIR, and its DATABASE_URL on PostgreSQL. */
  dataDir: string;
  databaseUrl: string | null;
  /** Stops the child, runs between (the database is then the caller's alone), and starts it again on the same data. */
  restart: (between: () => Promise<void>) => Promise<ServerChild>;
  /** Runs SQL on the child's database (bulk setup); on PGlite, which is the server's alone, between a stop and a start. Returns the running server. */
  runSql: (statements: readonly string[]) => Promise<ServerChild>;
}> {
  const scratch = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: scratch,
    JWT_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'info',
    ...extraEnv,
  };
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(scratch, { recursive: true, force: true })];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch((error: unknown) => process.stderr.write(`cleanup failed: ${String(error)}\n`));
  };
  try {
    if (backend === 'postgres') {
      const name = `parley_bench_${randomBytes(6).toString('hex')}`;
      await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
      cleanups.push(async () => {
        await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      });
      const url = new URL(databaseAdminUrl);
      url.pathname = `/${name}`;
      const prefix = `parley-bench-${randomBytes(6).toString('hex')}:`;
      cleanups.push(() => deleteRedisKeys(prefix));
      Object.assign(env, { DATABASE_URL: url.toString(), REDIS_URL: redisUrl, REDIS_PREFIX: prefix });
    }
    // One folder per server: V8 writes a profile per thread (main thread: the largest, `*.0.001.cpuprofile`).
    const start = () =>
      startChild(compiledServer.script, { ...compiledServer.env, ...env }, { marker: 'GraphiQL', label: backend, nodeArgs: [...compiledServer.nodeArgs, ...nodeArgs] });
    let server = await start();
    const restart = async (between: () => Promise<void>) => {
      await server.stop();
      await between();
      server = await start();
      return server;
    };
    const databaseUrl = env.DATABASE_URL ?? null;
    const runSql = async (statements: readonly string[]) => {
      if (!databaseUrl) {
        return restart(async () => {
          const pglite = await openPGlite(pgliteDirectory(scratch));
          try {
            for (const statement of statements) await pglite.exec(statement);
          } finally {
            await pglite.close();
          }
        });
      }
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        for (const statement of statements) await client.query(statement);
      } finally {
        await client.end();
      }
      return server;
    };
    return { server, cleanup, dataDir: scratch, databaseUrl, restart, runSql };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Runs work with a client of the PostgreSQL admin URL (creating and dropping benchmark databases). */
export async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseAdminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Deletes every Redis key under prefix (a benchmark run's). */
async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    let rounds = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0' && ++rounds < 10_000);
  } finally {
    redis.disconnect();
  }
}

export async function checkBackendReachable(backend: string): Promise<string | null> {
  if (backend !== 'postgres+redis') return null;
  try {
    await withAdmin((client) => client.query('SELECT 1'));
  } catch (error) {
    return `PostgreSQL at ${databaseAdminUrl} unreachable: ${(error as Error).message}`;
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    return `Redis at ${redisUrl} unreachable: ${(error as Error).message}`;
  } finally {
    redis.disconnect();
  }
  return null;
}
