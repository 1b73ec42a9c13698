import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { graphql } from './generated/gql.js';
import { createRoomWith, send } from './support/chat.js';
import { unlessServicesShared } from './support/database.js';
import { startTestServer, type TestServer, useTwoInstances } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { connectSocket, subscribeReady } from './support/ws.js';

const BlockUser = graphql(`
  mutation BlockUser($userId: ID!) {
    blockUser(userId: $userId) {
      id
    }
  }
`);

const UnblockUser = graphql(`
  mutation UnblockUser($userId: ID!) {
    unblockUser(userId: $userId) {
      id
    }
  }
`);

const BlockedUsers = graphql(`
  query BlockedUsers {
    blockedUsers(first: 100) {
      edges {
        node {
          id
        }
      }
    }
  }
`);

const BlocksOpenDirect = graphql(`
  mutation BlocksOpenDirect($userId: ID!) {
    openDirectRoom(userId: $userId) {
      id
    }
  }
`);

const BlocksSend = graphql(`
  mutation BlocksSend($input: SendMessageInput!) {
    sendMessage(input: $input) {
      id
      authorBlockedByMe
    }
  }
`);

const BlocksHistory = graphql(`
  query BlocksHistory($roomId: ID!) {
    room(id: $roomId) {
      messages(last: 10) {
        edges {
          node {
            body
            authorBlockedByMe
          }
        }
      }
    }
  }
`);

const BlocksMessages = graphql(`
  subscription BlocksMessages($roomId: ID!) {
    messageAdded(roomId: $roomId) {
      body
      authorBlockedByMe
      author {
        id
      }
    }
  }
`);

const DirectMessagesSetting = graphql(`
  mutation DirectMessagesSetting($directMessages: DirectMessagePolicy) {
    updateProfile(directMessages: $directMessages) {
      id
      directMessages
    }
  }
`);

const BlocksUser = graphql(`
  query BlocksUser($id: ID!) {
    user(id: $id) {
      directMessages
    }
    me {
      directMessages
      displayName
    }
  }
`);

const codeOf = (result: { errors?: { extensions?: { code?: string } }[] }) => result.errors?.[0]?.extensions?.code;
const messageOf = (result: { errors?: { message?: string }[] }) => result.errors?.[0]?.message;

