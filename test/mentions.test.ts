import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { graphql } from './generated/gql.js';
import { createRoomWith, send } from './support/chat.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { connectSocket, subscribeReady, type SocketClient, type Subscription } from './support/ws.js';

const MentionSend = graphql(`
  mutation MentionSend($input: SendMessageInput!) {
    sendMessage(input: $input) {
      id
      seq
      mentions {
        username
      }
    }
  }
`);

const MentionCounts = graphql(`
  query MentionCounts($id: ID!) {
    room(id: $id) {
      myMembership {
        unreadCount
        mentionCount
      }
    }
  }
`);

const MentionMarkRead = graphql(`
  mutation MentionMarkRead($roomId: ID!, $seq: Int!) {
    markRead(roomId: $roomId, seq: $seq) {
      mentionCount
    }
  }
`);

const MentionDelete = graphql(`
  mutation MentionDelete($messageId: ID!) {
    deleteMessage(messageId: $messageId) {
      id
    }
  }
`);

const MentionBlock = graphql(`
  mutation MentionBlock($userId: ID!) {
    blockUser(userId: $userId) {
      id
    }
  }
`);

const MentionEvents = graphql(`
  subscription MentionEvents {
    myEvents {
      __typename
      ... on Mentioned {
        message {
          body
          room {
            id
          }
        }
      }
    }
  }
`);

type MentionEvent = { body: string | null | undefined; roomId: string };

/** The next Mentioned event of a myEvents subscription, skipping its other events. */
async function nextMention(subscription: Subscription<{ myEvents: { __typename: string; message?: { body?: string | null; room: { id: string } } } }>): Promise<MentionEvent> {
  for (;;) {
    const { data, errors } = await subscription.next();
    assert.equal(errors, undefined, JSON.stringify(errors));
    const event = data!.myEvents;
    if (event.__typename === 'Mentioned') return { body: event.message!.body, roomId: event.message!.room.id };
  }
}

