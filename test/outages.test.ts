import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { isOutage } from '../src/server/outages.js';
import { graphql } from './generated/gql.js';
import { createRoomWith } from './support/chat.js';
import { startOwnPostgres, startOwnRedis, type OwnService } from './support/own-services.js';
import { startTestServer, uniqueRedisPrefix, type GraphQLErrorJson, type GraphQLResponse, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { connectSocket, subscribeReady, type SocketClient } from './support/ws.js';

/**
 * Dependency outages: this suite runs its own PostgreSQL and Redis (whatever TEST_DATABASE_URL and
 * TEST_REDIS_URL say), stops each mid-run and starts it again. A client must be told to retry
 * (UNAVAILABLE with retryAfter), never INTERNAL_SERVER_ERROR, and nothing acknowledged may be lost.
 */

const OutageSend = graphql(`
  mutation OutageSend($input: SendMessageInput!) {
    sendMessage(input: $input) {
      id
      seq
      body
      clientMessageId
    }
  }
`);

const OutageHistory = graphql(`
  query OutageHistory($roomId: ID!) {
    room(id: $roomId) {
      messages(last: 50) {
        edges {
          node {
            id
            seq
            body
            clientMessageId
          }
        }
      }
    }
  }
`);

const OutageTyping = graphql(`
  mutation OutageTyping($roomId: ID!) {
    setTyping(roomId: $roomId, typing: true)
  }
`);

const OutagePresence = graphql(`
  query OutagePresence {
    me {
      presence {
        status
      }
    }
  }
`);

const OutageLive = graphql(`
  subscription OutageLive($roomId: ID!) {
    messageAdded(roomId: $roomId) {
      seq
      body
    }
  }
`);

/** UNAVAILABLE with a whole number of seconds to wait, and no `http` extension in the error itself. */
function assertUnavailable(result: { errors?: GraphQLErrorJson[] | undefined }, label: string): number {
  const error = result.errors?.[0];
  assert.equal(error?.extensions?.code, 'UNAVAILABLE', `${label}: ${JSON.stringify(result)}`);
  const retryAfter = error.extensions.retryAfter as number;
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `${label}: retryAfter ${retryAfter}`);
  assert.equal(error.extensions.http, undefined, label);
  return retryAfter;
}

/** Over HTTP: 503 with Retry-After equal to extensions.retryAfter. */
function assertUnavailableOverHttp(answer: GraphQLResponse<unknown>, label: string): void {
  const retryAfter = assertUnavailable(answer, label);
  assert.equal(answer.status, 503, label);
  assert.equal(answer.headers?.get('retry-after'), String(retryAfter), label);
}

