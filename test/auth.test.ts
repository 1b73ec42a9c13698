import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { graphql } from './generated/gql.js';
import { startTestServer, uniqueName, type TestServer } from './support/server.js';
import { createUser } from './support/users.js';

const SignUp = graphql(`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) {
      token
      user {
        id
        username
        displayName
        createdAt
        presence {
          status
          lastSeenAt
        }
      }
    }
  }
`);

const LogIn = graphql(`
  mutation LogIn($input: LogInInput!) {
    logIn(input: $input) {
      token
      user {
        id
        username
      }
    }
  }
`);

const Me = graphql(`
  query Me {
    me {
      id
      username
      displayName
    }
  }
`);

const UpdateProfile = graphql(`
  mutation UpdateProfile($displayName: String!) {
    updateProfile(displayName: $displayName) {
      id
      displayName
    }
  }
`);

const UserById = graphql(`
  query UserById($id: ID!) {
    user(id: $id) {
      id
      username
    }
    node(id: $id) {
      id
      ... on User {
        username
      }
    }
  }
`);

const SearchUsers = graphql(`
  query SearchUsers($search: String, $first: Int, $after: String) {
    users(search: $search, first: $first, after: $after) {
      edges {
        cursor
        node {
          username
          displayName
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

describe('accounts and auth', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  it('signs up, logs in and answers me', async () => {
    const username = uniqueName('Alice');
    const signedUp = await api.ok(SignUp, { input: { username, password: 'password123', displayName: '  Alice A.  ' } });
    assert.equal(signedUp.signUp.user.username, username.toLowerCase());
    assert.equal(signedUp.signUp.user.displayName, 'Alice A.');
    assert.equal(signedUp.signUp.user.presence.status, 'OFFLINE');
    assert.equal(signedUp.signUp.user.presence.lastSeenAt, null);

    const loggedIn = await api.ok(LogIn, { input: { username: username.toUpperCase(), password: 'password123' } });
    assert.equal(loggedIn.logIn.user.id, signedUp.signUp.user.id);

    const me = await api.ok(Me, {}, loggedIn.logIn.token);
    assert.deepEqual(me.me, { id: signedUp.signUp.user.id, username: username.toLowerCase(), displayName: 'Alice A.' });
    assert.equal((await api.ok(Me, {})).me, null);
  });

  it('updates the profile of the viewer only', async () => {
    const alice = await createUser(api, 'alice');
    const updated = await api.ok(UpdateProfile, { displayName: 'Queen Alice' }, alice.token);
    assert.deepEqual(updated.updateProfile, { id: alice.id, displayName: 'Queen Alice' });
    assert.equal((await api.ok(Me, {}, alice.token)).me?.displayName, 'Queen Alice');

    const anonymous = await api.request(UpdateProfile, { displayName: 'x' });
    assert.equal(anonymous.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    const blank = await api.request(UpdateProfile, { displayName: '   ' }, alice.token);
    assert.equal(blank.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  });

  it('finds users by id, node and search', async () => {
    const viewer = await createUser(api, 'finder');
    const target = await createUser(api, 'zed');
    const byId = await api.ok(UserById, { id: target.id }, viewer.token);
    assert.equal(byId.user?.username, target.username);
    assert.equal(byId.node?.id, target.id);

    const found = await api.ok(SearchUsers, { search: target.username.toUpperCase() }, viewer.token);
    assert.deepEqual(found.users.edges.map((edge) => edge.node.username), [target.username]);

    const page1 = await api.ok(SearchUsers, { first: 2 }, viewer.token);
    assert.equal(page1.users.edges.length, 2);
    assert.equal(page1.users.pageInfo.hasNextPage, true);
    const page2 = await api.ok(SearchUsers, { first: 2, after: page1.users.pageInfo.endCursor }, viewer.token);
    const names = [...page1.users.edges, ...page2.users.edges].map((edge) => edge.node.username);
    const all = await api.ok(SearchUsers, { first: 100 }, viewer.token);
    assert.deepEqual(names, all.users.edges.slice(0, 4).map((edge) => edge.node.username), 'pages continue one another');
    assert.equal(new Set(names).size, names.length, 'pages do not overlap');

    const anonymous = await api.request(SearchUsers, {});
    assert.equal(anonymous.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  });

  it('rejects bad sign-ups and log-ins with contract codes', async () => {
    const taken = await createUser(api, 'taken');
    const cases: [string, { username: string; password: string; displayName?: string }, string][] = [
      ['duplicate username', { username: taken.username.toUpperCase(), password: 'password123' }, 'CONFLICT'],
      ['short username', { username: 'ab', password: 'password123' }, 'BAD_USER_INPUT'],
      ['bad characters', { username: 'bad name!', password: 'password123' }, 'BAD_USER_INPUT'],
      ['long username', { username: 'a'.repeat(33), password: 'password123' }, 'BAD_USER_INPUT'],
      ['short password', { username: uniqueName('pw'), password: 'short' }, 'BAD_USER_INPUT'],
    ];
    for (const [label, input, code] of cases) {
      const result = await api.request(SignUp, { input });
      assert.equal(result.errors?.[0]?.extensions?.code, code, label);
      assert.equal(result.data, null, label);
    }

    const wrongPassword = await api.request(LogIn, { input: { username: taken.username, password: 'wrong-password' } });
    const noSuchUser = await api.request(LogIn, { input: { username: uniqueName('ghost'), password: 'wrong-password' } });
    assert.equal(wrongPassword.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.equal(noSuchUser.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.equal(wrongPassword.errors?.[0]?.message, noSuchUser.errors?.[0]?.message, 'same message either way');
  });

  it('refuses invalid tokens', async () => {
    const result = await api.request(Me, {}, 'not-a-token');
    assert.equal(result.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  });
});
