import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ResultOf } from '@graphql-typed-document-node/core';
import { graphql } from './generated/gql.js';
import { createRoomWith, send } from './support/chat.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { connectSocket, subscribeReady, type SocketClient, type Subscription } from './support/ws.js';

const LiveMessages = graphql(`
  subscription LiveMessages($roomId: ID!, $afterSeq: Int) {
    messageAdded(roomId: $roomId, afterSeq: $afterSeq) {
      id
      seq
      body
      author {
        username
      }
    }
  }
`);

const LiveRoomEvents = graphql(`
  subscription LiveRoomEvents($roomId: ID!) {
    roomEvents(roomId: $roomId) {
      __typename
      ... on MessageAdded {
        message {
          seq
          body
        }
      }
      ... on MessageUpdated {
        message {
          seq
          body
          editedAt
        }
      }
      ... on MemberJoined {
        member {
          role
          user {
            username
          }
        }
      }
      ... on MemberLeft {
        user {
          username
        }
        reason
      }
      ... on RoomUpdated {
        room {
          name
        }
      }
      ... on RoomDeleted {
        roomId
      }
      ... on ReadReceipt {
        user {
          username
        }
        lastReadSeq
      }
      ... on TypingChanged {
        user {
          username
        }
        typing
      }
    }
  }
`);

const LiveMyEvents = graphql(`
  subscription LiveMyEvents {
    myEvents {
      __typename
      ... on MessageAdded {
        message {
          seq
          body
          room {
            id
          }
        }
      }
      ... on MemberJoined {
        member {
          room {
            id
          }
        }
      }
      ... on MemberLeft {
        reason
      }
      ... on RoomDeleted {
        roomId
      }
    }
  }
`);

const LiveReactions = graphql(`
  subscription LiveReactions($roomId: ID!) {
    roomEvents(roomId: $roomId) {
      __typename
      ... on MessageUpdated {
        message {
          reactions {
            emoji
            count
            reactedByMe
          }
        }
      }
    }
  }
`);

const LiveReact = graphql(`
  mutation LiveReact($messageId: ID!, $emoji: String!) {
    addReaction(messageId: $messageId, emoji: $emoji) {
      id
    }
  }
`);

const LiveAddMembers = graphql(`
  mutation LiveAddMembers($roomId: ID!, $userIds: [ID!]!) {
    addMembers(roomId: $roomId, userIds: $userIds) {
      role
    }
  }
`);

const LiveRemoveMember = graphql(`
  mutation LiveRemoveMember($roomId: ID!, $userId: ID!) {
    removeMember(roomId: $roomId, userId: $userId)
  }
`);

const LiveBan = graphql(`
  mutation LiveBan($roomId: ID!, $userId: ID!) {
    banUser(roomId: $roomId, userId: $userId)
  }
`);

const LiveDeleteRoom = graphql(`
  mutation LiveDeleteRoom($roomId: ID!) {
    deleteRoom(roomId: $roomId)
  }
`);

const LiveEdit = graphql(`
  mutation LiveEdit($messageId: ID!, $body: String!) {
    editMessage(messageId: $messageId, body: $body) {
      id
    }
  }
`);

const LiveMarkRead = graphql(`
  mutation LiveMarkRead($roomId: ID!, $seq: Int!) {
    markRead(roomId: $roomId, seq: $seq) {
      lastReadSeq
    }
  }
`);

const LiveRename = graphql(`
  mutation LiveRename($input: UpdateRoomInput!) {
    updateRoom(input: $input) {
      name
    }
  }
`);

const LiveTyping = graphql(`
  mutation LiveTyping($roomId: ID!, $typing: Boolean!) {
    setTyping(roomId: $roomId, typing: $typing)
  }
`);