for (const transport of ['HTTP', 'graphql-ws'] as const) {
  describe(`mentions over ${transport}`, () => {
    let api: TestServer;
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;
    const sockets = new Map<string, SocketClient>();

    async function socketOf(user: TestUser) {
      if (!sockets.has(user.token)) sockets.set(user.token, await connectSocket(api.wsUrl, user.token));
      return sockets.get(user.token)!;
    }

    /** One operation as the user over this suite's transport; fails on errors. */
    async function ok<Data, Variables>(document: TypedDocumentNode<Data, Variables>, variables: Variables, user: TestUser): Promise<Data> {
      if (transport === 'HTTP') return api.ok(document, variables, user.token);
      const { data, errors } = await (await socketOf(user)).execute(document, variables);
      assert.equal(errors, undefined, JSON.stringify(errors));
      return data!;
    }

    async function codeOf<Data, Variables>(document: TypedDocumentNode<Data, Variables>, variables: Variables, user: TestUser) {
      const { errors } = transport === 'HTTP' ? await api.request(document, variables, user.token) : await (await socketOf(user)).execute(document, variables);
      return errors?.[0]?.extensions?.code ?? 'OK';
    }

    const sendAs = async (user: TestUser, input: { roomId: string; body: string; mentions?: string[]; clientMessageId?: string }) =>
      (await ok(MentionSend, { input }, user)).sendMessage;

    const counts = async (user: TestUser, roomId: string) => (await ok(MentionCounts, { id: roomId }, user)).room?.myMembership;

    before(async () => {
      api = await startTestServer();
      alice = await createUser(api, 'alice');
      bob = await createUser(api, 'bob');
      carol = await createUser(api, 'carol');
    });

    after(async () => {
      await Promise.all([...sockets.values()].map((socket) => socket.dispose()));
      await api.close();
    });

    it('stores @usernames of the body and picked users as mentions of members only', async () => {
      const roomId = await createRoomWith(api, alice, [bob]);
      const byName = await sendAs(alice, { roomId, body: `hey @${bob.username.toUpperCase()}, and @${carol.username} and @${alice.username}` });
      assert.deepEqual(byName.mentions, [{ username: bob.username }], 'not carol (no member), not the author');
      const atSentenceEnd = await sendAs(alice, { roomId, body: `thanks @${bob.username}.` });
      assert.deepEqual(atSentenceEnd.mentions, [{ username: bob.username }]);
      const inAnAddress = await sendAs(alice, { roomId, body: `mail me at x@${bob.username}.example` });
      assert.deepEqual(inAnAddress.mentions, []);
      const picked = await sendAs(alice, { roomId, body: 'look at this', mentions: [bob.id, carol.id, bob.id] });
      assert.deepEqual(picked.mentions, [{ username: bob.username }], 'carol picked but no member: ignored, no error');
    });

    it('counts unread mentions beside unreadCount until they are read or deleted', async () => {
      const roomId = await createRoomWith(api, alice, [bob]);
      await sendAs(alice, { roomId, body: `@${bob.username} one` });
      await sendAs(alice, { roomId, body: 'no mention' });
      const deleted = await sendAs(alice, { roomId, body: `@${bob.username} two` });
      const last = await sendAs(alice, { roomId, body: 'three', mentions: [bob.id] });
      assert.deepEqual(await counts(bob, roomId), { unreadCount: 4, mentionCount: 3 });
      assert.deepEqual(await counts(alice, roomId), { unreadCount: 0, mentionCount: 0 });
      await ok(MentionDelete, { messageId: deleted.id }, alice);
      assert.deepEqual(await counts(bob, roomId), { unreadCount: 3, mentionCount: 2 });
      assert.equal((await ok(MentionMarkRead, { roomId, seq: 1 }, bob)).markRead.mentionCount, 1);
      assert.equal((await ok(MentionMarkRead, { roomId, seq: last.seq }, bob)).markRead.mentionCount, 0);
    });

    it("tells the mentioned member in myEvents, and nobody who isn't one", async () => {
      const dave = await createUser(api, 'dave');
      // Subscribed before dave is in any room: the event comes on his own topic.
      const mine = await subscribeReady(api.server.app.bus, await socketOf(dave), MentionEvents, {}, 1);
      const elsewhere = await createRoomWith(api, alice, [bob]);
      await sendAs(alice, { roomId: elsewhere, body: `@${dave.username} is not here`, mentions: [dave.id] });
      const roomId = await createRoomWith(api, alice, [dave]);
      await send(api, alice, roomId, 'no mention');
      await sendAs(alice, { roomId, body: `for @${dave.username}` });
      await sendAs(alice, { roomId, body: 'picked', mentions: [dave.id] });
      assert.deepEqual(await nextMention(mine), { body: `for @${dave.username}`, roomId }, 'the first is from the room he is in');
      assert.deepEqual(await nextMention(mine), { body: 'picked', roomId });
    });

    it('stores and announces a mention once when the send is retried', async () => {
      const fred = await createUser(api, 'fred');
      const roomId = await createRoomWith(api, alice, [fred]);
      const mine = await subscribeReady(api.server.app.bus, await socketOf(fred), MentionEvents, {}, 2);
      const input = { roomId, body: `@${fred.username} once`, clientMessageId: 'mention-retry' };
      const first = await sendAs(alice, input);
      const retried = await sendAs(alice, input);
      assert.equal(retried.id, first.id, 'the retry answers the original');
      await sendAs(alice, { roomId, body: 'marker', mentions: [fred.id] });
      assert.deepEqual(await nextMention(mine), { body: `@${fred.username} once`, roomId });
      assert.deepEqual(await nextMention(mine), { body: 'marker', roomId }, 'no second Mentioned for the retry');
      assert.deepEqual(await counts(fred, roomId), { unreadCount: 2, mentionCount: 2 });
    });

    it('does not mention someone who blocked the author', async () => {
      const erin = await createUser(api, 'erin');
      const roomId = await createRoomWith(api, alice, [bob, erin]);
      await ok(MentionBlock, { userId: alice.id }, erin);
      const sent = await sendAs(alice, { roomId, body: `@${erin.username} @${bob.username}`, mentions: [erin.id] });
      assert.deepEqual(sent.mentions, [{ username: bob.username }]);
      assert.equal((await counts(erin, roomId))?.mentionCount, 0);
    });

    it('refuses a malformed id or too many picked users with BAD_USER_INPUT', async () => {
      const roomId = await createRoomWith(api, alice, [bob]);
      assert.equal(await codeOf(MentionSend, { input: { roomId, body: 'x', mentions: ['not-an-id'] } }, alice), 'BAD_USER_INPUT');
      const many = Array.from({ length: 51 }, () => bob.id);
      assert.equal(await codeOf(MentionSend, { input: { roomId, body: 'x', mentions: many } }, alice), 'BAD_USER_INPUT');
    });
  });
}
