import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { globalId } from '../src/ids.js';
import { topics } from '../src/realtime/topics.js';
import { graphql } from './generated/gql.js';
import { send } from './support/chat.js';
import { assertCode, outcome, rawId, recordEvents, roomWithCast } from './support/rooms.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';

const MsgSend = graphql(`
  mutation MsgSend($input: SendMessageInput!) {
    sendMessage(input: $input) {
      id
      seq
      body
      payload
      clientMessageId
      createdAt
      editedAt
      deletedAt
      author {
        id
      }
      room {
        id
      }
      replyTo {
        id
        seq
      }
      reactions {
        emoji
      }
    }
  }
`);

const MsgEdit = graphql(`
  mutation MsgEdit($messageId: ID!, $body: String!) {
    editMessage(messageId: $messageId, body: $body) {
      id
      seq
      body
      editedAt
      deletedAt
    }
  }
`);

const MsgDelete = graphql(`
  mutation MsgDelete($messageId: ID!) {
    deleteMessage(messageId: $messageId) {
      id
      seq
      body
      payload
      deletedAt
      reactions {
        emoji
      }
    }
  }
`);

const MsgReact = graphql(`
  mutation MsgReact($messageId: ID!, $emoji: String!) {
    addReaction(messageId: $messageId, emoji: $emoji) {
      id
      reactions {
        emoji
        count
        reactedByMe
      }
    }
  }
`);

const MsgUnreact = graphql(`
  mutation MsgUnreact($messageId: ID!, $emoji: String!) {
    removeReaction(messageId: $messageId, emoji: $emoji) {
      id
      reactions {
        emoji
        count
        reactedByMe
      }
    }
  }
`);

const MsgMarkRead = graphql(`
  mutation MsgMarkRead($roomId: ID!, $seq: Int!) {
    markRead(roomId: $roomId, seq: $seq) {
      lastReadSeq
      unreadCount
      user {
        id
      }
      room {
        id
      }
    }
  }
`);

const MsgRoom = graphql(`
  query MsgRoom($id: ID!) {
    room(id: $id) {
      id
      lastSeq
      lastMessage {
        id
        seq
        body
      }
      myMembership {
        lastReadSeq
        unreadCount
      }
      messages(last: 10) {
        edges {
          node {
            id
            seq
            body
            deletedAt
            reactions {
              emoji
              count
              reactedByMe
            }
          }
        }
      }
    }
  }
`);

const MsgNode = graphql(`
  query MsgNode($id: ID!) {
    node(id: $id) {
      id
      ... on Message {
        seq
        body
      }
    }
  }
`);

