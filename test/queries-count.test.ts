import assert from 'node:assert/strict';
import type { ResultOf } from '@graphql-typed-document-node/core';
import { after, before, describe, it } from 'node:test';
import { graphql } from './generated/gql.js';
import { createRoomWith, send } from './support/chat.js';
import { rawId, roomWithCast } from './support/rooms.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { waitFor } from './support/wait.js';
import { connectSocket, subscribeReady, type SocketClient, type Subscription } from './support/ws.js';

const MsgCostRoomList = graphql(`
  query MsgCostRoomList($first: Int!) {
    rooms(first: $first) {
      edges {
        node {
          id
          name
          lastSeq
          memberCount
          lastMessage {
            seq
            body
            author {
              username
            }
            replyTo {
              seq
            }
            reactions {
              emoji
              count
              reactedByMe
            }
          }
          members(first: 10) {
            edges {
              node {
                role
                lastReadSeq
                unreadCount
                user {
                  username
                }
              }
            }
          }
          myMembership {
            role
            unreadCount
          }
        }
      }
    }
  }
`);

const MsgCostHistory = graphql(`
  query MsgCostHistory($roomId: ID!, $last: Int!) {
    room(id: $roomId) {
      lastSeq
      messages(last: $last) {
        edges {
          node {
            seq
            body
            author {
              username
              presence {
                status
              }
            }
            replyTo {
              seq
              body
              author {
                username
              }
            }
            reactions {
              emoji
              count
              reactedByMe
            }
          }
        }
      }
    }
  }
`);

const MsgCostUsers = graphql(`
  query MsgCostUsers($first: Int!) {
    users(first: $first) {
      edges {
        node {
          username
          presence {
            status
            lastSeenAt
          }
        }
      }
    }
  }
`);

const MsgCostReply = graphql(`
  mutation MsgCostReply($input: SendMessageInput!) {
    sendMessage(input: $input) {
      id
    }
  }
`);

const MsgCostReact = graphql(`
  mutation MsgCostReact($messageId: ID!, $emoji: String!) {
    addReaction(messageId: $messageId, emoji: $emoji) {
      id
    }
  }
`);

const MsgCostLive = graphql(`
  subscription MsgCostLive($roomId: ID!) {
    messageAdded(roomId: $roomId) {
      seq
      body
      author {
        username
      }
      reactions {
        emoji
        count
      }
    }
  }
`);

/**
 * Resolving a list must not cost a query per item: the same operation over a few items and over
 * many takes the same, small number of SQL statements.
 */
