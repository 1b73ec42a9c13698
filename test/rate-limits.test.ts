import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { graphql } from './generated/gql.js';
import { createRoomWith, send } from './support/chat.js';
import { createTestDatabase, unlessServicesShared } from './support/database.js';
import { startTestServer, uniqueName, uniqueRedisPrefix, type GraphQLErrorJson, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { connectSocket, type SocketClient } from './support/ws.js';

const LimitsSignUp = graphql(`
  mutation LimitsSignUp($input: SignUpInput!) {
    signUp(input: $input) {
      token
    }
  }
`);

const LimitsLogIn = graphql(`
  mutation LimitsLogIn($input: LogInInput!) {
    logIn(input: $input) {
      token
    }
  }
`);

const LimitsSend = graphql(`
  mutation LimitsSend($input: SendMessageInput!) {
    sendMessage(input: $input) {
      id
      seq
    }
  }
`);

const LimitsEdit = graphql(`
  mutation LimitsEdit($messageId: ID!, $body: String!) {
    editMessage(messageId: $messageId, body: $body) {
      id
    }
  }
`);

const LimitsAddReaction = graphql(`
  mutation LimitsAddReaction($messageId: ID!, $emoji: String!) {
    addReaction(messageId: $messageId, emoji: $emoji) {
      id
    }
  }
`);

const LimitsRemoveReaction = graphql(`
  mutation LimitsRemoveReaction($messageId: ID!, $emoji: String!) {
    removeReaction(messageId: $messageId, emoji: $emoji) {
      id
    }
  }
`);

const LimitsTyping = graphql(`
  mutation LimitsTyping($roomId: ID!, $typing: Boolean!) {
    setTyping(roomId: $roomId, typing: $typing)
  }
`);

const LimitsMessages = graphql(`
  subscription LimitsMessages($roomId: ID!) {
    messageAdded(roomId: $roomId) {
      seq
    }
  }
`);

const LimitsMe = graphql(`
  query LimitsMe {
    me {
      id
    }
  }
`);

const PASSWORD = 'correct horse battery';

interface Answer {
  status: number;
  retryAfterHeader: string | null;
  data?: Record<string, unknown> | null;
  errors?: GraphQLErrorJson[];
}

/** One operation over HTTP, with the response's status and Retry-After header. */
async function post<Data, Variables>(
  api: TestServer,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
  options: { token?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(api.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as { data?: Record<string, unknown> | null; errors?: GraphQLErrorJson[] };
  return { status: response.status, retryAfterHeader: response.headers.get('retry-after'), ...body };
}

/** One operation over graphql-ws: its only result. */
async function overSocket<Data, Variables>(socket: SocketClient, document: TypedDocumentNode<Data, Variables>, variables: Variables) {
  const operation = socket.subscribe(document, variables);
  const result = await operation.next();
  await operation.done;
  return result;
}

const codeOf = (answer: { errors?: GraphQLErrorJson[] }) => answer.errors?.[0]?.extensions?.code;

/** A refusal over HTTP: 429 with Retry-After equal to extensions.retryAfter, and no `http` extension in the body. */
function assertRefusedOverHttp(answer: Answer, maxWaitSeconds: number): number {
  assert.equal(answer.status, 429, JSON.stringify(answer));
  assert.equal(codeOf(answer), 'RATE_LIMITED');
  const retryAfter = answer.errors![0]!.extensions!.retryAfter as number;
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= maxWaitSeconds, `retryAfter ${retryAfter}`);
  assert.equal(answer.retryAfterHeader, String(retryAfter));
  assert.equal(answer.errors![0]!.extensions!.http, undefined);
  return retryAfter;
}

/** A refusal over graphql-ws: RATE_LIMITED with retryAfter, and no `http` extension (an HTTP matter). */
function assertRefusedOverSocket(result: { errors?: GraphQLErrorJson[] }, maxWaitSeconds: number): void {
  assert.equal(codeOf(result), 'RATE_LIMITED', JSON.stringify(result));
  const retryAfter = result.errors![0]!.extensions!.retryAfter as number;
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= maxWaitSeconds, `retryAfter ${retryAfter}`);
  assert.equal(result.errors![0]!.extensions!.http, undefined, 'no http extension over graphql-ws');
}

/** What a client may compare between two answers: everything but the token. */
const comparable = (answer: Answer) => ({
  status: answer.status,
  retryAfterHeader: answer.retryAfterHeader,
  errors: answer.errors?.map((error) => ({ message: error.message, extensions: error.extensions })),
});

describe('logIn limits', () => {
  let api: TestServer;

  before(async () => {
    api = await startTestServer({
      env: { LOGIN_FAILURES_PER_ACCOUNT: '3/1h', LOGIN_LOCKOUT: '15m', LOGIN_FAILURES_PER_ADDRESS: '100/1h' },
    });
  });
  after(() => api.close());

  it('locks an account after repeated wrong passwords, refusing even the right one, the same whether the account exists or not', async () => {
    const alice = await createUser(api, 'alice');
    const nobody = uniqueName('nobody');
    const attempt = (username: string, password: string) => post(api, LimitsLogIn, { input: { username, password } });
    for (let i = 0; i < 3; i++) {
      const existing = await attempt(alice.username, 'wrong password');
      const missing = await attempt(nobody, 'wrong password');
      assert.equal(existing.status, 200);
      assert.equal(codeOf(existing), 'UNAUTHENTICATED');
      assert.deepEqual(comparable(missing), comparable(existing));
    }
    const locked = await attempt(alice.username, PASSWORD);
    const retryAfter = assertRefusedOverHttp(locked, 15 * 60);
    assert.ok(retryAfter > 14 * 60, 'the lockout lasts LOGIN_LOCKOUT');
    assert.equal(locked.data?.logIn ?? null, null);
    assert.deepEqual(comparable(await attempt(nobody, PASSWORD)), comparable(locked), 'a missing account is locked alike');
    // The username is normalized: another spelling of it is the same account.
    assertRefusedOverHttp(await attempt(` ${alice.username.toUpperCase()} `, PASSWORD), 15 * 60);

    // Over graphql-ws too, where the refusal has no HTTP status.
    const socket = await connectSocket(api.wsUrl);
    try {
      assertRefusedOverSocket(await overSocket(socket, LimitsLogIn, { input: { username: alice.username, password: PASSWORD } }), 15 * 60);
    } finally {
      await socket.dispose();
    }
  });

  it('forgets the failures of an account on a successful log-in', async () => {
    const bob = await createUser(api, 'bob');
    const socket = await connectSocket(api.wsUrl);
    try {
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 2; i++) {
          // HTTP and graphql-ws count together.
          const wrong = { input: { username: bob.username, password: 'wrong password' } };
          assert.equal(codeOf(i === 0 ? await post(api, LimitsLogIn, wrong) : await overSocket(socket, LimitsLogIn, wrong)), 'UNAUTHENTICATED');
        }
        const right = await overSocket(socket, LimitsLogIn, { input: { username: bob.username, password: PASSWORD } });
        assert.equal(right.errors, undefined, JSON.stringify(right.errors));
      }
    } finally {
      await socket.dispose();
    }
  });
});

