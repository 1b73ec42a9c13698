import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { topics, type RoomEventPayload } from '../src/realtime/topics.js';
import { graphql } from './generated/gql.js';
import { createRoomWith, send } from './support/chat.js';
import { unlessServicesShared } from './support/database.js';
import { startTestServer, useTwoInstances, type GraphQLResponse, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { connectSocket } from './support/ws.js';

const TypingSet = graphql(`
  mutation TypingSet($roomId: ID!, $typing: Boolean!) {
    setTyping(roomId: $roomId, typing: $typing)
  }
`);

/** The database id inside a global ID, as event payloads carry it. */
const rawId = (globalId: string) => decodeGlobalID(globalId).id;

const typingEvent = (roomId: string, user: TestUser, typing: boolean): RoomEventPayload => ({
  type: 'TypingChanged',
  roomId: rawId(roomId),
  userId: rawId(user.id),
  typing,
});

async function setTyping(api: TestServer, user: TestUser, roomId: string, typing: boolean) {
  assert.deepEqual(await api.ok(TypingSet, { roomId, typing }, user.token), { setTyping: true });
}

const codeOf = (result: GraphQLResponse<unknown>) => result.errors?.[0]?.extensions?.code;

interface TypingRecorder {
  /** The TypingChanged events published on the room's topic since the last call, in order. */
  take(): Promise<RoomEventPayload[]>;
  stop(): void;
}

/**
 * Records TypingChanged on a room's topic of api's bus. take() publishes a marker and waits for it:
 * the bus keeps one publisher's order (through Redis too), so what the server published before has arrived.
 */
async function recordTyping(api: TestServer, roomId: string): Promise<TypingRecorder> {
  const { bus } = api.server.app;
  const topic = topics.room(rawId(roomId));
  let received: RoomEventPayload[] = [];
  const markers = new Map<string, () => void>();
  const stop = await bus.subscribe(topic, (payload) => {
    if (payload.type !== 'TypingChanged') return;
    // Another recorder's markers (on another instance) arrive here too.
    if (payload.userId.startsWith('marker:')) markers.get(payload.userId)?.();
    else received.push(payload);
  });
  return {
    async take() {
      const marker = `marker:${randomUUID()}`;
      const arrived = new Promise<void>((resolve) => markers.set(marker, resolve));
      await bus.publish(topic, { type: 'TypingChanged', roomId: rawId(roomId), userId: marker, typing: false });
      await arrived;
      markers.delete(marker);
      const taken = received;
      received = [];
      return taken;
    },
    stop,
  };
}

/** Takes events until there are count of them (they may still be on their way); fails after withinMs. */
async function takeAtLeast(recorder: TypingRecorder, count: number, withinMs = 5000): Promise<RoomEventPayload[]> {
  const deadline = Date.now() + withinMs;
  const events: RoomEventPayload[] = [];
  while (events.length < count) {
    if (Date.now() > deadline) throw new Error(`${events.length} of ${count} events after ${withinMs} ms`);
    events.push(...(await recorder.take()));
    if (events.length < count) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return events;
}

describe('typing', () => {
  let api: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  let events: TypingRecorder;

  before(async () => {
    // Long: every typing:false seen here comes from what the test did, never from the timeout.
    api = await startTestServer({ env: { TYPING_TIMEOUT: '10m' } });
    alice = await createUser(api, 'alice');
    bob = await createUser(api, 'bob');
    roomId = await createRoomWith(api, alice, [bob]);
    events = await recordTyping(api, roomId);
  });
  after(async () => {
    events.stop();
    await api.close();
  });

  it('publishes typing:true once, not again on refresh, and typing:false once', async () => {
    await setTyping(api, alice, roomId, true);
    await setTyping(api, alice, roomId, true);
    assert.deepEqual(await events.take(), [typingEvent(roomId, alice, true)]);
    await setTyping(api, alice, roomId, false);
    await setTyping(api, alice, roomId, false);
    assert.deepEqual(await events.take(), [typingEvent(roomId, alice, false)]);
  });

  it('stops when the typist sends a message, once', async () => {
    await setTyping(api, bob, roomId, true);
    await send(api, bob, roomId, 'first');
    await send(api, bob, roomId, 'second');
    assert.deepEqual(await events.take(), [typingEvent(roomId, bob, true), typingEvent(roomId, bob, false)]);
  });

  it("stops in every room when the typist's last connection closes", async () => {
    const otherRoom = await createRoomWith(api, bob, [alice]);
    const otherEvents = await recordTyping(api, otherRoom);
    try {
      const first = await connectSocket(api.wsUrl, bob.token);
      const second = await connectSocket(api.wsUrl, bob.token);
      await setTyping(api, bob, roomId, true);
      await setTyping(api, bob, otherRoom, true);
      await first.dispose();
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(await events.take(), [typingEvent(roomId, bob, true)], 'still typing while a connection is open');

      await second.dispose();
      assert.deepEqual(await takeAtLeast(events, 1), [typingEvent(roomId, bob, false)]);
      assert.deepEqual(await takeAtLeast(otherEvents, 2), [typingEvent(otherRoom, bob, true), typingEvent(otherRoom, bob, false)]);
    } finally {
      otherEvents.stop();
    }
  });

  it('is for members only, and for signed-in users', async () => {
    const carol = await createUser(api, 'carol');
    const publicRoom = await createRoomWith(api, alice, [], 'PUBLIC');
    assert.equal(codeOf(await api.request(TypingSet, { roomId, typing: true }, carol.token)), 'NOT_FOUND', 'private room');
    assert.equal(codeOf(await api.request(TypingSet, { roomId: publicRoom, typing: true }, carol.token)), 'FORBIDDEN', 'public room, not joined');
    assert.equal(codeOf(await api.request(TypingSet, { roomId, typing: true })), 'UNAUTHENTICATED', 'anonymous');
    assert.deepEqual(await events.take(), []);
  });
});

describe('typing timeout', () => {
  let api: TestServer;

  before(async () => {
    api = await startTestServer({ env: { TYPING_TIMEOUT: '1s' } });
  });
  after(() => api.close());

  it('publishes typing:false by itself once a timeout passes without a refresh', async () => {
    const alice = await createUser(api, 'alice');
    const roomId = await createRoomWith(api, alice, []);
    const events = await recordTyping(api, roomId);
    try {
      await setTyping(api, alice, roomId, true);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const refreshedAt = Date.now();
      await setTyping(api, alice, roomId, true);
      assert.deepEqual(await takeAtLeast(events, 2), [typingEvent(roomId, alice, true), typingEvent(roomId, alice, false)]);
      assert.ok(Date.now() - refreshedAt >= 900, 'the refresh extended the timeout');
    } finally {
      events.stop();
    }
  });
});

describe('typing across instances', { skip: unlessServicesShared }, () => {
  const instances = useTwoInstances(() => ({ env: { TYPING_TIMEOUT: '1s' } }));

  it('publishes one typing:true and one typing:false for a session refreshed on both instances', async () => {
    const { a, b } = instances;
    const alice = await createUser(a, 'alice');
    const roomId = await createRoomWith(a, alice, []);
    const onA = await recordTyping(a, roomId);
    const onB = await recordTyping(b, roomId);
    try {
      await setTyping(a, alice, roomId, true);
      await setTyping(b, alice, roomId, true);
      await setTyping(a, alice, roomId, true);
      const session = [typingEvent(roomId, alice, true), typingEvent(roomId, alice, false)];
      // Both instances sweep expired typing; only one of them may publish.
      assert.deepEqual(await takeAtLeast(onA, 2), session);
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.deepEqual(await onB.take(), session);
      assert.deepEqual(await onA.take(), []);
    } finally {
      onA.stop();
      onB.stop();
    }
  });
});
