import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { Hooks } from '../src/hooks.js';
import { graphql } from './generated/gql.js';
import { createRoomWith } from './support/chat.js';
import { capturedLogger } from './support/logs.js';
import { assertCode, rawId, RoomsJoin, RoomsLeave } from './support/rooms.js';
import { startTestServer, type GraphQLErrorJson, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { waitFor } from './support/wait.js';
import { connectSocket, rawSocket } from './support/ws.js';

const HookSend = graphql(`
  mutation HookSend($input: SendMessageInput!) {
    sendMessage(input: $input) {
      id
      seq
      body
    }
  }
`);

const HookEdit = graphql(`
  mutation HookEdit($messageId: ID!, $body: String!) {
    editMessage(messageId: $messageId, body: $body) {
      id
      body
      editedAt
    }
  }
`);

const HookDelete = graphql(`
  mutation HookDelete($messageId: ID!) {
    deleteMessage(messageId: $messageId) {
      id
      deletedAt
    }
  }
`);

const HookCreateRoom = graphql(`
  mutation HookCreateRoom($input: CreateRoomInput!) {
    createRoom(input: $input) {
      id
      name
      topic
    }
  }
`);

const HookHistory = graphql(`
  query HookHistory($id: ID!) {
    room(id: $id) {
      messages(last: 10) {
        edges {
          node {
            id
            seq
            body
          }
        }
      }
    }
  }
`);

const HookMe = graphql(`
  query HookMe {
    me {
      id
    }
  }
`);

/** What the after-hooks saw, in order. */
interface Seen {
  point: string;
  userId: string;
  input: unknown;
  result: Record<string, unknown>;
}

describe('hooks of the embedding server', () => {
  let api: TestServer;
  let owner: TestUser;
  let member: TestUser;
  const seen: Seen[] = [];
  const log = capturedLogger();
  /** Rooms (raw ids) whose joinRoom the hook refuses. */
  const closedRooms = new Set<string>();
  /** Users (raw ids) the connect hook refuses. */
  const refusedUsers = new Set<string>();
  const record = (point: string) => (input: unknown, result: object, caller: { userId: string }) =>
    void seen.push({ point, userId: caller.userId, input, result: result as Record<string, unknown> });

  const hooks: Hooks = {
    sendMessage: {
      before: (input) => {
        if (input.body?.includes('forbidden word')) return { refuse: 'That word is not welcome here.' };
        if (input.body === 'bad') return { refuse: 'Say it differently.', code: 'BAD_USER_INPUT' };
        if (input.body?.startsWith('/shout ')) return { input: { ...input, body: input.body.slice('/shout '.length).toUpperCase() } };
      },
      after: (input, message, caller) => {
        record('sendMessage')(input, message, caller);
        if (message.body === 'EXPLODE') throw new Error('the after-hook exploded');
      },
    },
    editMessage: {
      before: (input) => (input.body.includes('forbidden word') ? { refuse: 'That word is not welcome here.' } : { input: { ...input, body: `${input.body} (edited)` } }),
      after: record('editMessage'),
    },
    deleteMessage: { after: record('deleteMessage') },
    createRoom: {
      before: (input) => (input.name.startsWith('spam') ? { refuse: 'No spam rooms.' } : { input: { ...input, topic: input.topic ?? 'Be kind' } }),
      after: record('createRoom'),
    },
    joinRoom: {
      before: (input) => (closedRooms.has(input.roomId) ? { refuse: 'This room is closed to newcomers.' } : undefined),
      after: record('joinRoom'),
    },
    leaveRoom: { after: record('leaveRoom') },
    connect: {
      before: (_input, caller) => (refusedUsers.has(caller.userId) ? { refuse: 'Your account may not connect now.' } : undefined),
      after: record('connect'),
    },
    disconnect: { after: record('disconnect') },
  };

  before(async () => {
    api = await startTestServer({ hooks, logger: log.logger });
    owner = await createUser(api, 'owner');
    member = await createUser(api, 'member');
  });
  after(() => api.close());

  const seenOf = (point: string) => seen.filter((entry) => entry.point === point);
  const lastSeen = (point: string) => seenOf(point).at(-1);

  type Call = <Data, Variables>(
    document: TypedDocumentNode<Data, Variables>,
    variables: Variables,
    user: TestUser,
  ) => Promise<{ data?: Data | null; errors?: GraphQLErrorJson[] }>;
  const transports: [string, Call][] = [
    ['HTTP', (document, variables, user) => api.request(document, variables, user.token)],
    [
      'graphql-ws',
      async (document, variables, user) => {
        const socket = await connectSocket(api.wsUrl, user.token);
        try {
          return await socket.execute(document, variables);
        } finally {
          await socket.dispose();
        }
      },
    ],
  ];
  const dataOf = <Data>(result: { data?: Data | null; errors?: GraphQLErrorJson[] }): Data => {
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    return result.data!;
  };

  for (const [transport, call] of transports) {
    describe(`over ${transport}`, () => {
      it('a before-hook refuses a send with its sentence, or changes its input', async () => {
        const roomId = await createRoomWith(api, owner, [member]);
        const refused = await call(HookSend, { input: { roomId, body: 'a forbidden word' } }, member);
        assertCode({ status: 200, ...refused }, 'FORBIDDEN');
        assert.equal(refused.errors?.[0]?.message, 'That word is not welcome here.');
        const badInput = await call(HookSend, { input: { roomId, body: 'bad' } }, member);
        assertCode({ status: 200, ...badInput }, 'BAD_USER_INPUT');
        assert.equal(badInput.errors?.[0]?.message, 'Say it differently.');

        const shouted = dataOf(await call(HookSend, { input: { roomId, body: '/shout hello' } }, member)).sendMessage;
        assert.deepEqual([shouted.seq, shouted.body], [1, 'HELLO'], 'the refused sends stored nothing; the changed one is stored changed');
        const history = (await api.ok(HookHistory, { id: roomId }, owner.token)).room?.messages.edges.map((edge) => edge.node.body);
        assert.deepEqual(history, ['HELLO']);
      });

      it('an after-hook sees the stored message; one that throws does not fail the send', async () => {
        const roomId = await createRoomWith(api, owner, [member]);
        const sent = dataOf(await call(HookSend, { input: { roomId, body: 'hi there' } }, member)).sendMessage;
        const afterSend = lastSeen('sendMessage');
        assert.deepEqual(
          [afterSend?.userId, afterSend?.result.id, afterSend?.result.roomId, afterSend?.result.seq, afterSend?.result.body],
          [rawId(member.id), rawId(sent.id), rawId(roomId), 1, 'hi there'],
        );
        assert.deepEqual(afterSend?.input, { roomId: rawId(roomId), body: 'hi there', replyToId: null, mentions: undefined, attachmentIds: undefined });

        const exploded = dataOf(await call(HookSend, { input: { roomId, body: 'EXPLODE' } }, member)).sendMessage;
        assert.equal(exploded.seq, 2);
        const history = (await api.ok(HookHistory, { id: roomId }, owner.token)).room?.messages.edges.map((edge) => edge.node.body);
        assert.deepEqual(history, ['hi there', 'EXPLODE']);
        assert.ok(
          log
            .lines()
            .some((line) => line.msg === 'after-hook failed' && line.hook === 'sendMessage' && (line.err as { message?: string } | undefined)?.message === 'the after-hook exploded'),
          'the after-hook failure is logged',
        );
      });

      it('edit and delete: refused or changed before, seen as stored after', async () => {
        const roomId = await createRoomWith(api, owner, [member]);
        const { id } = dataOf(await call(HookSend, { input: { roomId, body: 'first' } }, member)).sendMessage;
        const refused = await call(HookEdit, { messageId: id, body: 'a forbidden word' }, member);
        assertCode({ status: 200, ...refused }, 'FORBIDDEN');
        const edited = dataOf(await call(HookEdit, { messageId: id, body: 'second' }, member)).editMessage;
        assert.equal(edited.body, 'second (edited)');
        const afterEdit = lastSeen('editMessage');
        assert.deepEqual([afterEdit?.result.id, afterEdit?.result.body], [rawId(id), 'second (edited)']);
        assert.equal((afterEdit?.result.editedAt as Date).toISOString(), edited.editedAt);

        const deleted = dataOf(await call(HookDelete, { messageId: id }, member)).deleteMessage;
        const afterDelete = lastSeen('deleteMessage');
        assert.deepEqual([afterDelete?.result.id, afterDelete?.result.body, afterDelete?.result.payload], [rawId(id), null, null]);
        assert.equal((afterDelete?.result.deletedAt as Date).toISOString(), deleted.deletedAt);
      });

      it('create, join and leave a room: refused or changed before, seen as stored after', async () => {
        const spam = await call(HookCreateRoom, { input: { name: 'spam offers', visibility: 'PUBLIC' } }, owner);
        assertCode({ status: 200, ...spam }, 'FORBIDDEN');
        assert.equal(spam.errors?.[0]?.message, 'No spam rooms.');
        const room = dataOf(await call(HookCreateRoom, { input: { name: 'tea', visibility: 'PUBLIC' } }, owner)).createRoom;
        assert.equal(room.topic, 'Be kind');
        const afterCreate = lastSeen('createRoom');
        assert.deepEqual([afterCreate?.userId, afterCreate?.result.id, afterCreate?.result.topic], [rawId(owner.id), rawId(room.id), 'Be kind']);

        closedRooms.add(rawId(room.id));
        const closed = await call(RoomsJoin, { roomId: room.id }, member);
        assertCode({ status: 200, ...closed }, 'FORBIDDEN');
        assert.equal(closed.errors?.[0]?.message, 'This room is closed to newcomers.');
        closedRooms.delete(rawId(room.id));
        const joined = dataOf(await call(RoomsJoin, { roomId: room.id }, member)).joinRoom;
        assert.equal(joined.room.memberCount, 2);
        const afterJoin = lastSeen('joinRoom');
        assert.deepEqual([afterJoin?.result.roomId, afterJoin?.result.userId, afterJoin?.result.role], [rawId(room.id), rawId(member.id), 'MEMBER']);

        dataOf(await call(RoomsLeave, { roomId: room.id }, member));
        assert.deepEqual(lastSeen('leaveRoom'), { point: 'leaveRoom', userId: rawId(member.id), input: { roomId: rawId(room.id) }, result: { roomId: rawId(room.id) } });
      });
    });
  }

  it('connect and disconnect hooks fire for a signed-in socket; a refused user is closed with 4403 and the reason', async () => {
    const before = seenOf('connect').length;
    const socket = await connectSocket(api.wsUrl, owner.token);
    const connected = seenOf('connect').slice(before);
    assert.equal(connected.length, 1);
    assert.equal(connected[0]?.userId, rawId(owner.id));
    const { connectionId } = connected[0]!.result;
    assert.equal(typeof connectionId, 'string');
    await socket.dispose();
    await waitFor(() => seenOf('disconnect').some((entry) => entry.result.connectionId === connectionId), 'the disconnect hook');
    assert.equal(seenOf('disconnect').find((entry) => entry.result.connectionId === connectionId)?.userId, rawId(owner.id));

    const outcast = await createUser(api, 'outcast');
    refusedUsers.add(rawId(outcast.id));
    const raw = await rawSocket(api.wsUrl, { init: false });
    const closed = new Promise<[number, string]>((resolve) => raw.socket.once('close', (code, reason) => resolve([code, String(reason)])));
    raw.socket.send(JSON.stringify({ type: 'connection_init', payload: { authToken: outcast.token } }));
    assert.deepEqual(await closed, [4403, 'Your account may not connect now.']);

    // A token in an operation's own headers (as GraphiQL signs in) is refused in that operation's answer.
    const anonymous = await connectSocket(api.wsUrl);
    const refused = await anonymous.execute(HookMe, {}, { headers: { authorization: `Bearer ${outcast.token}` } });
    assertCode({ status: 200, ...refused }, 'FORBIDDEN');
    assert.equal(refused.errors?.[0]?.message, 'Your account may not connect now.');
    await anonymous.dispose();
    assert.equal(seen.some((entry) => entry.userId === rawId(outcast.id)), false, 'no hook saw the refused user connected');
  });
});