describe('logIn limits per address, and TRUST_PROXY', () => {
  const failuresPerAddress = 4;
  const env = { LOGIN_FAILURES_PER_ACCOUNT: '100/1h', LOGIN_FAILURES_PER_ADDRESS: `${failuresPerAddress}/1h` };
  const wrongLogIn = (api: TestServer, forwardedFor: string) =>
    post(api, LimitsLogIn, { input: { username: uniqueName('spray'), password: 'wrong password' } }, { headers: { 'x-forwarded-for': forwardedFor } });

  it('refuses an address that fails on many accounts, and ignores X-Forwarded-For by default', async () => {
    const api = await startTestServer({ env });
    try {
      for (let i = 0; i < failuresPerAddress; i++) assert.equal(codeOf(await wrongLogIn(api, `203.0.113.${i}`)), 'UNAUTHENTICATED');
      // A client's own X-Forwarded-For does not make it someone else.
      assertRefusedOverHttp(await wrongLogIn(api, '198.51.100.7'), 3600);
      const carol = await createUser(api, 'carol');
      const right = await post(api, LimitsLogIn, { input: { username: carol.username, password: PASSWORD } });
      assertRefusedOverHttp(right, 3600);
    } finally {
      await api.close();
    }
  });

  it('with TRUST_PROXY, keys on the address the proxy forwards', async () => {
    const api = await startTestServer({ env: { ...env, TRUST_PROXY: '1' } });
    try {
      for (let i = 0; i < failuresPerAddress; i++) assert.equal(codeOf(await wrongLogIn(api, '203.0.113.1')), 'UNAUTHENTICATED');
      assertRefusedOverHttp(await wrongLogIn(api, '203.0.113.1'), 3600);
      // Another client behind the same proxy is not refused; nor is the first one's spoofed entry believed.
      assert.equal(codeOf(await wrongLogIn(api, '203.0.113.2')), 'UNAUTHENTICATED');
      assertRefusedOverHttp(await wrongLogIn(api, '198.51.100.9, 203.0.113.1'), 3600);
    } finally {
      await api.close();
    }
  });
});