describe('dependency outages', () => {
  let postgres: OwnService | undefined;
  let redis: OwnService | undefined;
  let api: TestServer | undefined;
  let socket: SocketClient | undefined;
  let alice: TestUser;
  let roomId: string;
  /** Every message a send acknowledged, by clientMessageId. */
  const acknowledged = new Map<string, { id: string; seq: number; body: string | null }>();

  const server = () => api!;
  const readiness = async () => {
    const response = await fetch(server().url.replace(/\/graphql$/, '/ready'));
    return { status: response.status, body: (await response.json()) as { database: string; pubsub: string } };
  };
  /** Polls /ready until it answers 200: the server reconnects by itself. */
  const waitUntilReady = async () => {
    for (let attempt = 0; ; attempt++) {
      const { status, body } = await readiness();
      if (status === 200) return;
      if (attempt >= 150) throw new Error(`not ready again after 30 s: ${JSON.stringify(body)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const sendOverHttp = (body: string, clientMessageId: string) =>
    server().request(OutageSend, { input: { roomId, body, clientMessageId } }, alice.token);
  const sendOverSocket = (body: string, clientMessageId: string) =>
    socket!.execute(OutageSend, { input: { roomId, body, clientMessageId } });
  const remember = (result: { data?: { sendMessage: { id: string; seq: number; body?: string | null; clientMessageId?: string | null } } | null; errors?: unknown }) => {
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    const message = result.data!.sendMessage;
    const earlier = acknowledged.get(message.clientMessageId!);
    // A retry of an acknowledged send answers the same message.
    if (earlier) assert.deepEqual({ id: message.id, seq: message.seq }, { id: earlier.id, seq: earlier.seq });
    acknowledged.set(message.clientMessageId!, { id: message.id, seq: message.seq, body: message.body ?? null });
    return message;
  };
  /** The room's history holds every acknowledged message once, numbered 1..n without gaps. */
  const assertNothingLost = async () => {
    const history = await server().ok(OutageHistory, { roomId }, alice.token);
    const stored = history.room!.messages.edges.map(({ node }) => node);
    assert.deepEqual(
      stored.map((message) => message.seq),
      stored.map((_, i) => i + 1),
    );
    for (const [clientMessageId, message] of acknowledged) {
      const copies = stored.filter((candidate) => candidate.clientMessageId === clientMessageId);
      assert.deepEqual(copies, [{ ...message, clientMessageId }], `message ${clientMessageId}`);
    }
    assert.equal(stored.length, acknowledged.size);
  };

  before(async () => {
    postgres = await startOwnPostgres();
    redis = await startOwnRedis();
    const own = postgres;
    api = await startTestServer({
      database: { location: { kind: 'postgres', url: own.url }, drop: async () => {} },
      env: { REDIS_URL: redis.url, REDIS_PREFIX: uniqueRedisPrefix() },
    });
    alice = await createUser(api, 'alice');
    roomId = await createRoomWith(api, alice, []);
    socket = await connectSocket(api.wsUrl, alice.token);
  });

  after(async () => {
    // Each step runs whatever failed before it, so no process or folder is left behind.
    const steps = [() => socket?.dispose(), () => api?.close(), () => postgres?.dispose(), () => redis?.dispose()];
    const failures: unknown[] = [];
    for (const step of steps) await step()?.catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw new AggregateError(failures, 'outage suite cleanup failed');
  });

  it('answers UNAVAILABLE (HTTP 503 with Retry-After, and over graphql-ws) while PostgreSQL is down, and loses nothing', async () => {
    remember(await sendOverHttp('before the outage', 'pg-1'));
    await postgres!.stop();

    const ready = await readiness();
    assert.equal(ready.status, 503);
    assert.equal(ready.body.database, 'unavailable');
    assertUnavailableOverHttp(await sendOverHttp('during the outage', 'pg-2'), 'send over HTTP');
    assertUnavailable(await sendOverSocket('during the outage, over the socket', 'pg-3'), 'send over graphql-ws');
    assertUnavailableOverHttp(await server().request(OutageHistory, { roomId }, alice.token), 'history over HTTP');
    assertUnavailable(await socket!.execute(OutageHistory, { roomId }), 'history over graphql-ws');
    const metrics = await (await fetch(server().url.replace(/\/graphql$/, '/metrics'))).text();
    for (const transport of ['http', 'ws']) {
      const counted = new RegExp(`parley_operations_total\\{transport="${transport}",type="mutation",field="sendMessage",outcome="UNAVAILABLE"\\} 1\\b`);
      assert.match(metrics, counted, `sends over ${transport} counted UNAVAILABLE`);
    }

    await postgres!.start();
    await waitUntilReady();
    // The client retries what it was told to retry, with the same clientMessageIds: each is stored once.
    remember(await sendOverHttp('during the outage', 'pg-2'));
    remember(await sendOverSocket('during the outage, over the socket', 'pg-3'));
    remember(await sendOverHttp('during the outage', 'pg-2'));
    remember(await sendOverHttp('after the outage', 'pg-4'));
    assert.deepEqual(
      [...acknowledged.values()].map((message) => message.seq),
      [1, 2, 3, 4],
    );
    await assertNothingLost();
  });

  it('keeps storing sends while Redis is down, says UNAVAILABLE for what lives in Redis (typing, presence), and delivers the sends when it is back', async () => {
    const live = await subscribeReady(server().server.app.bus, socket!, OutageLive, { roomId });
    await redis!.stop();

    const ready = await readiness();
    assert.equal(ready.status, 503);
    assert.equal(ready.body.pubsub, 'unavailable');
    // Messages live in PostgreSQL: a send is stored and answered; its live delivery waits for Redis.
    const duringHttp = remember(await sendOverHttp('while Redis is down', 'redis-1'));
    const duringSocket = remember(await sendOverSocket('while Redis is down, over the socket', 'redis-2'));
    // Typing indicators live only in Redis.
    assertUnavailableOverHttp(await server().request(OutageTyping, { roomId }, alice.token), 'setTyping over HTTP');
    assertUnavailable(await socket!.execute(OutageTyping, { roomId }), 'setTyping over graphql-ws');
    // So is presence.
    assertUnavailableOverHttp(await server().request(OutagePresence, {}, alice.token), 'presence over HTTP');
    assertUnavailable(await socket!.execute(OutagePresence, {}), 'presence over graphql-ws');

    await redis!.start();
    await waitUntilReady();
    const afterwards = remember(await sendOverHttp('after Redis is back', 'redis-3'));
    assert.deepEqual([duringHttp.seq, duringSocket.seq, afterwards.seq], [5, 6, 7]);
    // The subscriber that was listening through the outage gets every message, in order, once.
    const delivered: number[] = [];
    while (delivered.length < 3) {
      const payload = await live.next(15_000);
      assert.equal(payload.errors, undefined, JSON.stringify(payload.errors));
      delivered.push(payload.data!.messageAdded.seq);
    }
    assert.deepEqual(delivered, [5, 6, 7]);
    live.unsubscribe();
    await assertNothingLost();
  });

  it('tells an outage (a session terminated by the server, a refused connection) from a bug (a bad query, a constraint)', async () => {
    const { prisma } = server().server.app;
    const failure = (work: Promise<unknown>) => work.then(() => assert.fail('expected a failure'), (error: unknown) => error);
    assert.equal(isOutage(await failure(prisma.$queryRaw`SELECT * FROM "NoSuchTable"`)), false, 'a bad query');
    const taken = { username: alice.username, passwordHash: 'x', displayName: 'x' };
    assert.equal(isOutage(await failure(prisma.user.create({ data: taken }))), false, 'a unique violation');

    // 57P01: PostgreSQL ends the session running the query (as at a fast shutdown).
    const admin = new pg.Client({ connectionString: postgres!.url });
    await admin.connect();
    try {
      const sleeping = failure(prisma.$queryRaw`SELECT pg_sleep(30)`);
      for (let attempt = 0; ; attempt++) {
        const { rowCount } = await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()`,
        );
        if (rowCount) break;
        if (attempt >= 100) throw new Error('the query did not start within 10 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const terminated = await sleeping;
      assert.ok(isOutage(terminated), `a terminated session: ${String(terminated)}`);
    } finally {
      await admin.end();
    }

    await postgres!.stop();
    try {
      const refused = await failure(prisma.$queryRaw`SELECT 1`);
      assert.ok(isOutage(refused), `a refused connection: ${String(refused)}`);
    } finally {
      await postgres!.start();
    }
    await waitUntilReady();
  });

  it('stops cleanly while PostgreSQL and Redis are both down', async () => {
    await socket!.dispose();
    socket = undefined;
    await Promise.all([postgres!.stop(), redis!.stop()]);
    const closing = server().close();
    api = undefined;
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the server did not stop within 20 s')), 20_000);
    });
    try {
      await Promise.race([closing, stuck]);
    } finally {
      clearTimeout(timer);
    }
  });
});
