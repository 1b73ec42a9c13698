import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { graphql } from './generated/gql.js';
import { createRoomWith, send } from './support/chat.js';
import { startTestServer, uniqueName, type GraphQLErrorJson, type TestServer } from './support/server.js';
import { createUser } from './support/users.js';
import { connectSocket, subscribeReady, type SocketClient } from './support/ws.js';

const WsSignUp = graphql(`
  mutation WsSignUp($input: SignUpInput!) {
    signUp(input: $input) {
      token
      user {
        id
        username
      }
    }
  }
`);

const WsMe = graphql(`
  query WsMe {
    me {
      id
      username
    }
  }
`);

const WsCreateRoom = graphql(`
  mutation WsCreateRoom($input: CreateRoomInput!) {
    createRoom(input: $input) {
      id
      name
      memberCount
    }
  }
`);

const WsSend = graphql(`
  mutation WsSend($input: SendMessageInput!) {
    sendMessage(input: $input) {
      id
      seq
      body
      author {
        id
      }
    }
  }
`);

const WsRoomHistory = graphql(`
  query WsRoomHistory($id: ID!) {
    room(id: $id) {
      id
      name
      lastSeq
      messages(last: 10) {
        edges {
          node {
            seq
            body
            author {
              username
            }
          }
        }
      }
    }
  }
`);

const WsMessages = graphql(`
  subscription WsMessages($roomId: ID!) {
    messageAdded(roomId: $roomId) {
      seq
      body
    }
  }
`);

const WsPresence = graphql(`
  query WsPresence($id: ID!) {
    user(id: $id) {
      presence {
        status
      }
    }
  }
`);

const contractCodes = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'CONFLICT',
  'RATE_LIMITED',
  'PAYLOAD_TOO_LARGE',
  'UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
]);

/** Every error the server wrote on the socket, from its raw frames: `error` messages and results' errors. */
function errorsInFrames(socket: SocketClient): GraphQLErrorJson[] {
  return socket.frames.flatMap((frame) => {
    const message = JSON.parse(frame) as { type: string; payload?: unknown };
    if (message.type === 'error') return message.payload as GraphQLErrorJson[];
    if (message.type === 'next') return (message.payload as { errors?: GraphQLErrorJson[] }).errors ?? [];
    return [];
  });
}

/** No frame mentions HTTP details, and every error in them has a contract code. */
function assertContractFrames(socket: SocketClient): void {
  for (const frame of socket.frames) assert.doesNotMatch(frame, /"http"/, frame);
  for (const error of errorsInFrames(socket)) {
    assert.ok(contractCodes.has(error.extensions?.code ?? ''), `not a contract code: ${JSON.stringify(error)}`);
  }
}

const bearer = (token: string) => `Bearer ${token}`;

