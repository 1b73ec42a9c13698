import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DatabaseLocation } from '../../src/db/client.js';

/** A database for one test server: in-memory PGlite, or a fresh PostgreSQL database when TEST_DATABASE_URL is set. */
export interface TestDatabase {
  location: DatabaseLocation;
  drop(): Promise<void>;
}

export const usingPostgres = Boolean(process.env.TEST_DATABASE_URL);
export const usingRedis = Boolean(process.env.TEST_REDIS_URL);
/** The `skip` option of suites that run several instances, which share state only through PostgreSQL and Redis. */
export const unlessServicesShared = !(usingPostgres && usingRedis) && 'needs TEST_DATABASE_URL and TEST_REDIS_URL';

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) return { location: { kind: 'pglite', dir: null }, drop: async () => {} };
  const name = `parley_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    location: { kind: 'postgres', url: url.toString() },
    drop: () => withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}

async function withAdmin<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
