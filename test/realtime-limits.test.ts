import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { print } from 'graphql';
import WebSocket from 'ws';
import { graphql } from './generated/gql.js';
import { createRoomWith, send } from './support/chat.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { connectSocket } from './support/ws.js';

const LimitedMessages = graphql(`
  subscription LimitedMessages($roomId: ID!, $afterSeq: Int) {
    messageAdded(roomId: $roomId, afterSeq: $afterSeq) {
      seq
      body
    }
  }
`);

const LimitedPresence = graphql(`
  query LimitedPresence($id: ID!) {
    user(id: $id) {
      presence {
        status
      }
    }
  }
`);

interface ProtocolMessage {
  type: string;
  id?: string;
  payload?: { data?: { messageAdded?: { seq: number } }; extensions?: { code?: string }; message?: string }[] & {
    data?: { messageAdded?: { seq: number } };
  };
}

/**
 * A bare graphql-transport-ws client on `ws`, for what graphql-ws's client hides: a reader that
 * stops reading (pause), or a peer that never answers the server's pings (autoPong: false).
 */
async function rawSocket(api: TestServer, user: TestUser, options: { autoPong?: boolean } = {}) {
  const socket = new WebSocket(api.wsUrl, 'graphql-transport-ws', { autoPong: options.autoPong ?? true });
  const received: ProtocolMessage[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (data) => {
    received.push(JSON.parse(String(data)) as ProtocolMessage);
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authToken: user.token } }));
  /** Waits until the messages received so far satisfy done, and returns them all. */
  const until = async (done: (messages: ProtocolMessage[]) => boolean, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!done(received)) {
      if (Date.now() > deadline) throw new Error(`timed out; received ${JSON.stringify(received.slice(-3))}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return received;
  };
  await until((messages) => messages.some((message) => message.type === 'connection_ack'));
  return { socket, received, until, closed };
}

const seqsOf = (messages: ProtocolMessage[], id: string) =>
  messages.filter((message) => message.id === id && message.type === 'next').map((message) => message.payload!.data!.messageAdded!.seq);

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await condition()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('slow consumers', () => {
  const BUFFER = 20;
  let api: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    // Large bodies (the subscription selects them) fill the socket's buffers in a few dozen messages.
    api = await startTestServer({
      // RATE_LIMITS=off: a stalled reader is flooded with sends, as no person sends; the limits are tested in rate-limits.test.ts.
      env: { SUBSCRIPTION_BUFFER: String(BUFFER), MAX_MESSAGE_LENGTH: '200000', RATE_LIMITS: 'off' },
    });
    alice = await createUser(api, 'alice');
    bob = await createUser(api, 'bob');
  });
  after(() => api.close());

  it('ends a subscriber that stops reading with RATE_LIMITED, and it resumes with afterSeq losing nothing', async () => {
    const roomId = await createRoomWith(api, alice, [bob]);
    const { bus } = api.server.app;
    const reader = await rawSocket(api, bob);
    const baseline = bus.activeSubscriptions();
    const query = print(LimitedMessages);
    reader.socket.send(JSON.stringify({ type: 'subscribe', id: 'slow', payload: { query, variables: { roomId } } }));
    await waitFor(() => bus.activeSubscriptions() > baseline, 'the subscription to start');
    reader.socket.pause();

    // Keep sending until the server gives the stalled subscription up (its topic is released).
    const body = 'x'.repeat(200_000);
    let sent = 0;
    while (bus.activeSubscriptions() > baseline) {
      assert.ok(sent < 1000, 'the stalled subscription was never ended');
      await send(api, alice, roomId, body);
      sent++;
    }
    assert.ok(sent > BUFFER, `ended after ${sent} messages only`);

    reader.socket.resume();
    const messages = await reader.until((all) => all.some((message) => message.id === 'slow' && message.type === 'error'));
    const ending = messages.find((message) => message.id === 'slow' && message.type === 'error')!;
    assert.equal(ending.payload?.[0]?.extensions?.code, 'RATE_LIMITED');
    assert.match(ending.payload?.[0]?.message ?? '', /afterSeq/);
    const delivered = seqsOf(messages, 'slow');
    assert.deepEqual(delivered, Array.from({ length: delivered.length }, (_, index) => index + 1), 'delivered in order from 1');
    assert.ok(delivered.length < sent);

    const lastSeen = delivered.at(-1) ?? 0;
    reader.socket.send(
      JSON.stringify({ type: 'subscribe', id: 'resumed', payload: { query, variables: { roomId, afterSeq: lastSeen } } }),
    );
    const resumed = seqsOf(await reader.until((all) => seqsOf(all, 'resumed').length >= sent - lastSeen), 'resumed');
    assert.deepEqual(resumed, Array.from({ length: sent - lastSeen }, (_, index) => lastSeen + index + 1));
    reader.socket.close();
  });
});

describe('keepalive', () => {
  let api: TestServer;
  let carol: TestUser;

  before(async () => {
    api = await startTestServer({ env: { KEEPALIVE: '1s' } });
    carol = await createUser(api, 'carol');
  });
  after(() => api.close());

  it('closes a socket that stops answering pings, and its user goes OFFLINE; live sockets stay open', async () => {
    const live = await connectSocket(api.wsUrl, carol.token);
    const dead = await rawSocket(api, carol, { autoPong: false });
    let pings = 0;
    dead.socket.on('ping', () => pings++);
    await dead.closed;
    assert.ok(pings >= 1, 'the server pinged');

    const status = async () => (await api.ok(LimitedPresence, { id: carol.id }, carol.token)).user?.presence.status;
    assert.equal(await status(), 'ONLINE', 'the live socket still counts');
    let liveClosed = false;
    void live.closed.then(() => (liveClosed = true));
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(liveClosed, false, 'a socket that answers pings stays open');

    await live.dispose();
    await waitFor(async () => (await status()) === 'OFFLINE', 'carol to go OFFLINE');
  });
});