describe('signUp limits', () => {
  let api: TestServer;

  before(async () => {
    api = await startTestServer({ env: { SIGNUPS_PER_ADDRESS: '3/1h' } });
  });
  after(() => api.close());

  it('limits sign-ups per address, over HTTP and graphql-ws together', async () => {
    const signUp = () => ({ input: { username: uniqueName('new'), password: PASSWORD } });
    for (let i = 0; i < 2; i++) assert.equal((await post(api, LimitsSignUp, signUp())).errors, undefined);
    const socket = await connectSocket(api.wsUrl);
    try {
      assert.equal((await overSocket(socket, LimitsSignUp, signUp())).errors, undefined);
      assertRefusedOverSocket(await overSocket(socket, LimitsSignUp, signUp()), 3600);
    } finally {
      await socket.dispose();
    }
    const refused = await post(api, LimitsSignUp, signUp());
    assertRefusedOverHttp(refused, 3600);
    assert.equal(refused.data?.signUp ?? null, null);
  });
});

describe('per-user action limits', () => {
  let api: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;

  before(async () => {
    api = await startTestServer({
      env: {
        SEND_MESSAGE_RATE: '3/2s,5/1h',
        EDIT_MESSAGE_RATE: '2/1h',
        REACTION_RATE: '3/1h',
        SET_TYPING_RATE: '2/1h',
      },
    });
    alice = await createUser(api, 'alice');
    bob = await createUser(api, 'bob');
    roomId = await createRoomWith(api, alice, [bob]);
  });
  after(() => api.close());

  it('sendMessage: a burst, then the sustained rate; over HTTP and graphql-ws together, per user', async () => {
    const sendAs = (user: TestUser, body: string) => post(api, LimitsSend, { input: { roomId, body } }, { token: user.token });
    for (let i = 1; i <= 3; i++) assert.equal((await sendAs(alice, `burst ${i}`)).errors, undefined);
    const burstEnded = await sendAs(alice, 'one too many');
    assertRefusedOverHttp(burstEnded, 2);
    // Another user has an allowance of their own.
    assert.equal((await sendAs(bob, 'hello')).errors, undefined);

    // The burst window passes; the sustained window (5 an hour) still counts the refused attempt.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    assert.equal((await sendAs(alice, 'after the burst')).errors, undefined);
    const socket = await connectSocket(api.wsUrl, alice.token);
    try {
      const sustained = await overSocket(socket, LimitsSend, { input: { roomId, body: 'past the sustained rate' } });
      assertRefusedOverSocket(sustained, 3600);
      assert.ok((sustained.errors![0]!.extensions!.retryAfter as number) > 3500, 'the sustained window decides the wait');
    } finally {
      await socket.dispose();
    }
    const history = await post(api, LimitsSend, { input: { roomId, body: 'still refused' } }, { token: alice.token });
    assertRefusedOverHttp(history, 3600);
  });

  it('editMessage, reactions and setTyping each have their own allowance', async () => {
    const { id: messageId } = await send(api, bob, roomId, 'react to me');
    const socket = await connectSocket(api.wsUrl, bob.token);
    try {
      for (const body of ['edit 1', 'edit 2']) {
        assert.equal((await post(api, LimitsEdit, { messageId, body }, { token: bob.token })).errors, undefined);
      }
      assertRefusedOverHttp(await post(api, LimitsEdit, { messageId, body: 'edit 3' }, { token: bob.token }), 3600);
      assertRefusedOverSocket(await overSocket(socket, LimitsEdit, { messageId, body: 'edit 3' }), 3600);

      // addReaction and removeReaction share one allowance.
      assert.equal((await post(api, LimitsAddReaction, { messageId, emoji: '👍' }, { token: bob.token })).errors, undefined);
      assert.equal((await overSocket(socket, LimitsRemoveReaction, { messageId, emoji: '👍' })).errors, undefined);
      assert.equal((await post(api, LimitsAddReaction, { messageId, emoji: '🎉' }, { token: bob.token })).errors, undefined);
      assertRefusedOverHttp(await post(api, LimitsRemoveReaction, { messageId, emoji: '🎉' }, { token: bob.token }), 3600);
      assertRefusedOverSocket(await overSocket(socket, LimitsAddReaction, { messageId, emoji: '🔥' }), 3600);

      assert.equal((await post(api, LimitsTyping, { roomId, typing: true }, { token: bob.token })).errors, undefined);
      assert.equal((await overSocket(socket, LimitsTyping, { roomId, typing: false })).errors, undefined);
      assertRefusedOverSocket(await overSocket(socket, LimitsTyping, { roomId, typing: true }), 3600);
      assertRefusedOverHttp(await post(api, LimitsTyping, { roomId, typing: true }, { token: bob.token }), 3600);
    } finally {
      await socket.dispose();
    }
  });
});

