import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { graphql } from './generated/gql.js';
import { createRoomWith, send } from './support/chat.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { connectSocket, subscribeReady } from './support/ws.js';

const DeleteAccount = graphql(`
  mutation DeleteAccount($password: String!) {
    deleteAccount(password: $password)
  }
`);

const DeletedOpenDirect = graphql(`
  mutation DeletedOpenDirect($userId: ID!) {
    openDirectRoom(userId: $userId) {
      id
    }
  }
`);

const DeletedRoom = graphql(`
  query DeletedRoom($roomId: ID!) {
    room(id: $roomId) {
      myMembership {
        role
      }
      memberCount
      messages(last: 10) {
        edges {
          node {
            body
            author {
              id
            }
          }
        }
      }
    }
  }
`);

const DeletedMyEvents = graphql(`
  subscription DeletedMyEvents {
    myEvents {
      __typename
      ... on RoomDeleted {
        roomId
      }
    }
  }
`);

const DeletedRoomEvents = graphql(`
  subscription DeletedRoomEvents($roomId: ID!) {
    roomEvents(roomId: $roomId) {
      __typename
      ... on MemberLeft {
        reason
      }
    }
  }
`);

const DeletedLogIn = graphql(`
  mutation DeletedLogIn($input: LogInInput!) {
    logIn(input: $input) {
      token
    }
  }
`);

const DeletedSignUp = graphql(`
  mutation DeletedSignUp($input: SignUpInput!) {
    signUp(input: $input) {
      user {
        username
      }
    }
  }
`);

const DeletedMe = graphql(`
  query DeletedMe {
    me {
      id
    }
  }
`);

const PASSWORD = 'correct horse battery';
const codeOf = (result: { errors?: { extensions?: { code?: string } }[] }) => result.errors?.[0]?.extensions?.code;

describe('deleting an account', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  it('ends sessions, leaves group rooms, deletes direct rooms, keeps group messages without an author', async () => {
    const leaver = await createUser(api, 'leaver');
    const friend = await createUser(api, 'friend');
    const group = await createRoomWith(api, leaver, [friend]);
    await send(api, leaver, group, 'remember me');
    const direct = (await api.ok(DeletedOpenDirect, { userId: friend.id }, leaver.token)).openDirectRoom.id;
    await send(api, leaver, direct, 'just us');

    const leaverSocket = await connectSocket(api.wsUrl, leaver.token);
    const friendSocket = await connectSocket(api.wsUrl, friend.token);
    try {
      // Subscribed on the group room and myEvents (the user topic and both rooms).
      const groupEvents = await subscribeReady(api.server.app.bus, friendSocket, DeletedRoomEvents, { roomId: group });
      const mine = await subscribeReady(api.server.app.bus, friendSocket, DeletedMyEvents, {}, 3);

      assert.equal(codeOf(await api.request(DeleteAccount, { password: 'not my password' }, leaver.token)), 'BAD_USER_INPUT');
      assert.equal(codeOf(await api.request(DeleteAccount, { password: PASSWORD })), 'UNAUTHENTICATED');
      assert.equal((await api.ok(DeletedMe, {}, leaver.token)).me?.id, leaver.id, 'a refusal deletes nothing');

      assert.equal((await api.ok(DeleteAccount, { password: PASSWORD }, leaver.token)).deleteAccount, true);
      assert.equal((await leaverSocket.closed).code, 4403);
      assert.equal(codeOf(await api.request(DeletedMe, {}, leaver.token)), 'UNAUTHENTICATED');
      assert.equal(codeOf(await api.request(DeletedLogIn, { input: { username: leaver.username, password: PASSWORD } })), 'UNAUTHENTICATED');

      const left = await groupEvents.next();
      assert.deepEqual(left.data?.roomEvents, { __typename: 'MemberLeft', reason: 'LEFT' });
      // Before it, the friend hears of their new role in the group room (RoomUpdated).
      const seen: string[] = [];
      let event = (await mine.next()).data?.myEvents;
      while (event?.__typename !== 'RoomDeleted') {
        seen.push(event?.__typename ?? 'nothing');
        assert.ok(seen.length < 5, JSON.stringify(seen));
        event = (await mine.next()).data?.myEvents;
      }
      assert.equal(event.roomId, direct);

      const room = await api.ok(DeletedRoom, { roomId: group }, friend.token);
      assert.equal(room.room?.myMembership?.role, 'OWNER', 'the room passed to its successor');
      assert.equal(room.room?.memberCount, 1);
      assert.deepEqual(room.room?.messages.edges.map(({ node }) => [node.body, node.author]), [['remember me', null]]);
      assert.equal((await api.ok(DeletedRoom, { roomId: direct }, friend.token)).room, null, 'the direct room is gone');
    } finally {
      await leaverSocket.dispose();
      await friendSocket.dispose();
    }

    // The name is free again.
    const again = await api.ok(DeletedSignUp, { input: { username: leaver.username, password: PASSWORD } });
    assert.equal(again.signUp.user.username, leaver.username);
  });

  it('over graphql-ws', async () => {
    const user: TestUser = await createUser(api, 'wsleaver');
    const socket = await connectSocket(api.wsUrl, user.token);
    try {
      assert.equal(codeOf(await socket.execute(DeleteAccount, { password: 'not my password' })), 'BAD_USER_INPUT');
      const result = await socket.execute(DeleteAccount, { password: PASSWORD }).catch(() => null);
      // The close may beat the result to the client; either way the socket is closed with 4403.
      if (result) assert.equal(result.data?.deleteAccount, true);
      assert.equal((await socket.closed).code, 4403);
    } finally {
      await socket.dispose();
    }
    assert.equal(codeOf(await api.request(DeletedLogIn, { input: { username: user.username, password: PASSWORD } })), 'UNAUTHENTICATED');
  });
});
