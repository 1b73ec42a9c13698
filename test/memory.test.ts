import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { print } from 'graphql';
import WebSocket from 'ws';
import { CACHED_DOCUMENT_CHARS, CACHED_DOCUMENTS, TextBoundedCache } from '../src/limits/documents.js';
import { graphql } from './generated/gql.js';
import { createRoomWith, send } from './support/chat.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';

const FloodMessages = graphql(`
  subscription FloodMessages($roomId: ID!) {
    messageAdded(roomId: $roomId) {
      seq
      body
    }
  }
`);

const FloodMyEvents = graphql(`
  subscription FloodMyEvents {
    myEvents {
      __typename
    }
  }
`);

const FloodPresence = graphql(`
  query FloodPresence($id: ID!) {
    user(id: $id) {
      presence {
        status
      }
    }
  }
`);

const SOCKETS_PER_ADDRESS = 40;
const SUBSCRIPTIONS_PER_SOCKET = 25;

/** A bare graphql-transport-ws socket, acknowledged; its messages are collected. */
async function rawSocket(api: TestServer, token?: string) {
  const socket = new WebSocket(api.wsUrl, 'graphql-transport-ws');
  const messages: { type: string; id?: string; payload?: unknown }[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data)) as (typeof messages)[number]));
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'connection_init', payload: token ? { authToken: token } : {} }));
  await waitFor(() => messages.some((message) => message.type === 'connection_ack'), 'connection_ack');
  return { socket, messages, closed };
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await condition()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * The floods of issue 11, scaled down: what the server holds for sockets and subscriptions (bus
 * listeners, Redis channels, presence, per-address socket counts) must return to where it started
 * once the flood's connections close, on every transport.
 */