/** Opens a raw WebSocket; resolves with the HTTP status when the upgrade is refused. */
function openRaw(api: TestServer): Promise<{ socket: WebSocket } | { status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(api.wsUrl, 'graphql-transport-ws');
    socket.once('open', () => resolve({ socket }));
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += String(chunk)));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    socket.once('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

const closedOf = (socket: WebSocket) =>
  socket.readyState === WebSocket.CLOSED
    ? Promise.resolve()
    : new Promise<void>((resolve) => socket.once('close', () => resolve()));

describe('WebSocket limits', () => {
  let api: TestServer;
  let dave: TestUser;

  before(async () => {
    api = await startTestServer({ env: { MAX_SOCKETS_PER_ADDRESS: '3', ANONYMOUS_SOCKET_GRACE: '1s', MAX_SUBSCRIPTIONS_PER_SOCKET: '2' } });
    dave = await createUser(api, 'dave');
  });
  after(() => api.close());

  it('refuses the upgrade past MAX_SOCKETS_PER_ADDRESS open sockets, and admits again once one closes', async () => {
    const open: WebSocket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const opened = await openRaw(api);
        assert.ok('socket' in opened, `socket ${i + 1} opens`);
        open.push(opened.socket);
      }
      const refused = await openRaw(api);
      assert.ok('status' in refused, 'the fourth is refused');
      assert.equal(refused.status, 429);
      const error = (JSON.parse(refused.body) as { errors: GraphQLErrorJson[] }).errors[0]!;
      assert.equal(error.extensions?.code, 'RATE_LIMITED');
      assert.match(error.message, /at most 3/);

      open.pop()!.close();
      for (let waited = 0; 'status' in (await openRaw(api).then((result) => (('socket' in result && open.push(result.socket)), result))); waited += 50) {
        assert.ok(waited < 5000, 'a socket is admitted again once one closed');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      for (const socket of open) socket.close();
      await Promise.all(open.map(closedOf));
    }
  });

  it('counts subscriptions over server-sent events against the same limit', async () => {
    const roomId = await createRoomWith(api, dave, []);
    const eventStream = async () => {
      const abort = new AbortController();
      const response = await fetch(api.url, {
        method: 'POST',
        signal: abort.signal,
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${dave.token}` },
        body: JSON.stringify({ query: print(LimitsMessages), variables: { roomId } }),
      });
      return { response, abort };
    };
    const open: WebSocket[] = [];
    const streams: AbortController[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const opened = await openRaw(api);
        assert.ok('socket' in opened);
        open.push(opened.socket);
      }
      const stream = await eventStream();
      assert.equal(stream.response.status, 200);
      streams.push(stream.abort);
      const refusedStream = await eventStream();
      assert.equal(refusedStream.response.status, 429);
      assert.equal(((await refusedStream.response.json()) as { errors: GraphQLErrorJson[] }).errors[0]?.extensions?.code, 'RATE_LIMITED');
      const refusedSocket = await openRaw(api);
      assert.ok('status' in refusedSocket && refusedSocket.status === 429, 'the event stream counts as a connection');

      // The stream's client goes away: its place is free again.
      stream.abort.abort();
      for (let waited = 0; ; waited += 50) {
        const opened = await openRaw(api);
        if ('socket' in opened) {
          open.push(opened.socket);
          break;
        }
        assert.ok(waited < 5000, 'the event stream was counted out when its client left');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      for (const abort of streams) abort.abort();
      for (const socket of open) socket.close();
      await Promise.all(open.map(closedOf));
    }
  });

  it('closes an anonymous socket after its grace with 4401; one signed in at connect or by an operation stays', async () => {
    const anonymous = await connectSocket(api.wsUrl);
    const signedIn = await connectSocket(api.wsUrl, dave.token);
    // GraphiQL's way: an empty connection_init, and the token in each operation's headers.
    const signedInByOperation = await connectSocket(api.wsUrl);
    try {
      // Within the grace an anonymous socket is served (e.g. to log in).
      assert.equal((await overSocket(anonymous, LimitsMe, {})).errors, undefined);
      const byHeader = await signedInByOperation.execute(LimitsMe, {}, { headers: { Authorization: `Bearer ${dave.token}` } });
      assert.equal(byHeader.data?.me?.id, dave.id);
      const closed = await anonymous.closed;
      assert.equal(closed.code, 4401);
      assert.match(closed.reason, /Sign in/);
      // Longer than the grace since either signed-in socket opened: neither was closed.
      const stillOpen = await Promise.race([
        Promise.any([signedIn.closed, signedInByOperation.closed]).then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 1500)),
      ]);
      assert.ok(stillOpen, 'a signed-in socket was closed');
      for (const socket of [signedIn, signedInByOperation]) {
        const me = await socket.execute(LimitsMe, {}, { headers: { Authorization: `Bearer ${dave.token}` } });
        assert.equal(me.data?.me?.id, dave.id);
      }
    } finally {
      await signedIn.dispose();
      await signedInByOperation.dispose();
    }
  });

  it('refuses subscriptions past MAX_SUBSCRIPTIONS_PER_SOCKET with RATE_LIMITED; the socket stays usable', async () => {
    const roomId = await createRoomWith(api, dave, []);
    const socket = await connectSocket(api.wsUrl, dave.token);
    try {
      const first = socket.subscribe(LimitsMessages, { roomId });
      const second = socket.subscribe(LimitsMessages, { roomId });
      const third = socket.subscribe(LimitsMessages, { roomId });
      const refused = await third.done;
      const errors = refused.error as GraphQLErrorJson[];
      assert.equal(errors[0]?.extensions?.code, 'RATE_LIMITED');
      assert.match(errors[0]!.message, /2 subscriptions/);
      assert.equal(errors[0]?.extensions?.http, undefined);

      // Queries still run, and the two live subscriptions still deliver.
      assert.equal((await overSocket(socket, LimitsMe, {})).errors, undefined);
      await send(api, dave, roomId, 'still here');
      assert.deepEqual([(await first.next()).data, (await second.next()).data], [{ messageAdded: { seq: 1 } }, { messageAdded: { seq: 1 } }]);

      // Completing one makes room for another.
      first.unsubscribe();
      const replacement = socket.subscribe(LimitsMessages, { roomId });
      await send(api, dave, roomId, 'again');
      assert.deepEqual((await replacement.next()).data, { messageAdded: { seq: 2 } });
    } finally {
      await socket.dispose();
    }
  });
});

describe('RATE_LIMITS=off', () => {
  it('turns every rate and connection limit off', async () => {
    const api = await startTestServer({
      env: { RATE_LIMITS: 'off', SIGNUPS_PER_ADDRESS: '1/1h', SEND_MESSAGE_RATE: '1/1h', MAX_SOCKETS_PER_ADDRESS: '1', LOGIN_FAILURES_PER_ACCOUNT: '1/1h' },
    });
    const sockets: SocketClient[] = [];
    try {
      const erin = await createUser(api, 'erin');
      const frank = await createUser(api, 'frank');
      const roomId = await createRoomWith(api, erin, [frank]);
      for (let i = 0; i < 5; i++) await send(api, erin, roomId, `message ${i}`);
      for (let i = 0; i < 3; i++) {
        assert.equal(codeOf(await post(api, LimitsLogIn, { input: { username: erin.username, password: 'wrong password' } })), 'UNAUTHENTICATED');
      }
      assert.equal((await post(api, LimitsLogIn, { input: { username: erin.username, password: PASSWORD } })).errors, undefined);
      for (let i = 0; i < 3; i++) sockets.push(await connectSocket(api.wsUrl, erin.token));
    } finally {
      await Promise.all(sockets.map((socket) => socket.dispose()));
      await api.close();
    }
  });
});

describe('limits shared by instances', { skip: unlessServicesShared }, () => {
  it('counts an action on one instance against the same user on another, in Redis under REDIS_PREFIX', async () => {
    const database = await createTestDatabase();
    const redisPrefix = uniqueRedisPrefix();
    const env = { SEND_MESSAGE_RATE: '4/1h', LOGIN_FAILURES_PER_ACCOUNT: '2/1h' };
    const a = await startTestServer({ database, redisPrefix, env });
    const b = await startTestServer({ database, redisPrefix, env });
    const redis = new Redis(process.env.TEST_REDIS_URL!);
    try {
      const grace = await createUser(a, 'grace');
      const roomId = await createRoomWith(a, grace, []);
      for (const api of [a, b, a, b]) await send(api, grace, roomId, 'shared');
      assertRefusedOverHttp(await post(a, LimitsSend, { input: { roomId, body: 'fifth' } }, { token: grace.token }), 3600);
      assertRefusedOverHttp(await post(b, LimitsSend, { input: { roomId, body: 'fifth' } }, { token: grace.token }), 3600);

      const wrong = { input: { username: grace.username, password: 'wrong password' } };
      assert.equal(codeOf(await post(a, LimitsLogIn, wrong)), 'UNAUTHENTICATED');
      assert.equal(codeOf(await post(b, LimitsLogIn, wrong)), 'UNAUTHENTICATED');
      assertRefusedOverHttp(await post(a, LimitsLogIn, { input: { username: grace.username, password: PASSWORD } }), 15 * 60);

      const keys = await redis.keys(`${redisPrefix}limits:*`);
      assert.ok(keys.some((key) => key.startsWith(`${redisPrefix}limits:sendMessage:`)), JSON.stringify(keys));
      assert.ok(keys.some((key) => key.startsWith(`${redisPrefix}limits:logIn:account:`)), JSON.stringify(keys));
    } finally {
      redis.disconnect();
      await a.close();
      await b.close();
      await database.drop();
    }
  });
});