/** Takes n payloads from a subscription, failing on errors. */
async function take<Data>(subscription: Subscription<Data>, n: number): Promise<Data[]> {
  const out: Data[] = [];
  while (out.length < n) {
    const result = await subscription.next();
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    out.push(result.data as Data);
  }
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('subscriptions', () => {
  let api: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let bobSocket: SocketClient;
  const sockets: SocketClient[] = [];

  before(async () => {
    // RATE_LIMITS=off: this suite sends in bulk, as no person does; the limits are tested in rate-limits.test.ts.
    api = await startTestServer({ env: { RATE_LIMITS: 'off' } });
    alice = await createUser(api, 'alice');
    bob = await createUser(api, 'bob');
    bobSocket = await connectSocket(api.wsUrl, bob.token);
    sockets.push(bobSocket);
  });
  after(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await api.close();
  });

  it('streams new messages of a room in seq order', async () => {
    const roomId = await createRoomWith(api, alice, [bob]);
    const live = await subscribeReady(api.server.app.bus, bobSocket, LiveMessages, { roomId });
    await send(api, alice, roomId, 'first');
    const [first] = await take(live, 1);
    assert.equal(first?.messageAdded.seq, 1);
    for (let i = 2; i <= 6; i++) await send(api, alice, roomId, `m${i}`);
    const rest = await take(live, 5);
    assert.deepEqual(rest.map((item) => item.messageAdded.seq), range(2, 6));
    assert.deepEqual(rest.map((item) => item.messageAdded.body), ['m2', 'm3', 'm4', 'm5', 'm6']);
    assert.equal(rest[0]?.messageAdded.author?.username, alice.username);
    live.unsubscribe();
  });

  it('replays after afterSeq and continues live with no gap and no duplicate at the seam', async () => {
    const roomId = await createRoomWith(api, alice, [bob]);
    for (let i = 1; i <= 30; i++) await send(api, alice, roomId, `old ${i}`);
    // Messages keep coming while the replay runs.
    const sending = (async () => {
      for (let i = 31; i <= 60; i++) await send(api, alice, roomId, `new ${i}`);
    })();
    const live = bobSocket.subscribe(LiveMessages, { roomId, afterSeq: 10 });
    await sending;
    const received = await take(live, 50);
    assert.deepEqual(received.map((item) => item.messageAdded.seq), range(11, 60));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(live.pending(), [], 'nothing more than 11..60');
    live.unsubscribe();
  });

  it('streams every kind of room event', async () => {
    const carol = await createUser(api, 'carol');
    const roomId = await createRoomWith(api, alice, [bob]);
    const events = await subscribeReady(api.server.app.bus, bobSocket, LiveRoomEvents, { roomId });
    const message = await send(api, alice, roomId, 'hello');
    const [added] = await take(events, 1);
    assert.deepEqual(added?.roomEvents, { __typename: 'MessageAdded', message: { seq: 1, body: 'hello' } });

    await api.ok(LiveEdit, { messageId: message.id, body: 'hello, edited' }, alice.token);
    await api.ok(LiveAddMembers, { roomId, userIds: [carol.id] }, alice.token);
    await api.ok(LiveMarkRead, { roomId, seq: 1 }, alice.token);
    await api.ok(LiveRename, { input: { roomId, name: 'renamed' } }, alice.token);
    await api.ok(LiveTyping, { roomId, typing: true }, alice.token);
    await api.ok(LiveRemoveMember, { roomId, userId: carol.id }, alice.token);
    const rest = (await take(events, 6)).map((item) => item.roomEvents);
    assert.deepEqual(
      rest.map((event) => event.__typename),
      ['MessageUpdated', 'MemberJoined', 'ReadReceipt', 'RoomUpdated', 'TypingChanged', 'MemberLeft'],
    );
    const [updated, joined, receipt, renamed, typing, left] = rest;
    assert.equal(updated?.__typename === 'MessageUpdated' && updated.message.body, 'hello, edited');
    assert.ok(updated?.__typename === 'MessageUpdated' && updated.message.editedAt);
    assert.deepEqual(joined?.__typename === 'MemberJoined' && joined.member, { role: 'MEMBER', user: { username: carol.username } });
    assert.deepEqual(receipt?.__typename === 'ReadReceipt' && receipt, { __typename: 'ReadReceipt', user: { username: alice.username }, lastReadSeq: 1 });
    assert.equal(renamed?.__typename === 'RoomUpdated' && renamed.room.name, 'renamed');
    assert.deepEqual(typing?.__typename === 'TypingChanged' && typing, { __typename: 'TypingChanged', user: { username: alice.username }, typing: true });
    assert.deepEqual(left?.__typename === 'MemberLeft' && left, { __typename: 'MemberLeft', user: { username: carol.username }, reason: 'REMOVED' });
    events.unsubscribe();
  });

  it('answers viewer-dependent fields per viewer, though subscribers share one execution per event', async () => {
    const roomId = await createRoomWith(api, alice, [bob]);
    const aliceSocket = await connectSocket(api.wsUrl, alice.token);
    sockets.push(aliceSocket);
    const forAlice = await subscribeReady(api.server.app.bus, aliceSocket, LiveReactions, { roomId });
    const forBob = await subscribeReady(api.server.app.bus, bobSocket, LiveReactions, { roomId });
    const message = await send(api, alice, roomId, 'react to me');
    await take(forAlice, 1);
    await take(forBob, 1);
    await api.ok(LiveReact, { messageId: message.id, emoji: '🎉' }, alice.token);
    const reactionsOf = async (subscription: Subscription<ResultOf<typeof LiveReactions>>) => {
      const [event] = await take(subscription, 1);
      return event?.roomEvents.__typename === 'MessageUpdated' ? event.roomEvents.message.reactions : null;
    };
    assert.deepEqual(await reactionsOf(forAlice), [{ emoji: '🎉', count: 1, reactedByMe: true }]);
    assert.deepEqual(await reactionsOf(forBob), [{ emoji: '🎉', count: 1, reactedByMe: false }]);
    forAlice.unsubscribe();
    forBob.unsubscribe();
  });

  it('ends the streams of a member who is removed, and delivers nothing more', async () => {
    const dave = await createUser(api, 'dave');
    const daveSocket = await connectSocket(api.wsUrl, dave.token);
    sockets.push(daveSocket);
    const roomId = await createRoomWith(api, alice, [dave]);
    const messages = await subscribeReady(api.server.app.bus, daveSocket, LiveMessages, { roomId });
    const events = await subscribeReady(api.server.app.bus, daveSocket, LiveRoomEvents, { roomId });
    await send(api, alice, roomId, 'before');
    await take(messages, 1);
    await take(events, 1);
    await api.ok(LiveRemoveMember, { roomId, userId: dave.id }, alice.token);
    const [messagesEnd, eventsEnd] = await Promise.all([messages.done, events.done]);
    assert.match(JSON.stringify(messagesEnd.error), /FORBIDDEN|removed/);
    assert.match(JSON.stringify(eventsEnd.error), /FORBIDDEN|removed/);
    await send(api, alice, roomId, 'after');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const leftovers = [...messages.pending(), ...events.pending()];
    assert.ok(
      leftovers.every((item) => !JSON.stringify(item).includes('"after"')),
      'nothing sent after the removal reaches the removed member',
    );
  });

  it('ends a banned member’s stream, and completes streams of a deleted room', async () => {
    const erin = await createUser(api, 'erin');
    const erinSocket = await connectSocket(api.wsUrl, erin.token);
    sockets.push(erinSocket);
    const banRoom = await createRoomWith(api, alice, [erin]);
    const banned = await subscribeReady(api.server.app.bus, erinSocket, LiveMessages, { roomId: banRoom });
    await send(api, alice, banRoom, 'hi');
    await take(banned, 1);
    await api.ok(LiveBan, { roomId: banRoom, userId: erin.id }, alice.token);
    assert.match(JSON.stringify((await banned.done).error), /FORBIDDEN|banned/);

    const doomed = await createRoomWith(api, alice, [bob]);
    const events = await subscribeReady(api.server.app.bus, bobSocket, LiveRoomEvents, { roomId: doomed });
    await send(api, alice, doomed, 'last words');
    await take(events, 1);
    await api.ok(LiveDeleteRoom, { roomId: doomed }, alice.token);
    const [deleted] = await take(events, 1);
    assert.deepEqual(deleted?.roomEvents, { __typename: 'RoomDeleted', roomId: doomed });
    assert.deepEqual(await events.done, {});
  });

  it('refuses outsiders and anonymous subscribers', async () => {
    const outsider = await createUser(api, 'outsider');
    const outsiderSocket = await connectSocket(api.wsUrl, outsider.token);
    const anonymousSocket = await connectSocket(api.wsUrl);
    sockets.push(outsiderSocket, anonymousSocket);
    const privateRoom = await createRoomWith(api, alice, [bob]);
    const publicRoom = await createRoomWith(api, alice, [bob], 'PUBLIC');

    const codeOf = async (subscription: Subscription<unknown>) => {
      const first = await Promise.race([subscription.next(), subscription.done.then((end) => ({ errors: end.error as never }))]);
      return JSON.stringify(first.errors);
    };
    assert.match(await codeOf(outsiderSocket.subscribe(LiveMessages, { roomId: privateRoom })), /NOT_FOUND/);
    assert.match(await codeOf(outsiderSocket.subscribe(LiveRoomEvents, { roomId: publicRoom })), /FORBIDDEN/);
    assert.match(await codeOf(anonymousSocket.subscribe(LiveMessages, { roomId: publicRoom })), /UNAUTHENTICATED/);
    assert.match(await codeOf(anonymousSocket.subscribe(LiveMyEvents, {})), /UNAUTHENTICATED/);
    assert.match(await codeOf(outsiderSocket.subscribe(LiveMessages, { roomId: 'not-an-id' })), /BAD_USER_INPUT/);
  });

  it("follows the viewer's rooms in myEvents as they come and go", async () => {
    const frank = await createUser(api, 'frank');
    const frankSocket = await connectSocket(api.wsUrl, frank.token);
    sockets.push(frankSocket);
    const existing = await createRoomWith(api, alice, [frank]);
    const mine = await subscribeReady(api.server.app.bus, frankSocket, LiveMyEvents, {}, 2);
    await send(api, alice, existing, 'in an existing room');
    const [first] = await take(mine, 1);
    assert.deepEqual(first?.myEvents, { __typename: 'MessageAdded', message: { seq: 1, body: 'in an existing room', room: { id: existing } } });

    const later = await createRoomWith(api, alice, []);
    await api.ok(LiveAddMembers, { roomId: later, userIds: [frank.id] }, alice.token);
    const [joined] = await take(mine, 1);
    assert.deepEqual(joined?.myEvents, { __typename: 'MemberJoined', member: { room: { id: later } } });
    await send(api, alice, later, 'in the new room');
    const [fromNew] = await take(mine, 1);
    assert.equal(fromNew?.myEvents.__typename === 'MessageAdded' && fromNew.myEvents.message.body, 'in the new room');

    await api.ok(LiveRemoveMember, { roomId: later, userId: frank.id }, alice.token);
    const [left] = await take(mine, 1);
    assert.deepEqual(left?.myEvents, { __typename: 'MemberLeft', reason: 'REMOVED' });
    await send(api, alice, later, 'not for frank');
    await send(api, alice, existing, 'still for frank');
    const [next] = await take(mine, 1);
    assert.equal(next?.myEvents.__typename === 'MessageAdded' && next.myEvents.message.body, 'still for frank');
    mine.unsubscribe();
  });

  it('releases every topic on unsubscribe and socket close', async () => {
    const roomId = await createRoomWith(api, alice, [bob]);
    const { redis, config } = api.server.app;
    const redisChannels = async () => (redis ? (await redis.pubsub('CHANNELS', `${config.redisPrefix}*`)).length : 0);
    const baseline = api.server.app.bus.activeSubscriptions();
    const baselineChannels = await redisChannels();
    let lastSeq = 0;
    for (let cycle = 0; cycle < 1000; cycle++) {
      // From lastSeq: the message sent below arrives whether the stream listens before or after it is stored.
      const live = bobSocket.subscribe(LiveMessages, { roomId, afterSeq: lastSeq });
      const mine = bobSocket.subscribe(LiveMyEvents, {});
      if (cycle % 100 === 0) {
        ({ seq: lastSeq } = await send(api, alice, roomId, `cycle ${cycle}`));
        assert.equal((await live.next()).data?.messageAdded.seq, lastSeq);
      }
      live.unsubscribe();
      mine.unsubscribe();
    }
    const socket = await connectSocket(api.wsUrl, bob.token);
    socket.subscribe(LiveMyEvents, {});
    socket.subscribe(LiveRoomEvents, { roomId });
    await send(api, alice, roomId, 'one more');
    await socket.dispose();
    // Unsubscribes are messages on the socket: give the server a moment to process the last ones.
    for (let attempt = 0; attempt < 50 && api.server.app.bus.activeSubscriptions() !== baseline; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(api.server.app.bus.activeSubscriptions(), baseline);
    for (let attempt = 0; attempt < 50 && (await redisChannels()) !== baselineChannels; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(await redisChannels(), baselineChannels, 'Redis channels back to where they started');
  });
});