describe('messages', () => {
  let api: TestServer;
  let owner: TestUser;
  let admin: TestUser;
  let member: TestUser;
  let author: TestUser;
  let banned: TestUser;
  let outsider: TestUser;

  before(async () => {
    api = await startTestServer({
      // RATE_LIMITS=off: the authorization matrix sends a message per cell, as no person does; the limits are tested in rate-limits.test.ts.
      env: { MAX_MESSAGE_LENGTH: '20', MAX_PAYLOAD_BYTES: '64', RATE_LIMITS: 'off' },
      messageChecker: {
        checkPayload: (payload) => (payload.kind === 'forbidden-format' ? 'This server does not accept that format.' : null),
      },
    });
    owner = await createUser(api, 'owner');
    admin = await createUser(api, 'admin');
    member = await createUser(api, 'member');
    author = await createUser(api, 'author');
    banned = await createUser(api, 'banned');
    outsider = await createUser(api, 'outsider');
  });
  after(() => api.close());

  /** A room with every role; the author is a plain MEMBER who writes the messages others act on. */
  const castRoom = (visibility: 'PUBLIC' | 'PRIVATE' = 'PRIVATE') =>
    roomWithCast(api, { owner, admins: [admin], members: [member, author], banned: [banned], visibility });

  const lastSeqOf = async (roomId: string) => (await api.ok(MsgRoom, { id: roomId }, owner.token)).room?.lastSeq;

  it('sends a body, a payload, a reply and a client id, and publishes each new message', async () => {
    const roomId = await castRoom();
    const events = await recordEvents(api, topics.room(rawId(roomId)));
    const first = (await api.ok(MsgSend, { input: { roomId, body: '  hello  ' } }, author.token)).sendMessage;
    assert.equal(first.seq, 1);
    assert.equal(first.body, 'hello');
    assert.equal(first.payload, null);
    assert.equal(first.author?.id, author.id);
    assert.equal(first.room.id, roomId);
    assert.deepEqual(
      [first.replyTo, first.clientMessageId, first.editedAt, first.deletedAt, first.reactions],
      [null, null, null, null, []],
    );
    assert.ok(Date.parse(first.createdAt) > 0);

    const payload = { kind: 'poll', options: ['tea', 'coffee'] };
    const input = { roomId, payload, replyToId: first.id, clientMessageId: 'client-1' };
    const second = (await api.ok(MsgSend, { input }, member.token)).sendMessage;
    assert.equal(second.seq, 2);
    assert.equal(second.body, null);
    assert.deepEqual(second.payload, payload);
    assert.deepEqual(second.replyTo, { id: first.id, seq: 1 });
    assert.equal(second.clientMessageId, 'client-1');
    const both = (await api.ok(MsgSend, { input: { roomId, body: '😀'.repeat(20), payload: {} } }, owner.token)).sendMessage;
    assert.equal(both.seq, 3, 'length counts characters, not UTF-16 units');

    const room = (await api.ok(MsgRoom, { id: roomId }, member.token)).room;
    assert.equal(room?.lastSeq, 3);
    assert.deepEqual(room?.lastMessage, { id: both.id, seq: 3, body: both.body });
    assert.deepEqual(
      room?.messages.edges.map((edge) => edge.node.seq),
      [1, 2, 3],
    );
    // MessageAdded carries the stored row and its author's public columns, never the password hash.
    // The reply also updates its root's thread, announced right after it (threads.test.ts covers what it reads).
    const published = await events.settled(4);
    assert.deepEqual(
      published.map((event) =>
        event.type === 'MessageAdded'
          ? [event.seq, event.message.id, event.message.authorId, event.author?.id]
          : event.type === 'ThreadUpdated' && [event.rootId, event.replyId],
      ),
      [
        [1, rawId(first.id), rawId(author.id), rawId(author.id)],
        [2, rawId(second.id), rawId(member.id), rawId(member.id)],
        [rawId(first.id), rawId(second.id)],
        [3, rawId(both.id), rawId(owner.id), rawId(owner.id)],
      ],
    );
    const carried = published[1]!;
    assert.ok(carried.type === 'MessageAdded');
    assert.deepEqual(
      { ...carried.message, createdAt: Date.parse(carried.message.createdAt) },
      {
        id: rawId(second.id),
        roomId: rawId(roomId),
        seq: 2,
        authorId: rawId(member.id),
        body: null,
        payload,
        replyToId: rawId(first.id),
        threadRootId: rawId(first.id),
        clientMessageId: 'client-1',
        createdAt: Date.parse(second.createdAt),
        editedAt: null,
        deletedAt: null,
      },
    );
    assert.deepEqual(Object.keys(carried.author ?? {}).sort(), ['createdAt', 'displayName', 'id', 'lastSeenAt', 'username']);
    assert.equal(carried.author?.username, member.username);
    events.stop();
  });

  it('rejects invalid messages with BAD_USER_INPUT and uses no seq for them', async () => {
    const roomId = await castRoom();
    const otherRoomId = await castRoom();
    const elsewhere = await send(api, author, otherRoomId, 'elsewhere');
    const cases: [string, Record<string, unknown>][] = [
      ['no body and no payload', {}],
      ['blank body', { body: '   ' }],
      ['body too long', { body: 'x'.repeat(21) }],
      ['NUL in body', { body: 'a\u0000b' }],
      ['payload is an array', { payload: [1, 2] }],
      ['payload is a string', { payload: 'text' }],
      ['payload too large', { payload: { text: 'x'.repeat(64) } }],
      ['NUL in payload', { payload: { text: 'a\u0000b' } }],
      ['payload refused by the message checker', { payload: { kind: 'forbidden-format' } }],
      ['reply to another room', { body: 'hi', replyToId: elsewhere.id }],
      ['malformed reply id', { body: 'hi', replyToId: 'nope' }],
      ['room id of a user', { body: 'hi', roomId: author.id }],
      ['client id too long', { body: 'hi', clientMessageId: 'c'.repeat(65) }],
      ['empty client id', { body: 'hi', clientMessageId: '' }],
    ];
    for (const [label, fields] of cases) {
      const input = { roomId, ...fields } as { roomId: string };
      assertCode(await api.request(MsgSend, { input }, author.token), 'BAD_USER_INPUT', label);
    }
    const refused = await api.request(MsgSend, { input: { roomId, payload: { kind: 'forbidden-format' } } }, author.token);
    assert.equal(refused.errors?.[0]?.message, 'This server does not accept that format.');
    assert.equal(await lastSeqOf(roomId), 0);
  });

  it('enforces who may do what, with contract codes', async () => {
    const publicRoomId = await castRoom('PUBLIC');
    const privateRoomId = await castRoom('PRIVATE');
    const target = async (roomId: string) => (await send(api, author, roomId, 'target')).id;
    const viewers = { anonymous: undefined, outsider, banned, MEMBER: member, ADMIN: admin, OWNER: owner, author };
    type Viewer = keyof typeof viewers;
    const operations: Record<string, (roomId: string, token: string | undefined) => Promise<string>> = {
      sendMessage: async (roomId, token) => outcome(await api.request(MsgSend, { input: { roomId, body: 'hi' } }, token)),
      editMessage: async (roomId, token) =>
        outcome(await api.request(MsgEdit, { messageId: await target(roomId), body: 'edited' }, token)),
      deleteMessage: async (roomId, token) => outcome(await api.request(MsgDelete, { messageId: await target(roomId) }, token)),
      addReaction: async (roomId, token) =>
        outcome(await api.request(MsgReact, { messageId: await target(roomId), emoji: '👍' }, token)),
      removeReaction: async (roomId, token) =>
        outcome(await api.request(MsgUnreact, { messageId: await target(roomId), emoji: '👍' }, token)),
      markRead: async (roomId, token) => outcome(await api.request(MsgMarkRead, { roomId, seq: 1 }, token)),
      // room(id) is null, without an error, for a room the viewer may not see.
      'Room.messages': async (roomId, token) => {
        const response = await api.request(MsgRoom, { id: roomId }, token);
        return response.data?.room === null && !response.errors ? 'NOT_FOUND' : outcome(response);
      },
      'node(message)': async (roomId, token) => outcome(await api.request(MsgNode, { id: await target(roomId) }, token)),
    };
    const anyMember = { MEMBER: 'OK', ADMIN: 'OK', OWNER: 'OK', author: 'OK' };
    const allowed: Record<string, Partial<Record<Viewer, string>>> = {
      sendMessage: anyMember,
      editMessage: { MEMBER: 'FORBIDDEN', ADMIN: 'FORBIDDEN', OWNER: 'FORBIDDEN', author: 'OK' },
      deleteMessage: { MEMBER: 'FORBIDDEN', ADMIN: 'OK', OWNER: 'OK', author: 'OK' },
      addReaction: anyMember,
      removeReaction: anyMember,
      markRead: anyMember,
      'Room.messages': anyMember,
      'node(message)': anyMember,
    };
    for (const [name, operation] of Object.entries(operations)) {
      for (const [viewer, user] of Object.entries(viewers) as [Viewer, TestUser | undefined][]) {
        for (const [roomId, visibility] of [[publicRoomId, 'PUBLIC'], [privateRoomId, 'PRIVATE']] as const) {
          // Non-members: a PRIVATE room does not exist for them; a PUBLIC one is visible but closed.
          // node(id) answers anyone who may not read the message as it answers an unknown id: null.
          const nonMember = name === 'node(message)' ? 'NULL' : visibility === 'PUBLIC' ? 'FORBIDDEN' : 'NOT_FOUND';
          const anonymous = name === 'node(message)' ? 'NULL' : 'UNAUTHENTICATED';
          const expected = viewer === 'anonymous' ? anonymous : (allowed[name]?.[viewer] ?? nonMember);
          assert.equal(await operation(roomId, user?.token), expected, `${name} by ${viewer} in a ${visibility} room`);
        }
      }
    }
  });

  it('edits: author only, trimmed, sets editedAt, never a deleted message', async () => {
    const roomId = await castRoom();
    const message = await send(api, author, roomId, 'first draft');
    const events = await recordEvents(api, topics.room(rawId(roomId)));
    const edited = (await api.ok(MsgEdit, { messageId: message.id, body: '  final  ' }, author.token)).editMessage;
    assert.equal(edited.body, 'final');
    assert.equal(edited.seq, message.seq);
    assert.ok(edited.editedAt);
    assert.deepEqual(await events.settled(1), [
      { type: 'MessageUpdated', roomId: rawId(roomId), messageId: rawId(message.id), seq: message.seq },
    ]);
    events.stop();

    assertCode(await api.request(MsgEdit, { messageId: message.id, body: ' ' }, author.token), 'BAD_USER_INPUT');
    assertCode(await api.request(MsgEdit, { messageId: 'bad', body: 'x' }, author.token), 'BAD_USER_INPUT');
    assertCode(await api.request(MsgEdit, { messageId: roomId, body: 'x' }, author.token), 'BAD_USER_INPUT');
    await api.ok(MsgDelete, { messageId: message.id }, author.token);
    assertCode(await api.request(MsgEdit, { messageId: message.id, body: 'again' }, author.token), 'CONFLICT');
  });

  it('deletes: content and reactions go, seq stays, and deleting twice is quiet', async () => {
    const roomId = await castRoom();
    const kept = await send(api, author, roomId, 'kept');
    const doomed = (await api.ok(MsgSend, { input: { roomId, body: 'oops', payload: { a: 1 } } }, author.token)).sendMessage;
    await send(api, author, roomId, 'after');
    await api.ok(MsgReact, { messageId: doomed.id, emoji: '👍' }, member.token);
    const events = await recordEvents(api, topics.room(rawId(roomId)));

    const deleted = (await api.ok(MsgDelete, { messageId: doomed.id }, admin.token)).deleteMessage;
    assert.deepEqual({ ...deleted, deletedAt: typeof deleted.deletedAt }, {
      id: doomed.id,
      seq: 2,
      body: null,
      payload: null,
      deletedAt: 'string',
      reactions: [],
    });
    const again = (await api.ok(MsgDelete, { messageId: doomed.id }, author.token)).deleteMessage;
    assert.equal(again.deletedAt, deleted.deletedAt);
    assert.deepEqual(await events.settled(1), [
      { type: 'MessageUpdated', roomId: rawId(roomId), messageId: rawId(doomed.id), seq: 2 },
    ]);
    events.stop();

    const history = (await api.ok(MsgRoom, { id: roomId }, member.token)).room?.messages.edges.map((edge) => edge.node);
    assert.deepEqual(history?.map((node) => [node.seq, node.body]), [[1, 'kept'], [2, null], [3, 'after']]);
    assertCode(await api.request(MsgReact, { messageId: doomed.id, emoji: '🎉' }, member.token), 'CONFLICT');
    await api.ok(MsgDelete, { messageId: kept.id }, owner.token);
  });

  it('reacts: one reaction per user and emoji, tallied per emoji, removing a missing one is a no-op', async () => {
    const roomId = await castRoom();
    const message = await send(api, author, roomId, 'react to me');
    const messageId = message.id;
    const events = await recordEvents(api, topics.room(rawId(roomId)));

    const mine = (await api.ok(MsgReact, { messageId, emoji: '👍' }, member.token)).addReaction;
    assert.deepEqual(mine.reactions, [{ emoji: '👍', count: 1, reactedByMe: true }]);
    const twice = (await api.ok(MsgReact, { messageId, emoji: '👍' }, member.token)).addReaction;
    assert.deepEqual(twice.reactions, mine.reactions);
    await api.ok(MsgReact, { messageId, emoji: '👍' }, admin.token);
    const tada = (await api.ok(MsgReact, { messageId, emoji: ':tada:' }, owner.token)).addReaction;
    assert.deepEqual(tada.reactions, [
      { emoji: '👍', count: 2, reactedByMe: false },
      { emoji: ':tada:', count: 1, reactedByMe: true },
    ]);
    const removed = (await api.ok(MsgUnreact, { messageId, emoji: '👍' }, member.token)).removeReaction;
    assert.deepEqual(removed.reactions, [
      { emoji: '👍', count: 1, reactedByMe: false },
      { emoji: ':tada:', count: 1, reactedByMe: false },
    ]);
    const missing = (await api.ok(MsgUnreact, { messageId, emoji: '👍' }, member.token)).removeReaction;
    assert.deepEqual(missing.reactions, removed.reactions);

    const updated = { type: 'MessageUpdated', roomId: rawId(roomId), messageId: rawId(messageId), seq: message.seq };
    assert.deepEqual(await events.settled(4), [updated, updated, updated, updated], 'add, add by another, add other emoji, remove');
    events.stop();

    for (const emoji of ['', 'x'.repeat(33), 'thumbs up', '\u0000']) {
      assertCode(await api.request(MsgReact, { messageId, emoji }, member.token), 'BAD_USER_INPUT', JSON.stringify(emoji));
      assertCode(await api.request(MsgUnreact, { messageId, emoji }, member.token), 'BAD_USER_INPUT', JSON.stringify(emoji));
    }
  });

  it('marks read: clamps to the newest seq, never moves back, counts unread messages of others', async () => {
    const roomId = await castRoom();
    for (const body of ['one', 'two', 'three']) await send(api, owner, roomId, body);
    await send(api, member, roomId, 'mine');
    const fifth = await send(api, owner, roomId, 'five');
    const membership = async (user: TestUser) => (await api.ok(MsgRoom, { id: roomId }, user.token)).room?.myMembership;
    assert.deepEqual(await membership(member), { lastReadSeq: 0, unreadCount: 4 }, 'not their own');
    assert.deepEqual(await membership(owner), { lastReadSeq: 0, unreadCount: 1 });

    const events = await recordEvents(api, topics.room(rawId(roomId)));
    const marked = (await api.ok(MsgMarkRead, { roomId, seq: 3 }, member.token)).markRead;
    assert.deepEqual(marked, { lastReadSeq: 3, unreadCount: 1, user: { id: member.id }, room: { id: roomId } });
    const backwards = (await api.ok(MsgMarkRead, { roomId, seq: 1 }, member.token)).markRead;
    assert.equal(backwards.lastReadSeq, 3);
    const beyond = (await api.ok(MsgMarkRead, { roomId, seq: 1000 }, member.token)).markRead;
    assert.deepEqual([beyond.lastReadSeq, beyond.unreadCount], [5, 0]);
    assert.deepEqual(await events.settled(2), [
      { type: 'ReadReceipt', roomId: rawId(roomId), userId: rawId(member.id), lastReadSeq: 3 },
      { type: 'ReadReceipt', roomId: rawId(roomId), userId: rawId(member.id), lastReadSeq: 5 },
    ]);
    events.stop();
    assertCode(await api.request(MsgMarkRead, { roomId, seq: -1 }, member.token), 'BAD_USER_INPUT');

    await send(api, owner, roomId, 'six');
    await api.ok(MsgDelete, { messageId: fifth.id }, owner.token);
    await send(api, owner, roomId, 'seven');
    assert.deepEqual(await membership(member), { lastReadSeq: 5, unreadCount: 2 });
    await api.ok(MsgDelete, { messageId: (await send(api, owner, roomId, 'gone')).id }, owner.token);
    assert.deepEqual(await membership(member), { lastReadSeq: 5, unreadCount: 2 }, 'deleted messages are not unread');
  });

  it('retries with a clientMessageId return the original message, sequentially and concurrently', async () => {
    const roomId = await castRoom();
    const events = await recordEvents(api, topics.room(rawId(roomId)));
    const sendWithId = (user: TestUser, body: string, clientMessageId: string) =>
      api.ok(MsgSend, { input: { roomId, body, clientMessageId } }, user.token).then((data) => data.sendMessage);

    const original = await sendWithId(author, 'hello', 'retry-1');
    const retry = await sendWithId(author, 'hello again', 'retry-1');
    assert.deepEqual(retry, original);
    const otherAuthor = await sendWithId(member, 'hello', 'retry-1');
    assert.notEqual(otherAuthor.id, original.id, 'the key is per author');

    const racers = await Promise.all(Array.from({ length: 10 }, () => sendWithId(author, 'race', 'race-1')));
    assert.equal(new Set(racers.map((message) => message.id)).size, 1);
    assert.equal(racers[0]?.seq, 3);
    assert.equal(await lastSeqOf(roomId), 3, 'no seq was used twice or skipped');
    const stored = await api.server.app.prisma.message.count({ where: { roomId: rawId(roomId), clientMessageId: 'race-1' } });
    assert.equal(stored, 1);
    const published = await events.settled(3);
    assert.deepEqual(
      published.map((event) => event.type === 'MessageAdded' && event.seq),
      [1, 2, 3],
    );
    events.stop();
  });

  it('answers node(id) for messages of the viewer\'s rooms, null for unknown ids', async () => {
    const roomId = await castRoom();
    const message = await send(api, author, roomId, 'findable');
    assert.deepEqual((await api.ok(MsgNode, { id: message.id }, member.token)).node, {
      id: message.id,
      seq: message.seq,
      body: 'findable',
    });
    const unknown = await api.request(MsgNode, { id: globalId('Message', randomUUID()) }, member.token);
    assert.equal(unknown.errors, undefined);
    assert.equal(unknown.data?.node, null);
  });
});
