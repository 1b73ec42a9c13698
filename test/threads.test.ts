import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { graphql } from './generated/gql.js';
import { createRoomWith } from './support/chat.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { connectSocket, subscribeReady, type SocketClient } from './support/ws.js';

const ThreadSend = graphql(`
  mutation ThreadSend($input: SendMessageInput!) {
    sendMessage(input: $input) {
      id
      seq
    }
  }
`);

const ThreadDelete = graphql(`
  mutation ThreadDelete($messageId: ID!) {
    deleteMessage(messageId: $messageId) {
      id
    }
  }
`);

const ThreadOf = graphql(`
  query ThreadOf($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    node(id: $id) {
      ... on Message {
        seq
        thread {
          root {
            id
          }
          replyCount
          lastReplyAt
          participants {
            username
          }
          replies(first: $first, after: $after, last: $last, before: $before) {
            edges {
              cursor
              node {
                seq
                body
              }
            }
            pageInfo {
              hasNextPage
              hasPreviousPage
            }
          }
        }
      }
    }
  }
`);

const ThreadSummaries = graphql(`
  query ThreadSummaries($roomId: ID!, $last: Int!) {
    room(id: $roomId) {
      messages(last: $last) {
        edges {
          node {
            seq
            thread {
              replyCount
              lastReplyAt
              participants {
                username
              }
            }
          }
        }
      }
    }
  }
`);

const ThreadEvents = graphql(`
  subscription ThreadEvents($roomId: ID!) {
    roomEvents(roomId: $roomId) {
      __typename
      ... on MessageAdded {
        message {
          seq
        }
      }
      ... on MessageUpdated {
        message {
          seq
        }
      }
      ... on ThreadUpdated {
        rootId
        reply {
          seq
        }
        thread {
          replyCount
          participants {
            username
          }
        }
      }
    }
  }
`);

