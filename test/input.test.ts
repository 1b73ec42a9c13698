import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { globalId } from '../src/ids.js';
import type { JsonValue } from '../web/src/scalars.js';
import { graphql } from './generated/gql.js';
import { send } from './support/chat.js';
import { assertCode, outcome, rawId, RoomsCreateRoom } from './support/rooms.js';
import { startTestServer, type GraphQLErrorJson, type GraphQLResponse, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { connectSocket, rawSocket, type ProtocolFrame, type SocketClient, type Subscription } from './support/ws.js';

const InputRoom = graphql(`
  query InputRoom($id: ID!) {
    room(id: $id) {
      id
      lastSeq
    }
  }
`);

const InputUser = graphql(`
  query InputUser($id: ID!) {
    user(id: $id) {
      id
    }
  }
`);

const InputNode = graphql(`
  query InputNode($id: ID!) {
    node(id: $id) {
      id
    }
  }
`);

const InputUsers = graphql(`
  query InputUsers($search: String, $after: String) {
    users(search: $search, after: $after) {
      edges {
        node {
          id
        }
      }
    }
  }
`);

const InputPublicRooms = graphql(`
  query InputPublicRooms($search: String, $after: String) {
    publicRooms(search: $search, after: $after) {
      edges {
        node {
          id
        }
      }
    }
  }
`);

const InputMembers = graphql(`
  query InputMembers($id: ID!, $after: String) {
    room(id: $id) {
      members(after: $after) {
        edges {
          cursor
        }
      }
    }
  }
`);

const InputLogIn = graphql(`
  mutation InputLogIn($input: LogInInput!) {
    logIn(input: $input) {
      token
    }
  }
`);

const InputSend = graphql(`
  mutation InputSend($input: SendMessageInput!) {
    sendMessage(input: $input) {
      id
      seq
      body
      payload
    }
  }
`);

const InputReact = graphql(`
  mutation InputReact($messageId: ID!, $emoji: String!) {
    addReaction(messageId: $messageId, emoji: $emoji) {
      id
    }
  }
`);

const InputJoin = graphql(`
  mutation InputJoin($roomId: ID!) {
    joinRoom(roomId: $roomId) {
      role
    }
  }
`);

const InputOpenDirect = graphql(`
  mutation InputOpenDirect($userId: ID!) {
    openDirectRoom(userId: $userId) {
      id
    }
  }
`);

const InputEdit = graphql(`
  mutation InputEdit($messageId: ID!, $body: String!) {
    editMessage(messageId: $messageId, body: $body) {
      id
    }
  }
`);

const InputRoomEvents = graphql(`
  subscription InputRoomEvents($roomId: ID!) {
    roomEvents(roomId: $roomId) {
      __typename
    }
  }
`);

const InputMessageAdded = graphql(`
  subscription InputMessageAdded($roomId: ID!) {
    messageAdded(roomId: $roomId) {
      seq
    }
  }
`);

/** A global ID of type around a raw id that is not one of ours. */
const forged = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');
/** A well-formed id (a UUID v7 shape) of nothing. */
const UNKNOWN = '01900000-0000-7000-8000-000000000000';

/** `{"a":{"a":…{}…}}`, depth objects deep, as JSON text: JSON.stringify of such a value overflows the stack itself. */
const nestedJson = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;

describe('hostile input', () => {
  let api: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  let messageId: string;
  let socket: SocketClient;

  /** The same operation over HTTP and over graphql-ws: both results. */
  const both = async <Data, Variables>(document: TypedDocumentNode<Data, Variables>, variables: Variables, token = alice.token) => {
    const http = await api.request(document, variables, token);
    const ws = (await (token === alice.token ? socket : await connectSocket(api.wsUrl, token)).execute(document, variables)) as GraphQLResponse<Data>;
    return { http, ws };
  };
  const assertBoth = async <Data, Variables>(
    document: TypedDocumentNode<Data, Variables>,
    variables: Variables,
    code: string,
    label: string,
  ) => {
    const { http, ws } = await both(document, variables);
    assertCode(http, code, `${label} over HTTP`);
    assertCode(ws, code, `${label} over graphql-ws`);
  };
  const lastSeq = async () => (await api.ok(InputRoom, { id: roomId }, alice.token)).room?.lastSeq;

  before(async () => {
    // MAX_PAYLOAD_DEPTH 8 keeps the documents below small; RATE_LIMITS=off: dozens of refused sends in a row, as no person sends.
    api = await startTestServer({ env: { MAX_PAYLOAD_DEPTH: '8', RATE_LIMITS: 'off' } });
    alice = await createUser(api, 'alice');
    bob = await createUser(api, 'bob');
    roomId = (await api.ok(RoomsCreateRoom, { input: { name: 'hostile', visibility: 'PUBLIC' } }, alice.token)).createRoom.id;
    messageId = (await send(api, alice, roomId, 'target')).id;
    socket = await connectSocket(api.wsUrl, alice.token);
  });

  after(async () => {
    await socket?.dispose();
    await api?.close();
  });

  it('refuses a payload nested thousands deep with BAD_USER_INPUT, over HTTP and graphql-ws, and stores nothing', async () => {
    const before = await lastSeq();
    const query = 'mutation Deep($input: SendMessageInput!) { sendMessage(input: $input) { id } }';
    const variables = `{"input":{"roomId":"${roomId}","payload":${nestedJson(5000)}}}`;
    // Written inline, as deep as the token limit lets a document be.
    const inline = `mutation { sendMessage(input: { roomId: "${roomId}", payload: ${'{a:'.repeat(40)}{}${'}'.repeat(40)} }) { id } }`;
    const raw = await rawSocket(api.wsUrl, { token: alice.token });
    for (const [label, body] of [
      ['variables', `{"query":${JSON.stringify(query)},"variables":${variables}}`],
      ['inline', JSON.stringify({ query: inline })],
    ]) {
      const response = await fetch(api.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` },
        body,
      });
      const result = (await response.json()) as GraphQLResponse<unknown>;
      assert.equal(response.status, 200);
      assertCode(result, 'BAD_USER_INPUT', `deep payload in ${label} over HTTP`);
      assert.match(result.errors![0]!.message, /at most 8 levels/);
      raw.socket.send(`{"id":"${label}","type":"subscribe","payload":${body}}`);
      const frame = (await raw.until((messages) => messages.some((message) => message.id === label))).find((m) => m.id === label);
      assert.equal(frameErrors(frame)?.[0]?.extensions?.code, 'BAD_USER_INPUT', `deep payload in ${label} over graphql-ws: ${JSON.stringify(frame)}`);
    }
    raw.socket.close();
    assert.equal(await lastSeq(), before, 'no seq used');
  });

  it('accepts a payload at the depth limit and refuses one level more', async () => {
    const deep = (depth: number): JsonValue => (depth === 1 ? {} : { a: deep(depth - 1) });
    const sent = await api.request(InputSend, { input: { roomId, payload: deep(8) } }, alice.token);
    assert.deepEqual(sent.data?.sendMessage.payload, deep(8));
    await assertBoth(InputSend, { input: { roomId, payload: { list: [[[[[[[[1]]]]]]]] } } }, 'BAD_USER_INPUT', 'nine levels of arrays');
  });

  it('measures a payload as its JSON: MAX_PAYLOAD_BYTES exactly is accepted, a byte more refused', async () => {
    // {"text":"…","n":[1,true,null],"é":{}} is 37 bytes around the text ("é" is two).
    const payload = (textBytes: number) => ({ text: 'x'.repeat(textBytes), n: [1, true, null], é: {} });
    assert.equal(Buffer.byteLength(JSON.stringify(payload(0))), 37);
    const sent = await api.request(InputSend, { input: { roomId, payload: payload(16384 - 37) } }, alice.token);
    assert.equal(outcome(sent), 'OK', JSON.stringify(sent.errors));
    await assertBoth(InputSend, { input: { roomId, payload: payload(16384 - 36) } }, 'BAD_USER_INPUT', 'a byte over');
  });

  it('refuses a document nested deeper than the parser can read with BAD_USER_INPUT', async () => {
    // Only with MAX_TOKENS raised far above its default can a document nest this deep.
    const loose = await startTestServer({ env: { MAX_TOKENS: '1000000', MAX_BODY_BYTES: '5000000' } });
    try {
      const query = `query Deep($p: JSON = ${'['.repeat(50_000)}${']'.repeat(50_000)}) { __typename }`;
      const response = await fetch(loose.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query }),
      });
      const result = (await response.json()) as GraphQLResponse<unknown>;
      assert.equal(response.status, 400, JSON.stringify(result).slice(0, 300));
      assertCode(result, 'BAD_USER_INPUT', 'a document nested 50,000 deep');
    } finally {
      await loose.close();
    }
  });

  it('refuses U+0000 and unpaired surrogates in every kind of argument before they reach SQL', async () => {
    const before = await lastSeq();
    for (const text of ['a\u0000b', 'a\ud800b', 'a\udc00b']) {
      const label = JSON.stringify(text);
      await assertBoth(InputRoom, { id: text }, 'BAD_USER_INPUT', `room(id: ${label})`);
      await assertBoth(InputNode, { id: text }, 'BAD_USER_INPUT', `node(id: ${label})`);
      await assertBoth(InputUser, { id: text }, 'BAD_USER_INPUT', `user(id: ${label})`);
      await assertBoth(InputReact, { messageId: text, emoji: '👍' }, 'BAD_USER_INPUT', `addReaction(messageId: ${label})`);
      await assertBoth(InputReact, { messageId, emoji: text }, 'BAD_USER_INPUT', `addReaction(emoji: ${label})`);
      await assertBoth(InputUsers, { search: text }, 'BAD_USER_INPUT', `users(search: ${label})`);
      await assertBoth(InputUsers, { after: text }, 'BAD_USER_INPUT', `users(after: ${label})`);
      await assertBoth(InputPublicRooms, { search: text }, 'BAD_USER_INPUT', `publicRooms(search: ${label})`);
      await assertBoth(InputLogIn, { input: { username: text, password: 'whatever it is' } }, 'BAD_USER_INPUT', `logIn(username: ${label})`);
      await assertBoth(InputSend, { input: { roomId, body: text } }, 'BAD_USER_INPUT', `sendMessage(body: ${label})`);
      await assertBoth(InputSend, { input: { roomId, payload: { deep: [{ text }] } } }, 'BAD_USER_INPUT', `payload value ${label}`);
      await assertBoth(InputSend, { input: { roomId, payload: { [text]: 1 } } }, 'BAD_USER_INPUT', `payload key ${label}`);
      await assertBoth(InputSend, { input: { roomId, body: 'hi', clientMessageId: text } }, 'BAD_USER_INPUT', `clientMessageId ${label}`);
      await assertBoth(InputEdit, { messageId, body: text }, 'BAD_USER_INPUT', `editMessage(body: ${label})`);
      await assertBoth(RoomsCreateRoom, { input: { name: text } }, 'BAD_USER_INPUT', `createRoom(name: ${label})`);
      await assertBoth(RoomsCreateRoom, { input: { name: 'ok', memberIds: [bob.id, text] } }, 'BAD_USER_INPUT', `createRoom(memberIds: [${label}])`);
      assert.equal(await refusalCode(socket.subscribe(InputRoomEvents, { roomId: text })), 'BAD_USER_INPUT', `roomEvents(roomId: ${label})`);
    }
    const literal = await fetch(api.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` },
      body: JSON.stringify({ query: 'query { users(search: "a\\u0000b") { edges { cursor } } }' }),
    });
    assertCode((await literal.json()) as GraphQLResponse<unknown>, 'BAD_USER_INPUT', 'U+0000 in a string literal');
    const message = (await api.request(InputSend, { input: { roomId, body: 'a\ud800b' } }, alice.token)).errors?.[0];
    assert.equal(message?.message, '"input.body" must not contain an unpaired UTF-16 surrogate.');
    assert.equal(message?.extensions?.field, 'body');
    assert.equal(await lastSeq(), before, 'nothing stored, nothing altered');
    // A surrogate pair (an emoji) is text like any other.
    const emoji = await api.ok(InputSend, { input: { roomId, body: 'ok 😀' } }, alice.token);
    assert.equal(emoji.sendMessage.body, 'ok 😀');
  });

  it('refuses U+0000 inside a global ID or a cursor, where it hides under base64', async () => {
    await assertBoth(InputRoom, { id: forged('Room', 'a\u0000') }, 'BAD_USER_INPUT', 'room');
    await assertBoth(InputNode, { id: forged('Room', 'a\u0000') }, 'BAD_USER_INPUT', 'node');
    await assertBoth(InputNode, { id: forged('User', 'a\u0000') }, 'BAD_USER_INPUT', 'node of a user');
    await assertBoth(InputUser, { id: forged('User', 'a\u0000') }, 'BAD_USER_INPUT', 'user');
    await assertBoth(InputReact, { messageId: forged('Message', '\u0000'), emoji: '👍' }, 'BAD_USER_INPUT', 'addReaction');
    await assertBoth(InputJoin, { roomId: forged('Room', 'x'.repeat(101)) }, 'BAD_USER_INPUT', 'an id longer than any of ours');
    assert.equal(await refusalCode(socket.subscribe(InputMessageAdded, { roomId: forged('Room', '\u0000') })), 'BAD_USER_INPUT', 'messageAdded');
    const cursor = (text: string) => Buffer.from(text).toString('base64');
    for (const forgedCursor of ['GPC:S:\u0000', 'GPC:N:5', 'GPC:Z:', 'GPC:D:1', 'GPC:T:["S:a","N:1"]', 'GPC:T:["S:a","S:b","S:c"]']) {
      await assertBoth(InputUsers, { after: cursor(forgedCursor) }, 'BAD_USER_INPUT', `users cursor ${forgedCursor}`);
      await assertBoth(InputMembers, { id: roomId, after: cursor(forgedCursor) }, 'BAD_USER_INPUT', `members cursor ${forgedCursor}`);
    }
    await assertBoth(InputPublicRooms, { after: Buffer.from('["a\\u0000","b"]').toString('base64url') }, 'BAD_USER_INPUT', 'room list cursor');
  });

  it('answers unknown ids of every type with null or NOT_FOUND, malformed ones with BAD_USER_INPUT', async () => {
    for (const type of ['User', 'Room', 'Message'] as const) {
      const { http, ws } = await both(InputNode, { id: globalId(type, UNKNOWN) });
      for (const result of [http, ws]) {
        assert.equal(outcome(result), 'NULL', `node of an unknown ${type}: ${JSON.stringify(result)}`);
        assert.equal(result.errors, undefined);
      }
    }
    for (const [document, variables] of [
      [InputRoom, { id: globalId('Room', UNKNOWN) }],
      [InputUser, { id: globalId('User', UNKNOWN) }],
    ] as const) {
      const { http, ws } = await both(document as typeof InputRoom, variables);
      assertCode(http, 'NULL');
      assertCode(ws, 'NULL');
    }
    await assertBoth(InputJoin, { roomId: globalId('Room', UNKNOWN) }, 'NOT_FOUND', 'joinRoom');
    await assertBoth(InputOpenDirect, { userId: globalId('User', UNKNOWN) }, 'NOT_FOUND', 'openDirectRoom');
    await assertBoth(InputReact, { messageId: globalId('Message', UNKNOWN), emoji: '👍' }, 'NOT_FOUND', 'addReaction');
    await assertBoth(InputEdit, { messageId: globalId('Message', 'not-a-uuid'), body: 'x' }, 'NOT_FOUND', 'an id of ours in shape only');
    for (const malformed of ['', '!!!', 'bm8gY29sb24', forged('Nope', 'x')]) {
      await assertBoth(InputNode, { id: malformed }, 'BAD_USER_INPUT', `node(${malformed})`);
      await assertBoth(InputRoom, { id: malformed }, 'BAD_USER_INPUT', `room(${malformed})`);
    }
    // A room's id under the User type is well-formed: it finds no user.
    await assertBoth(InputNode, { id: globalId('User', rawId(roomId)) }, 'NULL', 'node of a room id as a user');
    await assertBoth(InputJoin, { roomId: bob.id }, 'BAD_USER_INPUT', 'a user id where a room id goes');
  });

  it('leaves the sockets it refused on open and answering', async () => {
    const result = await socket.execute(graphql(`query InputAlive { __typename }`), {});
    assert.deepEqual(result.data, { __typename: 'Query' });
  });
});

/** The errors of a graphql-ws `next` (payload.errors) or `error` (payload) message. */
const frameErrors = (frame: ProtocolFrame | undefined): GraphQLErrorJson[] | undefined =>
  Array.isArray(frame?.payload) ? frame.payload : (frame?.payload as { errors?: GraphQLErrorJson[] } | undefined)?.errors;

/** The code of the error a subscription was refused with: in an `error` message, or a `next` before `complete`. */
async function refusalCode(subscription: Subscription<unknown>): Promise<string | undefined> {
  const ended = await subscription.done;
  const errors = (ended.error as GraphQLErrorJson[] | undefined) ?? subscription.pending()[0]?.errors;
  return errors?.[0]?.extensions?.code;
}
