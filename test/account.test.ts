import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { graphql } from './generated/gql.js';
import { createRoomWith } from './support/chat.js';
import { startTestServer, uniqueName, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { connectSocket, subscribeReady } from './support/ws.js';

const ChangePassword = graphql(`
  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {
    changePassword(currentPassword: $currentPassword, newPassword: $newPassword) {
      id
    }
  }
`);

const ChangeUsername = graphql(`
  mutation ChangeUsername($username: String!) {
    changeUsername(username: $username) {
      id
      username
    }
  }
`);

const AccountRename = graphql(`
  mutation AccountRename($displayName: String!) {
    updateProfile(displayName: $displayName) {
      id
    }
  }
`);

const AccountLogIn = graphql(`
  mutation AccountLogIn($input: LogInInput!) {
    logIn(input: $input) {
      token
    }
  }
`);

const AccountMe = graphql(`
  query AccountMe {
    me {
      username
    }
  }
`);

const AccountRoomEvents = graphql(`
  subscription AccountRoomEvents($roomId: ID!) {
    roomEvents(roomId: $roomId) {
      __typename
      ... on UserUpdated {
        user {
          id
          username
          displayName
        }
      }
    }
  }
`);

const AccountMyEvents = graphql(`
  subscription AccountMyEvents {
    myEvents {
      __typename
      ... on UserUpdated {
        user {
          id
          username
        }
      }
    }
  }
`);

const PASSWORD = 'correct horse battery';

const codeOf = (result: { errors?: { extensions?: { code?: string } }[] }) => result.errors?.[0]?.extensions?.code;

describe('changing password and username', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  const logIn = (username: string, password: string) => api.request(AccountLogIn, { input: { username, password } });

  it('changePassword checks the current password, and ends every other session', async () => {
    const user = await createUser(api, 'changer');
    const other = (await api.ok(AccountLogIn, { input: { username: user.username, password: PASSWORD } })).logIn.token;
    const otherSocket = await connectSocket(api.wsUrl, other);
    try {
      const wrong = await api.request(ChangePassword, { currentPassword: 'not it at all', newPassword: 'a new password' }, user.token);
      assert.equal(codeOf(wrong), 'BAD_USER_INPUT');
      assert.equal(wrong.errors?.[0]?.extensions?.field, 'currentPassword');
      const short = await api.request(ChangePassword, { currentPassword: PASSWORD, newPassword: 'short' }, user.token);
      assert.equal(codeOf(short), 'BAD_USER_INPUT');
      assert.equal(short.errors?.[0]?.extensions?.field, 'newPassword');
      const anonymous = await api.request(ChangePassword, { currentPassword: PASSWORD, newPassword: 'a new password' });
      assert.equal(codeOf(anonymous), 'UNAUTHENTICATED');
      assert.equal((await api.ok(AccountMe, {}, other)).me?.username, user.username, 'refusals end nothing');

      const changed = await api.ok(ChangePassword, { currentPassword: PASSWORD, newPassword: 'a new password' }, user.token);
      assert.equal(changed.changePassword.id, user.id);
      assert.equal((await otherSocket.closed).code, 4403);
      assert.equal(codeOf(await api.request(AccountMe, {}, other)), 'UNAUTHENTICATED');
      assert.equal((await api.ok(AccountMe, {}, user.token)).me?.username, user.username, 'this session goes on');
      assert.equal(codeOf(await logIn(user.username, PASSWORD)), 'UNAUTHENTICATED');
      assert.ok((await logIn(user.username, 'a new password')).data?.logIn.token);
    } finally {
      await otherSocket.dispose();
    }
  });

  it('changePassword over graphql-ws', async () => {
    const user = await createUser(api, 'wschanger');
    const socket = await connectSocket(api.wsUrl, user.token);
    try {
      const wrong = await socket.execute(ChangePassword, { currentPassword: 'not it at all', newPassword: 'another password' });
      assert.equal(codeOf(wrong), 'BAD_USER_INPUT');
      const changed = await socket.execute(ChangePassword, { currentPassword: PASSWORD, newPassword: 'another password' });
      assert.deepEqual(changed, { data: { changePassword: { id: user.id } } });
      assert.equal((await socket.execute(AccountMe, {})).data?.me?.username, user.username);
    } finally {
      await socket.dispose();
    }
    assert.ok((await logIn(user.username, 'another password')).data?.logIn.token);
  });

  it('changeUsername applies sign-up rules', async () => {
    const user = await createUser(api, 'renamer');
    const taken = await createUser(api, 'taken');
    assert.equal(codeOf(await api.request(ChangeUsername, { username: 'no spaces!' }, user.token)), 'BAD_USER_INPUT');
    assert.equal(codeOf(await api.request(ChangeUsername, { username: 'ab' }, user.token)), 'BAD_USER_INPUT');
    assert.equal(codeOf(await api.request(ChangeUsername, { username: taken.username.toUpperCase() }, user.token)), 'CONFLICT');
    assert.equal(codeOf(await api.request(ChangeUsername, { username: uniqueName('anon') })), 'UNAUTHENTICATED');

    const wanted = uniqueName('Renamed');
    const renamed = await api.ok(ChangeUsername, { username: `  ${wanted} ` }, user.token);
    assert.deepEqual(renamed.changeUsername, { id: user.id, username: wanted.toLowerCase() });
    assert.ok((await logIn(wanted, PASSWORD)).data?.logIn.token, 'logs in with the new name');
    assert.equal(codeOf(await logIn(user.username, PASSWORD)), 'UNAUTHENTICATED', 'not with the old one');
    assert.equal((await api.ok(AccountMe, {}, user.token)).me?.username, wanted.toLowerCase(), 'the token stays valid');
  });

  it('members of shared rooms see the new name: UserUpdated on roomEvents, once on myEvents', async () => {
    const renamer = await createUser(api, 'shown');
    const watcher = await createUser(api, 'watcher');
    const first = await createRoomWith(api, renamer, [watcher]);
    await createRoomWith(api, watcher, [renamer]);
    const socket = await connectSocket(api.wsUrl, watcher.token);
    try {
      const roomEvents = await subscribeReady(api.server.app.bus, socket, AccountRoomEvents, { roomId: first });
      // myEvents follows the watcher's user topic and both rooms.
      const myEvents = await subscribeReady(api.server.app.bus, socket, AccountMyEvents, {}, 3);

      const wanted = uniqueName('newname').toLowerCase();
      await api.ok(ChangeUsername, { username: wanted }, renamer.token);
      const over = await roomEvents.next();
      assert.deepEqual(over.data?.roomEvents, {
        __typename: 'UserUpdated',
        user: { id: renamer.id, username: wanted, displayName: renamer.username },
      });
      assert.deepEqual((await myEvents.next()).data?.myEvents, { __typename: 'UserUpdated', user: { id: renamer.id, username: wanted } });

      // A display name change is announced the same way (over graphql-ws this time).
      const renamerSocket = await connectSocket(api.wsUrl, renamer.token);
      try {
        assert.deepEqual(await renamerSocket.execute(AccountRename, { displayName: 'Shown Anew' }), { data: { updateProfile: { id: renamer.id } } });
      } finally {
        await renamerSocket.dispose();
      }
      const renamed = (await roomEvents.next()).data?.roomEvents;
      assert.ok(renamed?.__typename === 'UserUpdated');
      assert.equal(renamed.user.displayName, 'Shown Anew');
      assert.deepEqual((await myEvents.next()).data?.myEvents, { __typename: 'UserUpdated', user: { id: renamer.id, username: wanted } });
      assert.deepEqual(myEvents.pending(), [], 'one UserUpdated per change, not one per shared room');
    } finally {
      await socket.dispose();
    }
  });

  it('changeUsername over graphql-ws', async () => {
    const user = await createUser(api, 'wsrenamer');
    const socket = await connectSocket(api.wsUrl, user.token);
    try {
      const wanted = uniqueName('wsnew').toLowerCase();
      assert.deepEqual(await socket.execute(ChangeUsername, { username: wanted }), {
        data: { changeUsername: { id: user.id, username: wanted } },
      });
      assert.equal(codeOf(await socket.execute(ChangeUsername, { username: 'x' })), 'BAD_USER_INPUT');
    } finally {
      await socket.dispose();
    }
  });
});

describe('a wrong current password and the log-in throttle', () => {
  let api: TestServer;
  let user: TestUser;
  before(async () => {
    api = await startTestServer({ env: { LOGIN_FAILURES_PER_ACCOUNT: '2/1h', LOGIN_LOCKOUT: '15m' } });
    user = await createUser(api, 'guessed');
  });
  after(() => api.close());

  it('counts toward the lockout of the account', async () => {
    for (let i = 0; i < 2; i++) {
      const wrong = await api.request(ChangePassword, { currentPassword: `guess number ${i}`, newPassword: 'a new password' }, user.token);
      assert.equal(codeOf(wrong), 'BAD_USER_INPUT');
    }
    const locked = await api.request(ChangePassword, { currentPassword: PASSWORD, newPassword: 'a new password' }, user.token);
    assert.equal(codeOf(locked), 'RATE_LIMITED');
    const logIn = await api.request(AccountLogIn, { input: { username: user.username, password: PASSWORD } });
    assert.equal(codeOf(logIn), 'RATE_LIMITED', 'the right password is refused during the lockout');
  });
});
