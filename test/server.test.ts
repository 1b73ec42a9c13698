import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { graphql } from './generated/gql.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createUser } from './support/users.js';
import { connectSocket } from './support/ws.js';

const ServerMe = graphql(`
  query ServerMe {
    me {
      id
      username
    }
  }
`);

const ServerLogIn = graphql(`
  mutation ServerLogIn($input: LogInInput!) {
    logIn(input: $input) {
      token
    }
  }
`);

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } };
}

describe('HTTP server', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer({ env: { MAX_BODY_BYTES: '2000', MAX_QUERY_DEPTH: '4', MAX_ALIASES: '3' } });
  });
  after(() => api.close());

  it('answers /health and /ready', async () => {
    const origin = new URL(api.url).origin;
    const health = await fetch(`${origin}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ready = await fetch(`${origin}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', database: 'ok', pubsub: 'ok' });
    const unknown = await fetch(`${origin}/nope`);
    assert.equal(unknown.status, 404);
  });

  it('serves GraphiQL to browsers, with subscriptions over graphql-ws', async () => {
    const response = await fetch(api.url, { headers: { accept: 'text/html' } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    const html = await response.text();
    assert.match(html, /graphiql/i);
    assert.match(html, /"subscriptionsProtocol":"WS"/);
  });

  it('answers GET queries', async () => {
    const response = await fetch(`${api.url}?query=${encodeURIComponent('{ me { id } }')}`, { headers: { accept: 'application/json' } });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { data: { me: null } });
  });

  it('refuses a body over the limit with 413 PAYLOAD_TOO_LARGE', async () => {
    const big = JSON.stringify({ query: `{ me { id } } # ${'x'.repeat(3000)}` });
    const result = await post(api.url, big);
    assert.equal(result.status, 413);
    assert.equal(result.body.errors?.[0]?.extensions?.code, 'PAYLOAD_TOO_LARGE');
    // The server is still fine afterwards.
    assert.deepEqual((await post(api.url, JSON.stringify({ query: '{ me { id } }' }))).body, { data: { me: null } });
  });

  it('turns every malformed request into a client error, never a 500', async () => {
    const cases: [string, string][] = [
      ['bad JSON', '{bad'],
      ['no query', '{}'],
      ['syntax error', JSON.stringify({ query: '{ me { ' })],
      ['unknown field', JSON.stringify({ query: '{ me { nope } }' })],
      ['unknown operation name', JSON.stringify({ query: 'query A { me { id } }', operationName: 'B' })],
      ['invalid variables', JSON.stringify({ query: 'query ($id: ID!) { user(id: $id) { id } }', variables: { id: { not: 'an id' } } })],
      ['missing variable', JSON.stringify({ query: 'query ($id: ID!) { user(id: $id) { id } }' })],
      ['too many aliases', JSON.stringify({ query: '{ a: me { id } b: me { id } c: me { id } d: me { id } e: me { id } }' })],
    ];
    for (const [label, body] of cases) {
      const result = await post(api.url, body);
      assert.ok(result.status < 500, `${label}: status ${result.status}`);
      if (result.body.errors) {
        const code = result.body.errors[0]?.extensions?.code;
        assert.equal(code, 'BAD_USER_INPUT', `${label}: ${JSON.stringify(result.body.errors)}`);
      }
    }
  });

  it('limits query depth and aliases', async () => {
    const deep = await post(
      api.url,
      JSON.stringify({ query: '{ users(first: 1) { edges { node { presence { status } } } } }' }),
    );
    assert.equal(deep.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.match(deep.body.errors?.[0]?.message ?? '', /depth/i);
    const aliases = await post(api.url, JSON.stringify({ query: '{ a: me { id } b: me { id } c: me { id } d: me { id } }' }));
    assert.equal(aliases.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.match(aliases.body.errors?.[0]?.message ?? '', /alias/i);
  });

  it('refuses a malformed Authorization header', async () => {
    const result = await post(api.url, JSON.stringify({ query: '{ me { id } }' }), { authorization: 'Basic abc' });
    assert.equal(result.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  });
});

describe('internal errors', () => {
  it('are masked for clients, and /ready reports the database down', async () => {
    const api = await startTestServer();
    try {
      const user = await createUser(api, 'masked');
      await api.server.app.db.close();
      const result = await api.request(ServerMe, {}, user.token);
      assert.equal(result.errors?.length, 1);
      assert.equal(result.errors?.[0]?.extensions?.code, 'INTERNAL_SERVER_ERROR');
      assert.equal(result.errors?.[0]?.message, 'Unexpected error.');
      assert.doesNotMatch(JSON.stringify(result.errors), /pglite|prisma|pool|stack/i);
      const ready = await fetch(new URL('/ready', api.url));
      assert.equal(ready.status, 503);
      assert.equal(((await ready.json()) as { database: string }).database, 'unavailable');
    } finally {
      await api.close();
    }
  });
});

describe('token expiry', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer({ env: { TOKEN_TTL: '2s' } });
  });
  after(() => api.close());

  it('refuses an expired token over HTTP', async () => {
    const user = await createUser(api, 'expiring');
    assert.equal((await api.ok(ServerMe, {}, user.token)).me?.id, user.id);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const result = await api.request(ServerMe, {}, user.token);
    assert.equal(result.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.match(result.errors?.[0]?.message ?? '', /expired/);
    const fresh = await api.ok(ServerLogIn, { input: { username: user.username, password: 'correct horse battery' } });
    assert.equal((await api.ok(ServerMe, {}, fresh.logIn.token)).me?.id, user.id);
  });

  it('closes a socket when its token expires, and refuses expired tokens at connect', async () => {
    const user = await createUser(api, 'wsexpiring');
    const socket = await connectSocket(api.wsUrl, user.token);
    const closed = await socket.closed;
    assert.equal(closed.code, 4403);
    assert.match(closed.reason, /expired/i);
    await socket.dispose();
    await assert.rejects(connectSocket(api.wsUrl, user.token), /4403/);
    await assert.rejects(connectSocket(api.wsUrl, 'garbage'), /4403/);
  });
});

describe('restarts and shutdown', () => {
  it('keeps data across a restart with the same DATA_DIR', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-restart-'));
    try {
      const first = await startTestServer({ dataDir });
      const user = await createUser(first, 'persistent');
      await first.close();
      const second = await startTestServer({ dataDir });
      try {
        const loggedIn = await second.ok(ServerLogIn, { input: { username: user.username, password: 'correct horse battery' } });
        assert.equal((await second.ok(ServerMe, {}, loggedIn.logIn.token)).me?.id, user.id);
        // The token issued before the restart is still good: same secret.
        assert.equal((await second.ok(ServerMe, {}, user.token)).me?.id, user.id);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('closes sockets with 1001 and stops listening on close', async () => {
    const api = await startTestServer();
    const user = await createUser(api, 'shutdown');
    const socket = await connectSocket(api.wsUrl, user.token);
    await api.close();
    assert.equal((await socket.closed).code, 1001);
    await socket.dispose();
    await assert.rejects(fetch(api.url));
  });
});