describe('SQL queries per request', () => {
  let api: TestServer;
  let viewer: TestUser;
  let others: TestUser[];

  /** The SQL statements run while work runs; nothing else runs meanwhile in these tests. */
  async function statementsOf(work: () => Promise<unknown>): Promise<number> {
    let count = 0;
    const stop = api.server.app.db.onQuery(() => count++);
    try {
      await work();
    } finally {
      stop();
    }
    return count;
  }

  before(async () => {
    // RATE_LIMITS=off: this suite sends in bulk, as no person does; the limits are tested in rate-limits.test.ts.
    api = await startTestServer({ env: { RATE_LIMITS: 'off' } });
    viewer = await createUser(api, 'viewer');
    others = [await createUser(api, 'ann'), await createUser(api, 'bob'), await createUser(api, 'cyd')];
  });
  after(() => api.close());

  it('lists 20 rooms with lastMessage, members and myMembership in a constant number of queries', async () => {
    for (let i = 0; i < 20; i++) {
      const roomId = await roomWithCast(api, { owner: viewer, members: others, name: `room ${i}` });
      const first = await send(api, others[i % 3]!, roomId, `hello ${i}`);
      const reply = await api.ok(MsgCostReply, { input: { roomId, body: `re ${i}`, replyToId: first.id } }, viewer.token);
      await api.ok(MsgCostReact, { messageId: reply.sendMessage.id, emoji: '👍' }, others[0]!.token);
    }
    const list = (first: number) => () => api.ok(MsgCostRoomList, { first }, viewer.token);
    const rooms = (await list(20)()).rooms.edges;
    assert.equal(rooms.length, 20);
    assert.ok(rooms.every(({ node }) => node.lastMessage?.reactions[0]?.count === 1 && node.members.edges.length === 4));
    assert.ok(rooms.every(({ node }) => node.myMembership?.unreadCount === 1), 'the greeting, not the own reply');

    const forTwo = await statementsOf(list(2));
    const forTwenty = await statementsOf(list(20));
    assert.equal(forTwenty, forTwo, 'no statement per room');
    assert.ok(forTwenty <= 12, `${forTwenty} statements`);
  });

  it('reads a page of 100 messages with authors, replies and reactions in a constant number of queries', async () => {
    const roomId = await roomWithCast(api, { owner: viewer, members: others, name: 'busy room' });
    const authors = [viewer, ...others];
    let previous: string | null = null;
    for (let n = 0; n < 100; n++) {
      const author = authors[n % authors.length]!;
      const input: { roomId: string; body: string; replyToId?: string } = { roomId, body: `message ${n}` };
      if (previous && n % 3 === 0) input.replyToId = previous;
      previous = (await api.ok(MsgCostReply, { input }, author.token)).sendMessage.id;
      if (n % 2 === 0) await api.ok(MsgCostReact, { messageId: previous, emoji: n % 4 ? '🎉' : '👍' }, author.token);
    }
    const history = (last: number) => () => api.ok(MsgCostHistory, { roomId, last }, viewer.token);
    const page = (await history(100)()).room?.messages.edges ?? [];
    assert.equal(page.length, 100);
    assert.equal(page.filter(({ node }) => node.replyTo).length, 33);
    assert.equal(page.filter(({ node }) => node.reactions.length === 1).length, 50);

    const forTen = await statementsOf(history(10));
    const forHundred = await statementsOf(history(100));
    assert.equal(forHundred, forTen, 'no statement per message');
    assert.ok(forHundred <= 10, `${forHundred} statements`);
  });

  it("reads no membership for a private room's page: room(id) found the viewer a member", async () => {
    const page = async (visibility: 'PUBLIC' | 'PRIVATE') => {
      const roomId = await createRoomWith(api, viewer, others, visibility);
      for (const author of [viewer, ...others]) await send(api, author, roomId, `in a ${visibility} room`);
      const history = () => api.ok(MsgCostHistory, { roomId, last: 10 }, viewer.token);
      assert.equal((await history()).room?.messages.edges.length, 4);
      return statementsOf(history);
    };
    // A public room is found without being a member: its messages' `member` scope still asks.
    assert.equal(await page('PRIVATE'), (await page('PUBLIC')) - 1);
  });

  it('lists users with their presence (real or hidden) in a constant number of queries', async () => {
    // Some users share a room with the viewer, some (the strangers) don't: presence differs, the cost must not.
    const strangers = [await createUser(api, 'stranger'), await createUser(api, 'stranger')];
    await roomWithCast(api, { owner: viewer, members: others, name: 'acquaintances' });
    const list = (first: number) => () => api.ok(MsgCostUsers, { first }, viewer.token);
    const everyone = (await list(100)()).users.edges;
    assert.ok(everyone.length >= 6 && strangers.every((stranger) => everyone.some(({ node }) => node.username === stranger.username)));
    const forTwo = await statementsOf(list(2));
    const forAll = await statementsOf(list(100));
    assert.equal(forAll, forTwo, 'no statement per user');
    assert.ok(forAll <= 3, `${forAll} statements`);
  });

  it('fans a message out to many subscribers without a statement per subscriber', async () => {
    const listeners = [await createUser(api, 'dee'), await createUser(api, 'eve'), await createUser(api, 'fay'), await createUser(api, 'gus')];
    const roomId = await roomWithCast(api, { owner: viewer, members: [...others, ...listeners], name: 'fan-out' });
    const sockets: SocketClient[] = [];
    /** The statements one send costs, from the mutation to the last subscriber's delivery. */
    const sendTo = async (subscriberCount: number) => {
      while (sockets.length < subscriberCount) {
        const listener = [...others, ...listeners][sockets.length]!;
        const socket = await connectSocket(api.wsUrl, listener.token);
        sockets.push(socket);
      }
      const { bus } = api.server.app;
      const listening = bus.activeSubscriptions();
      // One at a time: subscribeReady counts the bus's listeners, which concurrent subscribes would share.
      const streams: Subscription<ResultOf<typeof MsgCostLive>>[] = [];
      for (const socket of sockets) streams.push(await subscribeReady(bus, socket, MsgCostLive, { roomId }));
      const sendAndReceive = async (body: string, { afterGap = false } = {}) => {
        const missed = afterGap ? await storeUnpublished() : null;
        const { seq } = await send(api, viewer, roomId, body);
        for (const stream of streams) {
          if (missed !== null) assert.equal((await stream.next()).data?.messageAdded.seq, missed, 'the gap is filled first');
          assert.equal((await stream.next()).data?.messageAdded.seq, seq);
        }
      };
      // Once every stream has delivered a message, subscribing (membership, replay) is behind it.
      await sendAndReceive('warm-up');
      const statements = await statementsOf(() => sendAndReceive(`to ${subscriberCount}`));
      // Gaps are filled by one query for all subscribers.
      const afterGap = await statementsOf(() => sendAndReceive(`after a gap, to ${subscriberCount}`, { afterGap: true }));
      for (const stream of streams) stream.unsubscribe();
      // The next round counts listeners from here, so these must be gone first.
      await waitFor(() => bus.activeSubscriptions() === listening, 'the streams to stop listening');
      return { statements, afterGap };
    };
    /** Stores a message as a send would, but publishes nothing: the live streams will see a gap. */
    const storeUnpublished = async () => {
      const { prisma } = api.server.app;
      const id = rawId(roomId);
      const { lastSeq } = await prisma.room.update({ where: { id }, data: { lastSeq: { increment: 1 } } });
      await prisma.message.create({ data: { roomId: id, seq: lastSeq, authorId: rawId(viewer.id), body: 'never published' } });
      return lastSeq;
    };
    try {
      const forOne = await sendTo(1);
      const forSeven = await sendTo(7);
      assert.deepEqual(forSeven, forOne, 'no statement per subscriber');
      assert.ok(forOne.statements <= 12, `${forOne.statements} statements`);
      // Writing the gap takes 3; one read fills it, and the filled message is executed once like any other (3).
      assert.ok(forOne.afterGap - forOne.statements <= 7, `${forOne.afterGap - forOne.statements} statements for the gap`);
    } finally {
      await Promise.all(sockets.map((socket) => socket.dispose()));
    }
  });
});
