import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { loadConfig } from '../../src/config.js';
import type { Hooks } from '../../src/hooks.js';
import type { Logger } from '../../src/logger.js';
import type { MessageChecker } from '../../src/messages/checker.js';
import { startServer, type ParleyServer } from '../../src/server/index.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface GraphQLErrorJson {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [key: string]: unknown };
}

export interface GraphQLResponse<Data> {
  status: number;
  /** The HTTP response's headers (Retry-After, say), when it came over HTTP. */
  headers?: Headers;
  data?: Data | null;
  errors?: GraphQLErrorJson[];
}

export interface TestServer {
  server: ParleyServer;
  url: string;
  wsUrl: string;
  /** Sends one operation over HTTP as a client would. */
  request<Data, Variables>(
    document: TypedDocumentNode<Data, Variables>,
    variables?: Variables,
    token?: string,
  ): Promise<GraphQLResponse<Data>>;
  /** Like request, but fails the test unless there are no errors; returns data. */
  ok<Data, Variables>(document: TypedDocumentNode<Data, Variables>, variables?: Variables, token?: string): Promise<Data>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Extra environment for loadConfig (e.g. TOKEN_TTL). */
  env?: Record<string, string>;
  /** Share a database with another test server (multi-instance tests); not dropped on close. */
  database?: TestDatabase;
  /** Use PGlite in this folder instead (restart tests). */
  dataDir?: string;
  /** Share a Redis key prefix with another test server. */
  redisPrefix?: string;
  /** Custom message formats (the default accepts any JSON object payload). */
  messageChecker?: MessageChecker;
  /** The embedding server's hooks. */
  hooks?: Hooks;
  /** Where the server logs (by default nowhere: LOG_LEVEL is TEST_LOG_LEVEL or silent). */
  logger?: Logger;
}

export const TEST_JWT_SECRET = 'parley-test-secret-that-is-long-enough-0123456789';

/** Starts the real server in-process on port 0 with a fresh database. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const scratch = mkdtempSync(join(tmpdir(), 'parley-test-'));
  const database = options.dataDir ? undefined : (options.database ?? (await createTestDatabase()));
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: options.dataDir ?? scratch,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...(process.env.TEST_REDIS_URL
      ? { REDIS_URL: process.env.TEST_REDIS_URL, REDIS_PREFIX: options.redisPrefix ?? uniqueRedisPrefix() }
      : {}),
    ...options.env,
  };
  const server = await startServer(loadConfig(env), {
    database: database?.location,
    messageChecker: options.messageChecker,
    hooks: options.hooks,
    logger: options.logger,
  });
  return {
    server,
    url: server.url,
    wsUrl: server.url.replace(/^http/, 'ws'),
    ...httpClient(server.url),
    close: async () => {
      await server.close();
      if (database && database !== options.database) await database.drop();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** Two test servers sharing one database and one Redis prefix, as behind a load balancer (meant for PostgreSQL + Redis). */
export async function startTwoInstances(options: Pick<TestServerOptions, 'env'> = {}): Promise<{ a: TestServer; b: TestServer; close(): Promise<void> }> {
  const database = await createTestDatabase();
  const redisPrefix = uniqueRedisPrefix();
  const a = await startTestServer({ ...options, database, redisPrefix });
  const b = await startTestServer({ ...options, database, redisPrefix });
  return {
    a,
    b,
    close: async () => {
      await a.close();
      await b.close();
      await database.drop();
    },
  };
}

/**
 * Two instances (startTwoInstances) for the enclosing describe: started before its tests, with the
 * options options() gives then, and closed after them. Read `a` and `b` inside the tests.
 */
export function useTwoInstances(options: () => Pick<TestServerOptions, 'env'> = () => ({})): { readonly a: TestServer; readonly b: TestServer } {
  let instances: Awaited<ReturnType<typeof startTwoInstances>> | undefined;
  before(async () => {
    instances = await startTwoInstances(options());
  });
  after(() => instances?.close());
  const started = () => instances ?? assert.fail('the instances start before the tests');
  return {
    get a() {
      return started().a;
    },
    get b() {
      return started().b;
    },
  };
}

/** Speaks GraphQL over HTTP to url as a client would. */
export function httpClient(url: string): Pick<TestServer, 'request' | 'ok'> {
  const request: TestServer['request'] = async (document, variables, token) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query: print(document), variables: variables ?? {} }),
    });
    const body = (await response.json()) as { data?: never; errors?: GraphQLErrorJson[] };
    return { status: response.status, headers: response.headers, data: body.data, errors: body.errors };
  };
  return {
    request,
    ok: async (document, variables, token) => {
      const result = await request(document, variables, token);
      if (result.errors?.length || !result.data) {
        throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      }
      return result.data;
    },
  };
}

export const uniqueRedisPrefix = () => `parley-test-${randomBytes(6).toString('hex')}:`;

/** A unique username for this run. */
export const uniqueName = (base = 'user') => `${base}_${randomBytes(4).toString('hex')}`;
