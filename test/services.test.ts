import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { usingPostgres, usingRedis } from './support/database.js';
import { startTestServer, type TestServer } from './support/server.js';

// CI sets PARLEY_REQUIRE_SERVICES with TEST_DATABASE_URL and TEST_REDIS_URL: this proves the suites ran on them.
describe('test services', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  it('uses PostgreSQL and Redis when CI asks for them', async (t) => {
    if (!process.env.PARLEY_REQUIRE_SERVICES) {
      t.diagnostic('embedded run: PGlite and in-process pub/sub');
      return;
    }
    assert.ok(usingPostgres, 'TEST_DATABASE_URL is set');
    assert.ok(usingRedis, 'TEST_REDIS_URL is set');
    assert.ok(api.server.app.config.redisUrl, 'the server was given Redis');
    const [row] = await api.server.app.prisma.$queryRaw<{ version: string }[]>`SELECT version()`;
    assert.match(row?.version ?? '', /PostgreSQL/);
    assert.doesNotMatch(row?.version ?? '', /wasm|emscripten/i, 'a real server, not PGlite');
    const ready = await fetch(new URL('/ready', api.url));
    assert.deepEqual(await ready.json(), { status: 'ready', database: 'ok', pubsub: 'ok' });
  });
});