describe('blocking people, and who may message you', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  const blocked = async (viewer: TestUser) => (await api.ok(BlockedUsers, {}, viewer.token)).blockedUsers.edges.map(({ node }) => node.id);

  it('blocks and unblocks, and lists the blocked', async () => {
    const alice = await createUser(api, 'alice');
    const bob = await createUser(api, 'bob');
    const carol = await createUser(api, 'carol');
    assert.deepEqual((await api.ok(BlockUser, { userId: bob.id }, alice.token)).blockUser, { id: bob.id });
    assert.deepEqual((await api.ok(BlockUser, { userId: bob.id }, alice.token)).blockUser, { id: bob.id }, 'twice is once');
    await api.ok(BlockUser, { userId: carol.id }, alice.token);
    assert.deepEqual((await blocked(alice)).sort(), [bob.id, carol.id].sort());
    assert.deepEqual(await blocked(bob), [], "a block is the blocker's");

    assert.equal(codeOf(await api.request(BlockUser, { userId: alice.id }, alice.token)), 'BAD_USER_INPUT');
    const ghost = Buffer.from('User:00000000-0000-7000-8000-000000000000').toString('base64');
    assert.equal(codeOf(await api.request(BlockUser, { userId: ghost }, alice.token)), 'NOT_FOUND');
    assert.equal(codeOf(await api.request(BlockUser, { userId: bob.id })), 'UNAUTHENTICATED');
    assert.equal(codeOf(await api.request(BlockedUsers, {})), 'UNAUTHENTICATED');

    assert.deepEqual((await api.ok(UnblockUser, { userId: bob.id }, alice.token)).unblockUser, { id: bob.id });
    assert.deepEqual((await api.ok(UnblockUser, { userId: bob.id }, alice.token)).unblockUser, { id: bob.id });
    assert.deepEqual(await blocked(alice), [carol.id]);

    // The same over graphql-ws.
    const socket = await connectSocket(api.wsUrl, alice.token);
    try {
      assert.deepEqual(await socket.execute(BlockUser, { userId: bob.id }), { data: { blockUser: { id: bob.id } } });
      assert.equal((await socket.execute(BlockedUsers, {})).data?.blockedUsers.edges.length, 2);
      assert.deepEqual(await socket.execute(UnblockUser, { userId: carol.id }), { data: { unblockUser: { id: carol.id } } });
      assert.deepEqual((await socket.execute(BlockedUsers, {})).data?.blockedUsers.edges, [{ node: { id: bob.id } }]);
    } finally {
      await socket.dispose();
    }
  });

  it('no direct messages between a blocker and the blocked, either way, until unblocked', async () => {
    const alice = await createUser(api, 'alice');
    const bob = await createUser(api, 'bob');
    const roomId = (await api.ok(BlocksOpenDirect, { userId: bob.id }, alice.token)).openDirectRoom.id;
    await send(api, bob, roomId, 'hi before');
    await api.ok(BlockUser, { userId: bob.id }, alice.token);

    const bobOpens = await api.request(BlocksOpenDirect, { userId: alice.id }, bob.token);
    assert.equal(codeOf(bobOpens), 'FORBIDDEN');
    assert.equal(messageOf(bobOpens), 'You cannot send direct messages to this user.', 'says nothing of a block');
    const bobSends = await api.request(BlocksSend, { input: { roomId, body: 'are you there?' } }, bob.token);
    assert.equal(codeOf(bobSends), 'FORBIDDEN');
    assert.equal(messageOf(bobSends), messageOf(bobOpens));
    const aliceSends = await api.request(BlocksSend, { input: { roomId, body: 'go away' } }, alice.token);
    assert.equal(codeOf(aliceSends), 'FORBIDDEN');
    assert.match(messageOf(aliceSends) ?? '', /unblock/);

    const bobSocket = await connectSocket(api.wsUrl, bob.token);
    try {
      assert.equal(codeOf(await bobSocket.execute(BlocksSend, { input: { roomId, body: 'over ws' } })), 'FORBIDDEN');
      assert.equal(codeOf(await bobSocket.execute(BlocksOpenDirect, { userId: alice.id })), 'FORBIDDEN');
    } finally {
      await bobSocket.dispose();
    }
    const history = await api.ok(BlocksHistory, { roomId }, alice.token);
    assert.deepEqual(history.room?.messages.edges.map(({ node }) => node.body), ['hi before'], 'nothing got through');

    await api.ok(UnblockUser, { userId: bob.id }, alice.token);
    assert.equal((await api.ok(BlocksOpenDirect, { userId: alice.id }, bob.token)).openDirectRoom.id, roomId);
    assert.equal((await api.ok(BlocksSend, { input: { roomId, body: 'hello again' } }, bob.token)).sendMessage.authorBlockedByMe, false);
  });

  it("marks a blocked user's messages in shared group rooms, for the blocker only, live and in history", async () => {
    const alice = await createUser(api, 'alice');
    const bob = await createUser(api, 'bob');
    const carol = await createUser(api, 'carol');
    const roomId = await createRoomWith(api, carol, [alice, bob]);
    const aliceSocket = await connectSocket(api.wsUrl, alice.token);
    const carolSocket = await connectSocket(api.wsUrl, carol.token);
    try {
      const aliceLive = await subscribeReady(api.server.app.bus, aliceSocket, BlocksMessages, { roomId });
      const carolLive = await subscribeReady(api.server.app.bus, carolSocket, BlocksMessages, { roomId });
      await send(api, bob, roomId, 'one');
      assert.equal((await aliceLive.next()).data?.messageAdded.authorBlockedByMe, false);
      assert.deepEqual(await aliceSocket.execute(BlockUser, { userId: bob.id }), { data: { blockUser: { id: bob.id } } });
      await send(api, bob, roomId, 'two');
      await send(api, carol, roomId, 'three');
      const aliceSaw = [(await aliceLive.next()).data?.messageAdded, (await aliceLive.next()).data?.messageAdded];
      assert.deepEqual(aliceSaw.map((message) => [message?.body, message?.authorBlockedByMe]), [['two', true], ['three', false]]);
      const carolSaw = [await carolLive.next(), await carolLive.next(), await carolLive.next()];
      assert.ok(carolSaw.every((result) => result.data?.messageAdded.authorBlockedByMe === false));

      const history = (viewer: TestUser) => api.ok(BlocksHistory, { roomId }, viewer.token);
      const marks = (data: Awaited<ReturnType<typeof history>>) => data.room?.messages.edges.map(({ node }) => [node.body, node.authorBlockedByMe]);
      assert.deepEqual(marks(await history(alice)), [['one', true], ['two', true], ['three', false]]);
      assert.deepEqual(marks(await history(carol)), [['one', false], ['two', false], ['three', false]]);
      const overSocket = await aliceSocket.execute(BlocksHistory, { roomId });
      assert.deepEqual(overSocket.data?.room?.messages.edges.map(({ node }) => node.authorBlockedByMe), [true, true, false]);
    } finally {
      await aliceSocket.dispose();
      await carolSocket.dispose();
    }
  });

  it('directMessages: EVERYONE, SHARED_ROOMS or NOBODY may open a direct room', async () => {
    const alice = await createUser(api, 'alice');
    const friend = await createUser(api, 'friend');
    const stranger = await createUser(api, 'stranger');
    await createRoomWith(api, friend, [alice]);
    const oldRoom = (await api.ok(BlocksOpenDirect, { userId: alice.id }, friend.token)).openDirectRoom.id;

    const setting = await api.ok(DirectMessagesSetting, { directMessages: 'SHARED_ROOMS' }, alice.token);
    assert.deepEqual(setting.updateProfile, { id: alice.id, directMessages: 'SHARED_ROOMS' });
    const refused = await api.request(BlocksOpenDirect, { userId: alice.id }, stranger.token);
    assert.equal(codeOf(refused), 'FORBIDDEN');
    assert.equal(messageOf(refused), 'You cannot send direct messages to this user.');
    const viewerOfFriend = await createUser(api, 'cofriend');
    await createRoomWith(api, viewerOfFriend, [alice]);
    assert.ok((await api.ok(BlocksOpenDirect, { userId: alice.id }, viewerOfFriend.token)).openDirectRoom.id, 'a shared room admits');

    const aliceSocket = await connectSocket(api.wsUrl, alice.token);
    try {
      assert.deepEqual(await aliceSocket.execute(DirectMessagesSetting, { directMessages: 'NOBODY' }), {
        data: { updateProfile: { id: alice.id, directMessages: 'NOBODY' } },
      });
    } finally {
      await aliceSocket.dispose();
    }
    const late = await createUser(api, 'late');
    await createRoomWith(api, late, [alice]);
    assert.equal(codeOf(await api.request(BlocksOpenDirect, { userId: alice.id }, late.token)), 'FORBIDDEN');
    // A direct room that exists stays open.
    assert.equal((await api.ok(BlocksOpenDirect, { userId: alice.id }, friend.token)).openDirectRoom.id, oldRoom);
    await send(api, friend, oldRoom, 'still here');

    // The setting is the user's own business; the display name is kept.
    const seen = await api.ok(BlocksUser, { id: alice.id }, stranger.token);
    assert.equal(seen.user?.directMessages, null);
    const own = await api.ok(BlocksUser, { id: alice.id }, alice.token);
    assert.deepEqual([own.user?.directMessages, own.me?.directMessages, own.me?.displayName], ['NOBODY', 'NOBODY', alice.username]);
    assert.equal(codeOf(await api.request(DirectMessagesSetting, {}, alice.token)), 'BAD_USER_INPUT', 'nothing to change');

    await api.ok(DirectMessagesSetting, { directMessages: 'EVERYONE' }, alice.token);
    assert.ok((await api.ok(BlocksOpenDirect, { userId: alice.id }, stranger.token)).openDirectRoom.id);
  });
});

