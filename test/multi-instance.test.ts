import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { graphql } from './generated/gql.js';
import { createRoomWith, send } from './support/chat.js';
import { createTestDatabase, unlessServicesShared, type TestDatabase } from './support/database.js';
import { startServerProcess } from './support/process.js';
import { startTestServer, TEST_JWT_SECRET, uniqueRedisPrefix, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { connectSocket, subscribeReady, type Subscription } from './support/ws.js';

const ClusterMessages = graphql(`
  subscription ClusterMessages($roomId: ID!, $afterSeq: Int) {
    messageAdded(roomId: $roomId, afterSeq: $afterSeq) {
      seq
      body
    }
  }
`);

const ClusterRoomEvents = graphql(`
  subscription ClusterRoomEvents($roomId: ID!) {
    roomEvents(roomId: $roomId) {
      __typename
      ... on TypingChanged {
        user {
          id
        }
        typing
      }
    }
  }
`);

const ClusterTyping = graphql(`
  mutation ClusterTyping($roomId: ID!, $typing: Boolean!) {
    setTyping(roomId: $roomId, typing: $typing)
  }
`);

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function seqs(subscription: Subscription<{ messageAdded: { seq: number } }>, n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const result = await subscription.next(10_000);
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    out.push(result.data!.messageAdded.seq);
  }
  return out;
}

// Two instances on one PostgreSQL database and one Redis prefix, as behind a load balancer.
describe('several instances', { skip: unlessServicesShared }, () => {
  let database: TestDatabase;
  let redisPrefix: string;
  let a: TestServer;
  let b: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    database = await createTestDatabase();
    redisPrefix = uniqueRedisPrefix();
    // RATE_LIMITS=off: concurrent sends in bulk, as no person sends; shared limits are tested in rate-limits.test.ts.
    const env = { RATE_LIMITS: 'off' };
    a = await startTestServer({ database, redisPrefix, env });
    b = await startTestServer({ database, redisPrefix, env });
    alice = await createUser(a, 'alice');
    bob = await createUser(b, 'bob');
  });
  after(async () => {
    await a.close();
    await b.close();
    await database.drop();
  });

  it('delivers messages and typing across instances', async () => {
    const roomId = await createRoomWith(a, alice, [bob]);
    const bobSocket = await connectSocket(b.wsUrl, bob.token);
    try {
      const messages = await subscribeReady(b.server.app.bus, bobSocket, ClusterMessages, { roomId });
      const events = await subscribeReady(b.server.app.bus, bobSocket, ClusterRoomEvents, { roomId });
      for (let i = 1; i <= 20; i++) await send(i % 2 ? a : b, alice, roomId, `m${i}`);
      assert.deepEqual(await seqs(messages, 20), range(1, 20));
      await a.ok(ClusterTyping, { roomId, typing: true }, alice.token);
      for (;;) {
        const event = (await events.next()).data?.roomEvents;
        if (event?.__typename !== 'TypingChanged') continue;
        assert.deepEqual(event, { __typename: 'TypingChanged', user: { id: alice.id }, typing: true });
        break;
      }
    } finally {
      await bobSocket.dispose();
    }
  });

  it('keeps seqs gap-free when instances send concurrently', async () => {
    const roomId = await createRoomWith(a, alice, [bob]);
    await Promise.all(range(1, 60).map((i) => send(i % 2 ? a : b, i % 3 ? alice : bob, roomId, `c${i}`)));
    const bobSocket = await connectSocket(a.wsUrl, bob.token);
    try {
      const replay = bobSocket.subscribe(ClusterMessages, { roomId, afterSeq: 0 });
      assert.deepEqual(await seqs(replay, 60), range(1, 60));
    } finally {
      await bobSocket.dispose();
    }
  });

  it('loses nothing when an instance dies and the client resumes on another with afterSeq', async () => {
    const roomId = await createRoomWith(a, alice, [bob]);
    const doomed = await startServerProcess({
      DATABASE_URL: database.location.kind === 'postgres' ? database.location.url : '',
      REDIS_URL: process.env.TEST_REDIS_URL!,
      REDIS_PREFIX: redisPrefix,
      JWT_SECRET: TEST_JWT_SECRET,
    });
    try {
      const onDoomed = await connectSocket(doomed.wsUrl, bob.token);
      const live = onDoomed.subscribe(ClusterMessages, { roomId, afterSeq: 0 });
      for (let i = 1; i <= 5; i++) await send(a, alice, roomId, `before ${i}`);
      const seen = await seqs(live, 5);
      doomed.child.kill('SIGKILL');
      await doomed.exited;
      // Messages keep coming while the client is away.
      for (let i = 6; i <= 15; i++) await send(a, alice, roomId, `while away ${i}`);
      await onDoomed.dispose();
      const onSurvivor = await connectSocket(a.wsUrl, bob.token);
      try {
        const resumed = onSurvivor.subscribe(ClusterMessages, { roomId, afterSeq: seen.at(-1)! });
        const sending = (async () => {
          for (let i = 16; i <= 20; i++) await send(a, alice, roomId, `after ${i}`);
        })();
        const rest = await seqs(resumed, 15);
        await sending;
        assert.deepEqual([...seen, ...rest], range(1, 20));
      } finally {
        await onSurvivor.dispose();
      }
    } finally {
      doomed.child.kill('SIGKILL');
    }
  });

  it('fills the gap when Redis drops publishes, and keeps serving meanwhile', async () => {
    const roomId = await createRoomWith(a, alice, [bob]);
    const bobSocket = await connectSocket(b.wsUrl, bob.token);
    const admin = new Redis(process.env.TEST_REDIS_URL!);
    try {
      const live = await subscribeReady(b.server.app.bus, bobSocket, ClusterMessages, { roomId });
      await send(a, alice, roomId, 'one');
      assert.deepEqual(await seqs(live, 1), [1]);
      // Drop every pub/sub connection: publishes made until they are back are lost for them.
      await admin.client('KILL', 'TYPE', 'pubsub');
      for (let i = 2; i <= 6; i++) await send(a, alice, roomId, `during ${i}`);
      // The server keeps answering meanwhile.
      assert.ok((await fetch(new URL('/health', b.url))).ok);
      // Once the subscriber is back, the next message exposes the gap; it is filled from the database.
      const received: number[] = [];
      let sent = 6;
      while (received.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        await send(a, alice, roomId, `after ${++sent}`);
        const result = await live.next(1000).catch(() => null);
        if (result) received.push(result.data!.messageAdded.seq);
        assert.ok(sent < 50, 'the subscriber came back');
      }
      while (received.at(-1)! < sent) received.push(...(await seqs(live, 1)));
      assert.deepEqual([1, ...received], range(1, sent), 'the lost publishes were filled, in order, once each');
    } finally {
      admin.disconnect();
      await bobSocket.dispose();
    }
  });
});