describe('memory under abuse', () => {
  let api: TestServer;
  let users: TestUser[];
  let roomId: string;

  before(async () => {
    api = await startTestServer({
      env: {
        MAX_SOCKETS_PER_ADDRESS: String(SOCKETS_PER_ADDRESS),
        MAX_SUBSCRIPTIONS_PER_SOCKET: String(SUBSCRIPTIONS_PER_SOCKET),
        ANONYMOUS_SOCKET_GRACE: '1s',
      },
    });
    users = [];
    for (let i = 0; i < 4; i++) users.push(await createUser(api, `flood${i}`));
    roomId = await createRoomWith(api, users[0]!, users.slice(1));
  });
  after(() => api.close());

  const redisChannels = async () => {
    const { redis, config } = api.server.app;
    return redis ? (await redis.pubsub('CHANNELS', `${config.redisPrefix}*`)).length : 0;
  };

  /** Each user's presence, as the first user sees it (they share a room). */
  const statuses = () =>
    Promise.all(users.map(async (user) => (await api.ok(FloodPresence, { id: user.id }, users[0]!.token)).user?.presence.status));

  it('lets go of every socket, subscription and topic once a flood of sockets and subscriptions closes', async () => {
    const { bus } = api.server.app;
    const baseline = { subscriptions: bus.activeSubscriptions(), channels: await redisChannels() };

    // Anonymous sockets up to the address's limit: each is closed by the server after its grace.
    const anonymous = await Promise.all(Array.from({ length: SOCKETS_PER_ADDRESS - users.length }, () => rawSocket(api)));
    // Each user's socket asks for more subscriptions than it may have.
    const query = print(FloodMessages);
    const flooders = await Promise.all(users.map((user) => rawSocket(api, user.token)));
    for (const flooder of flooders) {
      for (let i = 0; i < SUBSCRIPTIONS_PER_SOCKET + 10; i++) {
        const payload = i % 2 === 0 ? { query, variables: { roomId } } : { query: print(FloodMyEvents) };
        flooder.socket.send(JSON.stringify({ id: `s${i}`, type: 'subscribe', payload }));
      }
    }
    await waitFor(
      () => flooders.every((flooder) => flooder.messages.filter((message) => message.type === 'error').length === 10),
      'the subscriptions past the limit to be refused',
    );
    // messageAdded listens to the room, myEvents to the user and the room.
    const perSocket = Math.ceil(SUBSCRIPTIONS_PER_SOCKET / 2) + 2 * Math.floor(SUBSCRIPTIONS_PER_SOCKET / 2);
    await waitFor(() => bus.activeSubscriptions() === baseline.subscriptions + users.length * perSocket, 'every subscription to listen');
    for (let i = 0; i < 5; i++) await send(api, users[i % users.length]!, roomId, `flood ${i}`);
    await waitFor(
      () => flooders.every((flooder) => flooder.messages.filter((message) => message.type === 'next').length >= 5 * SUBSCRIPTIONS_PER_SOCKET),
      'the messages to reach every subscription',
    );
    assert.deepEqual(await statuses(), users.map(() => 'ONLINE'));

    assert.deepEqual(await Promise.all(anonymous.map((socket) => socket.closed)), anonymous.map(() => 4401));
    for (const flooder of flooders) flooder.socket.close();
    await Promise.all(flooders.map((flooder) => flooder.closed));

    await waitFor(() => bus.activeSubscriptions() === baseline.subscriptions, 'the bus to release every topic');
    await waitFor(async () => (await redisChannels()) === baseline.channels, 'Redis channels back to where they started');
    await waitFor(async () => (await statuses()).every((status) => status === 'OFFLINE'), 'every flooder offline');
    // Every socket of the address was counted out (once the server saw its connection close): as many may open again.
    await waitFor(async () => {
      const opened = await Promise.allSettled(Array.from({ length: SOCKETS_PER_ADDRESS }, () => rawSocket(api, users[0]!.token)));
      const sockets = opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      for (const socket of sockets) socket.socket.close();
      await Promise.all(sockets.map((socket) => socket.closed));
      return sockets.length === SOCKETS_PER_ADDRESS;
    }, 'the address to open as many sockets again');
    await waitFor(async () => (await statuses())[0] === 'OFFLINE', 'the last sockets closed');
  });

  it('ends a server-sent-events subscription when its client goes away', async () => {
    const { bus } = api.server.app;
    const baseline = bus.activeSubscriptions();
    const baselineChannels = await redisChannels();
    const streams = await Promise.all(
      users.map(async (user) => {
        const abort = new AbortController();
        const response = await fetch(api.url, {
          method: 'POST',
          signal: abort.signal,
          headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${user.token}` },
          body: JSON.stringify({ query: print(FloodMessages), variables: { roomId } }),
        });
        assert.equal(response.status, 200);
        await response.body!.getReader().read();
        return abort;
      }),
    );
    await waitFor(() => bus.activeSubscriptions() === baseline + users.length, 'the streams to listen');
    for (const stream of streams) stream.abort();
    await waitFor(() => bus.activeSubscriptions() === baseline, 'the streams of the clients that left to end');
    await waitFor(async () => (await redisChannels()) === baselineChannels, 'Redis channels back to where they started');
  });

  it("bounds the parse caches by the text they keep, not only by their number", () => {
    const cache = new TextBoundedCache<number>();
    // Documents padded to a large size, as a client could send them.
    const padded = (i: number) => `{ __typename } #${i} ${'x'.repeat(100_000)}`;
    for (let i = 0; i < 500; i++) cache.set(padded(i), i);
    const held = cache.held();
    assert.ok(held.chars <= CACHED_DOCUMENT_CHARS, `${held.chars} characters kept`);
    assert.equal(cache.get(padded(499)), 499, 'the most recent are kept');
    assert.equal(cache.get(padded(0)), undefined, 'the oldest went');
    // A single document too large to be worth keeping is not kept at all.
    cache.set(`{ __typename } #${'y'.repeat(CACHED_DOCUMENT_CHARS)}`, -1);
    assert.ok(cache.held().chars <= CACHED_DOCUMENT_CHARS);
    // Small documents: bounded by number, least recently used out first.
    const small = new TextBoundedCache<number>();
    for (let i = 0; i < CACHED_DOCUMENTS + 10; i++) {
      small.set(`query Q${i} { __typename }`, i);
      if (i > 0) small.get('query Q0 { __typename }');
    }
    assert.equal(small.held().documents, CACHED_DOCUMENTS);
    assert.equal(small.get('query Q0 { __typename }'), 0, 'a document in use stays');
    assert.equal(small.get('query Q1 { __typename }'), undefined);
  });
});