describe('every operation over graphql-ws', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  it('runs mutations and queries over the socket exactly as over HTTP', async () => {
    const socket = await connectSocket(api.wsUrl);
    try {
      const username = uniqueName('wsuser');
      const signedUp = await socket.execute(WsSignUp, { input: { username, password: 'correct horse battery' } });
      assert.equal(signedUp.errors, undefined, JSON.stringify(signedUp.errors));
      const { token, user } = signedUp.data!.signUp;
      assert.equal(user.username, username);
      // The token works on HTTP as it does on the socket.
      assert.deepEqual(await api.ok(WsMe, {}, token), { me: user });

      const signedIn = await connectSocket(api.wsUrl, token);
      try {
        assert.deepEqual((await signedIn.execute(WsMe)).data, { me: user });
        const created = await signedIn.execute(WsCreateRoom, { input: { name: 'over the socket', visibility: 'PRIVATE' } });
        assert.equal(created.errors, undefined, JSON.stringify(created.errors));
        const room = created.data!.createRoom;
        assert.deepEqual({ name: room.name, memberCount: room.memberCount }, { name: 'over the socket', memberCount: 1 });

        // A retried send with the same clientMessageId returns the original message, over the socket too.
        const input = { roomId: room.id, body: 'hello from the socket', clientMessageId: 'ws-retry-1' };
        const first = await signedIn.execute(WsSend, { input });
        const retry = await signedIn.execute(WsSend, { input });
        assert.equal(first.errors, undefined, JSON.stringify(first.errors));
        assert.deepEqual(retry.data, first.data);
        assert.deepEqual(first.data!.sendMessage, { id: first.data!.sendMessage.id, seq: 1, body: 'hello from the socket', author: { id: user.id } });
        const second = await signedIn.execute(WsSend, { input: { roomId: room.id, body: 'second', clientMessageId: 'ws-retry-2' } });
        assert.equal(second.data!.sendMessage.seq, 2);

        // The same query answers the same over both transports.
        const overSocket = await signedIn.execute(WsRoomHistory, { id: room.id });
        const overHttp = await api.request(WsRoomHistory, { id: room.id }, token);
        assert.deepEqual(overSocket, { data: overHttp.data });
        assert.deepEqual(
          overSocket.data!.room!.messages.edges.map((edge) => [edge.node.seq, edge.node.body]),
          [
            [1, 'hello from the socket'],
            [2, 'second'],
          ],
        );
        assertContractFrames(signedIn);
      } finally {
        await signedIn.dispose();
      }
    } finally {
      await socket.dispose();
    }
  });

  it('carries a subscription and the mutations that feed it on one socket', async () => {
    const owner = await createUser(api, 'wsowner');
    const roomId = await createRoomWith(api, owner, []);
    const socket = await connectSocket(api.wsUrl, owner.token);
    try {
      const messages = await subscribeReady(api.server.app.bus, socket, WsMessages, { roomId });
      for (const body of ['one', 'two', 'three']) {
        const sent = await socket.execute(WsSend, { input: { roomId, body } });
        assert.equal(sent.errors, undefined, JSON.stringify(sent.errors));
      }
      const received = [await messages.next(), await messages.next(), await messages.next()];
      assert.deepEqual(
        received.map((result) => result.data?.messageAdded),
        [
          { seq: 1, body: 'one' },
          { seq: 2, body: 'two' },
          { seq: 3, body: 'three' },
        ],
      );
      messages.unsubscribe();
    } finally {
      await socket.dispose();
    }
  });

  it('answers errors over the socket with the same contract codes as HTTP, and no HTTP details', async () => {
    const owner = await createUser(api, 'wserrors');
    const otherRoom = await createRoomWith(api, await createUser(api, 'wsother'), [], 'PUBLIC');
    const socket = await connectSocket(api.wsUrl);
    const signedIn = await connectSocket(api.wsUrl, owner.token);
    try {
      const raw = (query: string, variables?: Record<string, unknown>, operationName?: string) =>
        new Promise<{ errors?: GraphQLErrorJson[] }>((resolve, reject) => {
          let result: { errors?: GraphQLErrorJson[] } = {};
          socket.client.subscribe(
            { query, variables, operationName },
            {
              next: (value) => (result = value as typeof result),
              error: (error) => (Array.isArray(error) ? resolve({ errors: error as GraphQLErrorJson[] }) : reject(error)),
              complete: () => resolve(result),
            },
          );
        });
      const cases: [string, () => Promise<{ errors?: GraphQLErrorJson[] }>, string, string][] = [
        ['signed out', () => socket.execute(WsCreateRoom, { input: { name: 'nope' } }), 'UNAUTHENTICATED', ''],
        ['syntax error', () => raw('{ me { '), 'BAD_USER_INPUT', 'Syntax Error'],
        ['unknown field', () => raw('{ me { nope } }'), 'BAD_USER_INPUT', 'Cannot query field'],
        ['unknown operation name', () => raw('query A { me { id } }', undefined, 'B'), 'BAD_USER_INPUT', ''],
        ['two operations, no name', () => raw('query A { me { id } } query B { me { id } }'), 'BAD_USER_INPUT', ''],
        ['invalid variables', () => raw('query ($id: ID!) { user(id: $id) { id } }', { id: { not: 'an id' } }), 'BAD_USER_INPUT', ''],
        ['missing variable', () => raw('query ($id: ID!) { user(id: $id) { id } }'), 'BAD_USER_INPUT', ''],
        ['bad input', () => signedIn.execute(WsCreateRoom, { input: { name: '' } }), 'BAD_USER_INPUT', ''],
        ['not a member', () => signedIn.execute(WsSend, { input: { roomId: otherRoom, body: 'x' } }), 'FORBIDDEN', ''],
      ];
      for (const [label, run, code, message] of cases) {
        const result = await run();
        assert.equal(result.errors?.[0]?.extensions?.code, code, `${label}: ${JSON.stringify(result.errors)}`);
        assert.match(result.errors?.[0]?.message ?? '', new RegExp(message), label);
      }
      // The same mistakes over HTTP carry the same codes.
      assert.equal((await api.request(WsCreateRoom, { input: { name: 'nope' } })).errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
      assertContractFrames(socket);
      assertContractFrames(signedIn);
      assert.ok(errorsInFrames(socket).length >= 7);
    } finally {
      await socket.dispose();
      await signedIn.dispose();
    }
  });
});