for (const transport of ['HTTP', 'graphql-ws'] as const) {
  describe(`threads over ${transport}`, () => {
    let api: TestServer;
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;
    let outsider: TestUser;
    const sockets = new Map<string, SocketClient>();

    async function socketOf(user: TestUser) {
      if (!sockets.has(user.token)) sockets.set(user.token, await connectSocket(api.wsUrl, user.token));
      return sockets.get(user.token)!;
    }

    async function request<Data, Variables>(document: TypedDocumentNode<Data, Variables>, variables: Variables, user: TestUser) {
      return transport === 'HTTP' ? api.request(document, variables, user.token) : (await socketOf(user)).execute(document, variables);
    }

    /** One operation as the user over this suite's transport; fails on errors. */
    async function ok<Data, Variables>(document: TypedDocumentNode<Data, Variables>, variables: Variables, user: TestUser): Promise<Data> {
      const { data, errors } = await request(document, variables, user);
      assert.equal(errors, undefined, JSON.stringify(errors));
      return data!;
    }

    const sendAs = async (user: TestUser, roomId: string, body: string, replyToId?: string) =>
      (await ok(ThreadSend, { input: { roomId, body, replyToId } }, user)).sendMessage;

    const threadOf = async (user: TestUser, id: string, page: { first?: number; after?: string; last?: number; before?: string } = {}) => {
      const { node } = await ok(ThreadOf, { id, ...page }, user);
      return node && 'thread' in node ? node.thread : undefined;
    };

    before(async () => {
      // RATE_LIMITS=off: the paging and query-count tests send a few dozen messages in a burst.
      api = await startTestServer({ env: { RATE_LIMITS: 'off' } });
      alice = await createUser(api, 'alice');
      bob = await createUser(api, 'bob');
      carol = await createUser(api, 'carol');
      outsider = await createUser(api, 'outsider');
    });

    after(async () => {
      await Promise.all([...sockets.values()].map((socket) => socket.dispose()));
      await api.close();
    });

    it("puts a reply to a reply in the root's thread, in the room's seq order", async () => {
      const roomId = await createRoomWith(api, alice, [bob, carol]);
      const root = await sendAs(alice, roomId, 'root');
      const first = await sendAs(bob, roomId, 'first reply', root.id);
      await sendAs(alice, roomId, 'not in the thread');
      const nested = await sendAs(carol, roomId, 'reply to the reply', first.id);
      const thread = await threadOf(alice, root.id);
      assert.equal(thread?.root.id, root.id);
      assert.equal(thread?.replyCount, 2);
      assert.deepEqual(thread?.replies.edges.map(({ node }) => [node.seq, node.body]), [
        [first.seq, 'first reply'],
        [nested.seq, 'reply to the reply'],
      ]);
      assert.equal(nested.seq, root.seq + 3, 'replies keep their place in the room history');
      const fromReply = await threadOf(alice, nested.id);
      assert.equal(fromReply?.root.id, root.id, "a reply's thread is its root's");
      const lone = await sendAs(alice, roomId, 'alone');
      assert.equal(await threadOf(alice, lone.id), null, 'no replies, no reply: no thread');
    });

    it('counts replies (deleted ones too), lists participants once each and the last reply time', async () => {
      const roomId = await createRoomWith(api, alice, [bob, carol]);
      const root = await sendAs(alice, roomId, 'root');
      const started = Date.now();
      await sendAs(bob, roomId, 'b1', root.id);
      const c1 = await sendAs(carol, roomId, 'c1', root.id);
      await sendAs(bob, roomId, 'b2', c1.id);
      const gone = await sendAs(alice, roomId, 'a1', root.id);
      await ok(ThreadDelete, { messageId: gone.id }, alice);
      const thread = await threadOf(bob, root.id);
      assert.equal(thread?.replyCount, 4);
      assert.deepEqual(
        thread?.participants.map(({ username }) => username),
        [bob.username, carol.username],
        'in order of first reply, without the author of a deleted reply',
      );
      assert.ok(Date.parse(thread!.lastReplyAt as string) >= started - 1000);
      assert.equal(thread?.replies.edges.at(-1)?.node.body, null, 'the deleted reply stays as a tombstone');
    });

    it('pages replies forwards and backwards', async () => {
      const roomId = await createRoomWith(api, alice, [bob]);
      const root = await sendAs(alice, roomId, 'root');
      const seqs: number[] = [];
      let target = root.id;
      for (let n = 0; n < 5; n++) {
        const reply = await sendAs(n % 2 ? alice : bob, roomId, `r${n}`, target);
        seqs.push(reply.seq);
        target = reply.id;
      }
      const page1 = await threadOf(alice, root.id, { first: 2 });
      assert.deepEqual(page1?.replies.edges.map(({ node }) => node.seq), seqs.slice(0, 2));
      assert.equal(page1?.replies.pageInfo.hasNextPage, true);
      const page2 = await threadOf(alice, root.id, { first: 2, after: page1!.replies.edges[1]!.cursor });
      assert.deepEqual(page2?.replies.edges.map(({ node }) => node.seq), seqs.slice(2, 4));
      const newest = await threadOf(alice, root.id, { last: 2 });
      assert.deepEqual(newest?.replies.edges.map(({ node }) => node.seq), seqs.slice(3));
      assert.equal(newest?.replies.pageInfo.hasPreviousPage, true);
      const before = await threadOf(alice, root.id, { last: 2, before: newest!.replies.edges[0]!.cursor });
      assert.deepEqual(before?.replies.edges.map(({ node }) => node.seq), seqs.slice(1, 3));
    });

    it('announces ThreadUpdated to roomEvents subscribers right after a reply is sent or deleted', async () => {
      const roomId = await createRoomWith(api, alice, [bob]);
      const root = await sendAs(alice, roomId, 'root');
      const events = await subscribeReady(api.server.app.bus, await socketOf(bob), ThreadEvents, { roomId });
      await sendAs(alice, roomId, 'plain');
      const reply = await sendAs(bob, roomId, 'reply', root.id);
      await ok(ThreadDelete, { messageId: reply.id }, bob);
      const received = [];
      for (let n = 0; n < 5; n++) {
        const { data, errors } = await events.next();
        assert.equal(errors, undefined, JSON.stringify(errors));
        received.push(data!.roomEvents);
      }
      events.unsubscribe();
      assert.deepEqual(received, [
        { __typename: 'MessageAdded', message: { seq: root.seq + 1 } },
        { __typename: 'MessageAdded', message: { seq: reply.seq } },
        {
          __typename: 'ThreadUpdated',
          rootId: root.id,
          reply: { seq: reply.seq },
          thread: { replyCount: 1, participants: [{ username: bob.username }] },
        },
        { __typename: 'MessageUpdated', message: { seq: reply.seq } },
        { __typename: 'ThreadUpdated', rootId: root.id, reply: { seq: reply.seq }, thread: { replyCount: 1, participants: [] } },
      ]);
    });

    it("keeps a private room's threads from outsiders and refuses replies across rooms", async () => {
      const roomId = await createRoomWith(api, alice, [bob]);
      const root = await sendAs(alice, roomId, 'secret root');
      await sendAs(bob, roomId, 'secret reply', root.id);
      const { data } = await request(ThreadOf, { id: root.id }, outsider);
      assert.equal(data?.node, null, 'the outsider reads neither the message nor its thread');
      const own = await createRoomWith(api, outsider, []);
      const { errors } = await request(ThreadSend, { input: { roomId: own, body: 'sneak', replyToId: root.id } }, outsider);
      assert.equal(errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      assert.equal((await threadOf(alice, root.id))?.replyCount, 1);
    });

    it('reads a page of messages with their thread summaries in a constant number of queries', async () => {
      const roomId = await createRoomWith(api, alice, [bob, carol]);
      const authors = [alice, bob, carol];
      const ids: string[] = [];
      for (let n = 0; n < 40; n++) {
        const replyTo = n % 2 === 1 ? ids[n - 1] : undefined;
        ids.push((await sendAs(authors[n % 3]!, roomId, `m${n}`, replyTo)).id);
      }
      const page = (last: number) => () => ok(ThreadSummaries, { roomId, last }, alice);
      const edges = (await page(40)()).room?.messages.edges ?? [];
      assert.equal(edges.filter(({ node }) => node.thread?.replyCount === 1).length, 40, 'each root and its reply share a thread');
      let count = 0;
      const stop = api.server.app.db.onQuery(() => count++);
      try {
        await page(4)();
        const forFour = count;
        count = 0;
        await page(40)();
        assert.equal(count, forFour, 'no statement per message');
        assert.ok(count <= 8, `${count} statements`);
      } finally {
        stop();
      }
    });
  });
}