// A block made on one instance applies on the other at once: its copy of the block list is dropped through Redis.
describe('blocks on several instances', { skip: unlessServicesShared }, () => {
  const instances = useTwoInstances();

  it('marks messages on the other instance once blocked', async () => {
    const { a, b } = instances;
    const alice = await createUser(a, 'alice');
    const bob = await createUser(a, 'bob');
    const roomId = await createRoomWith(a, alice, [bob]);
    const aliceOnB = await connectSocket(b.wsUrl, alice.token);
    try {
      const live = await subscribeReady(b.server.app.bus, aliceOnB, BlocksMessages, { roomId });
      await send(a, bob, roomId, 'before');
      assert.equal((await live.next()).data?.messageAdded.authorBlockedByMe, false, 'b has loaded the list');
      await a.ok(BlockUser, { userId: bob.id }, alice.token);
      // Redis delivers the block before the message published after it.
      await send(a, bob, roomId, 'after');
      assert.equal((await live.next()).data?.messageAdded.authorBlockedByMe, true);
      await a.ok(UnblockUser, { userId: bob.id }, alice.token);
      await send(a, bob, roomId, 'again');
      assert.equal((await live.next()).data?.messageAdded.authorBlockedByMe, false);
    } finally {
      await aliceOnB.dispose();
    }
  });
});