describe('the same limits over graphql-ws', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer({
      env: { MAX_QUERY_DEPTH: '4', MAX_ALIASES: '3', MAX_TOKENS: '60', MAX_COST: '300', MAX_WS_PAYLOAD_BYTES: '4000' },
    });
  });
  after(() => api.close());

  it('refuses what HTTP refuses, with the same error', async () => {
    const socket = await connectSocket(api.wsUrl);
    try {
      const documents: [string, string, RegExp][] = [
        ['depth', '{ users(first: 1) { edges { node { presence { status } } } } }', /depth/i],
        ['aliases', '{ a: me { id } b: me { id } c: me { id } d: me { id } }', /alias/i],
        ['tokens', `{ me { ${'id '.repeat(80)}} }`, /token/i],
        ['cost', '{ rooms(first: 100) { edges { node { members(first: 100) { edges { node { user { id } } } } } } } }', /cost/i],
      ];
      for (const [limit, query, message] of documents) {
        const overHttp = await fetch(api.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
          body: JSON.stringify({ query }),
        });
        const httpErrors = ((await overHttp.json()) as { errors?: GraphQLErrorJson[] }).errors;
        assert.equal(httpErrors?.[0]?.extensions?.code, 'BAD_USER_INPUT', `${limit} over HTTP: ${JSON.stringify(httpErrors)}`);
        assert.match(httpErrors![0]!.message, message, limit);
        const overSocket = () =>
          new Promise<GraphQLErrorJson[]>((resolve, reject) => {
            socket.client.subscribe(
              { query },
              {
                next: () => reject(new Error(`${limit}: the socket ran what HTTP refused`)),
                error: (error) => (Array.isArray(error) ? resolve(error as GraphQLErrorJson[]) : reject(error)),
                complete: () => reject(new Error(`${limit}: completed without an error`)),
              },
            );
          });
        // Twice: the socket skips validating documents it found valid before, never ones it refused.
        for (const attempt of [1, 2]) {
          assert.deepEqual(
            (await overSocket()).map((error) => [error.message, error.extensions?.code]),
            httpErrors!.map((error) => [error.message, error.extensions?.code]),
            `${limit}, attempt ${attempt}`,
          );
        }
      }
      assertContractFrames(socket);
    } finally {
      await socket.dispose();
    }
  });

  it('closes a socket that sends a message over MAX_WS_PAYLOAD_BYTES (1009)', async () => {
    const socket = await connectSocket(api.wsUrl);
    socket.subscribe(WsMe, {}, { padding: 'x'.repeat(5000) });
    assert.equal((await socket.closed).code, 1009);
    await socket.dispose();
  });
});

