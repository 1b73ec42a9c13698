import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { graphql } from './generated/gql.js';
import { unlessServicesShared } from './support/database.js';
import { startTestServer, TEST_JWT_SECRET, type TestServer, useTwoInstances } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { openEventStream } from './support/sse.js';
import { connectSocket } from './support/ws.js';

const SessionsLogIn = graphql(`
  mutation SessionsLogIn($input: LogInInput!) {
    logIn(input: $input) {
      token
    }
  }
`);

const MySessions = graphql(`
  query MySessions($first: Int, $after: String) {
    sessions(first: $first, after: $after) {
      edges {
        node {
          id
          createdAt
          lastSeenAt
          expiresAt
          userAgent
          current
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const SessionsMe = graphql(`
  query SessionsMe {
    me {
      id
    }
  }
`);

const LogOut = graphql(`
  mutation LogOut {
    logOut
  }
`);

const LogOutEverywhere = graphql(`
  mutation LogOutEverywhere($includingThisOne: Boolean) {
    logOutEverywhere(includingThisOne: $includingThisOne)
  }
`);

const EndSession = graphql(`
  mutation EndSession($id: ID!) {
    endSession(id: $id)
  }
`);

const SessionsEvents = graphql(`
  subscription SessionsEvents {
    myEvents {
      __typename
    }
  }
`);

const PASSWORD = 'correct horse battery';

/** Reads an event stream to its end: its last 'next' must be the refusal with code, then it completes. */
async function assertStreamEndsWith(stream: Awaited<ReturnType<typeof openEventStream>>, message: RegExp): Promise<void> {
  const last = await stream.next();
  assert.equal(last?.event, 'next');
  assert.equal(last?.data?.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  assert.match(last?.data?.errors?.[0]?.message ?? '', message);
  const end = await stream.next();
  assert.ok(end === undefined || end.event === 'complete', `ended with ${JSON.stringify(end)}`);
}

/** Another session of the same user. */
async function logInAgain(api: TestServer, user: TestUser): Promise<string> {
  return (await api.ok(SessionsLogIn, { input: { username: user.username, password: PASSWORD } })).logIn.token;
}

async function sessionIds(api: TestServer, token: string): Promise<{ id: string; current: boolean }[]> {
  const data = await api.ok(MySessions, { first: 100 }, token);
  return data.sessions.edges.map(({ node }) => ({ id: node.id, current: node.current }));
}

async function refused(api: TestServer, token: string): Promise<string | undefined> {
  const result = await api.request(SessionsMe, {}, token);
  return result.errors?.[0]?.extensions?.code;
}

describe('sessions', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  it('starts a session at sign-up and at each log-in, and lists them newest first', async () => {
    const user = await createUser(api, 'lister');
    const second = await logInAgain(api, user);
    const data = await api.ok(MySessions, {}, second);
    const nodes = data.sessions.edges.map(({ node }) => node);
    assert.equal(nodes.length, 2);
    assert.deepEqual(nodes.map((node) => node.current), [true, false]);
    assert.equal(nodes[0]!.userAgent, 'node', "fetch's User-Agent");
    assert.ok(nodes.every((node) => node.lastSeenAt >= node.createdAt && node.expiresAt > node.createdAt));

    const page = await api.ok(MySessions, { first: 1 }, second);
    assert.equal(page.sessions.pageInfo.hasNextPage, true);
    const rest = await api.ok(MySessions, { first: 1, after: page.sessions.pageInfo.endCursor }, second);
    assert.deepEqual(rest.sessions.edges.map(({ node }) => node.id), [nodes[1]!.id]);

    // Over graphql-ws, the socket's token decides which session is current.
    const socket = await connectSocket(api.wsUrl, user.token);
    try {
      const overSocket = await socket.execute(MySessions, {});
      assert.deepEqual(overSocket.data?.sessions.edges.map(({ node }) => node.current), [false, true]);
    } finally {
      await socket.dispose();
    }
    assert.equal((await api.request(MySessions, {})).errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  });

  it('logOut refuses the token over HTTP and closes its WebSockets with 4403', async () => {
    const user = await createUser(api, 'leaver');
    const other = await logInAgain(api, user);
    const socket = await connectSocket(api.wsUrl, user.token);
    const otherSocket = await connectSocket(api.wsUrl, other);
    try {
      assert.equal((await api.ok(LogOut, {}, user.token)).logOut, true);
      assert.equal((await socket.closed).code, 4403);
      assert.equal(await refused(api, user.token), 'UNAUTHENTICATED');
      const result = await api.request(SessionsMe, {}, user.token);
      assert.match(result.errors?.[0]?.message ?? '', /session has ended/);
      // The user's other session goes on.
      assert.equal((await api.ok(SessionsMe, {}, other)).me?.id, user.id);
      assert.equal((await otherSocket.execute(SessionsMe, {})).data?.me?.id, user.id);
      await assert.rejects(connectSocket(api.wsUrl, user.token), /4403/);
    } finally {
      await socket.dispose();
      await otherSocket.dispose();
    }
  });

  it('logOut over graphql-ws closes the socket it came on', async () => {
    const user = await createUser(api, 'wsleaver');
    const socket = await connectSocket(api.wsUrl, user.token);
    try {
      const result = await socket.execute(LogOut, {}).catch(() => null);
      // The close may beat the result to the client; either way the socket is closed with 4403.
      if (result) assert.equal(result.data?.logOut, true);
      assert.equal((await socket.closed).code, 4403);
      assert.equal(await refused(api, user.token), 'UNAUTHENTICATED');
    } finally {
      await socket.dispose();
    }
  });

  it("ends a subscription over server-sent events when its session ends, and not the session's neighbours", async () => {
    const user = await createUser(api, 'streamer');
    const other = await logInAgain(api, user);
    const stream = await openEventStream(api.url, SessionsEvents, {}, user.token);
    const otherStream = await openEventStream(api.url, SessionsEvents, {}, other);
    try {
      assert.equal(stream.response.status, 200);
      assert.equal((await api.ok(LogOut, {}, user.token)).logOut, true);
      await assertStreamEndsWith(stream, /session has ended/);
      // The other session's stream goes on: it still ends when its own session does.
      assert.equal((await api.ok(LogOutEverywhere, { includingThisOne: true }, other)).logOutEverywhere, 1);
      await assertStreamEndsWith(otherStream, /session has ended/);
    } finally {
      stream.close();
      otherStream.close();
    }
  });

  it('logOutEverywhere ends the other sessions, or all of them', async () => {
    const user = await createUser(api, 'everywhere');
    const second = await logInAgain(api, user);
    const third = await logInAgain(api, user);
    const socket = await connectSocket(api.wsUrl, second);
    try {
      assert.equal((await api.ok(LogOutEverywhere, {}, third)).logOutEverywhere, 2);
      assert.equal((await socket.closed).code, 4403);
      assert.equal(await refused(api, user.token), 'UNAUTHENTICATED');
      assert.equal(await refused(api, second), 'UNAUTHENTICATED');
      assert.deepEqual((await sessionIds(api, third)).map((session) => session.current), [true]);
    } finally {
      await socket.dispose();
    }

    const fourth = await logInAgain(api, user);
    const socketOfThird = await connectSocket(api.wsUrl, third);
    try {
      const result = await socketOfThird.execute(LogOutEverywhere, { includingThisOne: true }).catch(() => null);
      if (result) assert.equal(result.data?.logOutEverywhere, 2);
      assert.equal((await socketOfThird.closed).code, 4403);
      assert.equal(await refused(api, third), 'UNAUTHENTICATED');
      assert.equal(await refused(api, fourth), 'UNAUTHENTICATED');
    } finally {
      await socketOfThird.dispose();
    }
  });

  it("endSession ends one of the viewer's sessions, and only the viewer's", async () => {
    const user = await createUser(api, 'ender');
    const phone = await logInAgain(api, user);
    const stranger = await createUser(api, 'stranger');
    const phoneSession = (await sessionIds(api, phone)).find((session) => session.current)!.id;

    const notTheirs = await api.request(EndSession, { id: phoneSession }, stranger.token);
    assert.equal(notTheirs.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    const badId = await api.request(EndSession, { id: 'nonsense' }, user.token);
    assert.equal(badId.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    const anonymous = await api.request(EndSession, { id: phoneSession });
    assert.equal(anonymous.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.equal((await api.ok(SessionsMe, {}, phone)).me?.id, user.id, 'still live');

    const socket = await connectSocket(api.wsUrl, user.token);
    const phoneSocket = await connectSocket(api.wsUrl, phone);
    try {
      assert.deepEqual(await socket.execute(EndSession, { id: phoneSession }), { data: { endSession: true } });
      assert.equal((await phoneSocket.closed).code, 4403);
      assert.equal(await refused(api, phone), 'UNAUTHENTICATED');
      const again = await socket.execute(EndSession, { id: phoneSession });
      assert.equal(again.errors?.[0]?.extensions?.code, 'NOT_FOUND');
      assert.deepEqual((await sessionIds(api, user.token)).map((session) => session.current), [true]);
    } finally {
      await socket.dispose();
      await phoneSocket.dispose();
    }
  });

  it('refuses tokens issued before sessions existed (no session claim)', async () => {
    const user = await createUser(api, 'legacy');
    const legacy = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    const result = await api.request(SessionsMe, {}, legacy);
    assert.equal(result.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.match(result.errors?.[0]?.message ?? '', /log in again/);
    await assert.rejects(connectSocket(api.wsUrl, legacy), /4403/);
  });

  it('refuses a token whose session belongs to someone else', async () => {
    const alice = await createUser(api, 'alice');
    const mallory = await createUser(api, 'mallory');
    const aliceSession = (await sessionIds(api, alice.token))[0]!.id;
    const rawSession = Buffer.from(aliceSession, 'base64').toString().split(':').slice(1).join(':');
    const forged = await new SignJWT({ sid: rawSession })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(mallory.id)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    assert.equal(await refused(api, forged), 'UNAUTHENTICATED');
  });
});

// Two instances on one database and Redis: a session ended on one is refused, and its sockets closed, on the other.
describe('sessions on several instances', { skip: unlessServicesShared }, () => {
  const instances = useTwoInstances();

  it('ends a session everywhere', async () => {
    const { a, b } = instances;
    const user = await createUser(a, 'roamer');
    const laptop = await logInAgain(b, user);
    // Instance b has checked and remembered the session before it ends.
    assert.equal((await b.ok(SessionsMe, {}, user.token)).me?.id, user.id);
    const socketOnB = await connectSocket(b.wsUrl, user.token);
    try {
      const sessionOfToken = (await sessionIds(a, laptop)).find((session) => !session.current)!.id;
      assert.equal((await a.ok(EndSession, { id: sessionOfToken }, laptop)).endSession, true);
      assert.equal((await socketOnB.closed).code, 4403);
      assert.equal(await refused(b, user.token), 'UNAUTHENTICATED');
      assert.equal(await refused(a, user.token), 'UNAUTHENTICATED');
      assert.equal((await b.ok(SessionsMe, {}, laptop)).me?.id, user.id);
    } finally {
      await socketOnB.dispose();
    }
  });

  it('ends a server-sent-events subscription on one instance when its session ends on the other', async () => {
    const { a, b } = instances;
    const user = await createUser(a, 'sseroamer');
    const stream = await openEventStream(b.url, SessionsEvents, {}, user.token);
    try {
      assert.equal(stream.response.status, 200);
      assert.equal((await a.ok(LogOut, {}, user.token)).logOut, true);
      await assertStreamEndsWith(stream, /session has ended/);
    } finally {
      stream.close();
    }
  });
});

describe('a subscription over server-sent events at its token expiry', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer({ env: { TOKEN_TTL: '2s' } });
  });
  after(() => api.close());

  it('ends with UNAUTHENTICATED when the token expires', async () => {
    const user = await createUser(api, 'expiring');
    const stream = await openEventStream(api.url, SessionsEvents, {}, user.token);
    try {
      assert.equal(stream.response.status, 200);
      await assertStreamEndsWith(stream, /expired/);
    } finally {
      stream.close();
    }
  });
});