describe('a token wherever the client puts it', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  it('signs the socket in from connectionParams (authToken, Authorization) or the upgrade request', async () => {
    const user = await createUser(api, 'wsplaces');
    const places: [string, Parameters<typeof connectSocket>[1]][] = [
      ['authToken', user.token],
      ['authToken with Bearer', { connectionParams: { authToken: bearer(user.token) } }],
      ['Authorization', { connectionParams: { Authorization: bearer(user.token) } }],
      ['authorization', { connectionParams: { authorization: bearer(user.token) } }],
      ['upgrade request header', { headers: { authorization: bearer(user.token) } }],
    ];
    for (const [label, auth] of places) {
      const socket = await connectSocket(api.wsUrl, auth);
      try {
        assert.deepEqual((await socket.execute(WsMe)).data, { me: { id: user.id, username: user.username } }, label);
      } finally {
        await socket.dispose();
      }
    }
  });

  it('refuses a bad token at connect with 4403, wherever it is', async () => {
    const user = await createUser(api, 'wsbadplaces');
    const places: [string, Parameters<typeof connectSocket>[1]][] = [
      ['authToken', 'garbage'],
      ['authToken not a string', { connectionParams: { authToken: 42 } }],
      ['Authorization not Bearer', { connectionParams: { Authorization: `Basic ${user.token}` } }],
      ['authorization invalid', { connectionParams: { authorization: 'Bearer garbage' } }],
      ['upgrade request header', { headers: { authorization: 'Bearer garbage' } }],
    ];
    for (const [label, auth] of places) {
      await assert.rejects(connectSocket(api.wsUrl, auth), /4403/, label);
    }
  });

  it("runs an operation as its own extensions.headers.Authorization says (GraphiQL's Headers tab)", async () => {
    const alice = await createUser(api, 'wsalice');
    const bob = await createUser(api, 'wsbob');
    const anonymous = await connectSocket(api.wsUrl);
    const asAlice = await connectSocket(api.wsUrl, alice.token);
    try {
      const me = (socket: SocketClient, headers?: Record<string, string>) =>
        socket.execute(WsMe, {}, headers ? { headers } : undefined).then((result) => result.data?.me?.id ?? null);
      assert.equal(await me(anonymous), null);
      assert.equal(await me(anonymous, { Authorization: bearer(bob.token) }), bob.id);
      assert.equal(await me(anonymous, { authorization: bearer(alice.token) }), alice.id);
      // The operation's own token wins for that operation; the socket's serves the rest.
      assert.equal(await me(asAlice, { Authorization: bearer(bob.token) }), bob.id);
      assert.equal(await me(asAlice), alice.id);
      assert.equal(await me(asAlice, {}), alice.id);
      // An empty Authorization (GraphiQL's Headers tab before the token is pasted in) is no token.
      assert.equal(await me(asAlice, { Authorization: '' }), alice.id);
      assert.equal(await me(anonymous, { Authorization: '' }), null);
      assert.equal(await me(anonymous), null);
      const overHttp = await fetch(api.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: '' },
        body: JSON.stringify({ query: '{ me { id } }' }),
      });
      assert.deepEqual(await overHttp.json(), { data: { me: null } });
      // A mutation runs as the operation's token says too.
      const roomId = await createRoomWith(api, alice, [bob]);
      const sent = await anonymous.execute(WsSend, { input: { roomId, body: 'by header' } }, { headers: { Authorization: bearer(bob.token) } });
      assert.equal(sent.data?.sendMessage.author?.id, bob.id);
    } finally {
      await anonymous.dispose();
      await asAlice.dispose();
    }
  });

  it('refuses an operation whose own token is bad with UNAUTHENTICATED, and keeps the socket', async () => {
    const user = await createUser(api, 'wsbadop');
    const socket = await connectSocket(api.wsUrl, user.token);
    try {
      for (const headers of [{ Authorization: 'Bearer garbage' }, { Authorization: `Basic ${user.token}` }, { authorization: 42 }]) {
        const result = await socket.execute(WsMe, {}, { headers });
        assert.equal(result.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', JSON.stringify(headers));
        assert.equal(result.data, undefined);
      }
      assert.equal((await socket.execute(WsMe)).data?.me?.id, user.id);
      assertContractFrames(socket);
    } finally {
      await socket.dispose();
    }
  });

  it('runs a subscription signed in by its own token, and counts the user online while the socket is open', async () => {
    const owner = await createUser(api, 'wssubowner');
    const member = await createUser(api, 'wssubmember');
    const roomId = await createRoomWith(api, owner, [member]);
    const socket = await connectSocket(api.wsUrl);
    try {
      const presence = async () => (await api.ok(WsPresence, { id: member.id }, owner.token)).user?.presence.status;
      assert.equal(await presence(), 'OFFLINE');
      const headers = { headers: { Authorization: bearer(member.token) } };
      const before = api.server.app.bus.activeSubscriptions();
      const messages = socket.subscribe(WsMessages, { roomId }, headers);
      while (api.server.app.bus.activeSubscriptions() === before) await new Promise((resolve) => setTimeout(resolve, 10));
      // From the first operation that brings a valid token, the socket is one of the user's connections.
      assert.equal(await presence(), 'ONLINE');
      await send(api, owner, roomId, 'seen by a header-signed subscription');
      assert.deepEqual((await messages.next()).data, { messageAdded: { seq: 1, body: 'seen by a header-signed subscription' } });
      messages.unsubscribe();
      await socket.dispose();
      for (let waited = 0; (await presence()) !== 'OFFLINE'; waited += 50) {
        if (waited > 5000) throw new Error('still online 5 s after the socket closed');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await socket.dispose();
    }
  });

  it('refuses a subscription without a token, and a signed-out query is answered as anonymous', async () => {
    const owner = await createUser(api, 'wsanon');
    const roomId = await createRoomWith(api, owner, []);
    const socket = await connectSocket(api.wsUrl);
    try {
      const messages = socket.subscribe(WsMessages, { roomId });
      const { error } = await messages.done;
      assert.equal((error as GraphQLErrorJson[])[0]?.extensions?.code, 'UNAUTHENTICATED');
      assert.deepEqual((await socket.execute(WsMe)).data, { me: null });
      assertContractFrames(socket);
    } finally {
      await socket.dispose();
    }
  });
});

describe('operation tokens expire like socket tokens', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer({ env: { TOKEN_TTL: '2s' } });
  });
  after(() => api.close());

  it('closes the socket with 4403 when a token an operation brought expires, and refuses it afterwards', async () => {
    const user = await createUser(api, 'wsopexpiry');
    const socket = await connectSocket(api.wsUrl);
    const headers = { headers: { Authorization: bearer(user.token) } };
    assert.equal((await socket.execute(WsMe, {}, headers)).data?.me?.id, user.id);
    const closed = await socket.closed;
    assert.equal(closed.code, 4403);
    assert.match(closed.reason, /expired/i);
    await socket.dispose();
    const fresh = await connectSocket(api.wsUrl);
    try {
      const result = await fresh.execute(WsMe, {}, headers);
      assert.equal(result.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
      assert.match(result.errors?.[0]?.message ?? '', /expired/);
    } finally {
      await fresh.dispose();
    }
  });
});
