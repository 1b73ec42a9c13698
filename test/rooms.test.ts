import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { globalId } from '../src/ids.js';
import { topics } from '../src/realtime/topics.js';
import { graphql } from './generated/gql.js';
import {
  assertCode,
  rawId,
  recordEvents,
  RoomsAddMembers,
  RoomsCreateRoom,
  RoomsDelete,
  RoomsOpenDirect,
  RoomsRoomMembers,
  RoomsUpdate,
  roomWithCast,
} from './support/rooms.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';

const RoomsRoom = graphql(`
  query RoomsRoom($id: ID!) {
    room(id: $id) {
      id
      kind
      name
      topic
      visibility
      createdAt
      memberCount
      myMembership {
        role
        user {
          id
        }
      }
    }
  }
`);

const RoomsNode = graphql(`
  query RoomsNode($id: ID!) {
    node(id: $id) {
      id
      ... on Room {
        name
      }
    }
  }
`);

const RoomsMine = graphql(`
  query RoomsMine($kind: RoomKind, $first: Int, $after: String) {
    rooms(kind: $kind, first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          kind
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const RoomsPublic = graphql(`
  query RoomsPublic($search: String, $first: Int, $after: String) {
    publicRooms(search: $search, first: $first, after: $after) {
      edges {
        node {
          name
          visibility
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

/** A token to put in room names, so searches see only this test's rooms. */
const token = () => `zq${randomBytes(4).toString('hex')}`;

describe('rooms', () => {
  let api: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  before(async () => {
    api = await startTestServer();
    [alice, bob, carol] = await Promise.all([createUser(api, 'alice'), createUser(api, 'bob'), createUser(api, 'carol')]);
  });
  after(() => api.close());

  it('creates a group room: the creator is OWNER, the others MEMBERs, and everyone hears MemberJoined', async () => {
    const bobEvents = await recordEvents(api, topics.user(rawId(bob.id)));
    // The creator and repeated ids in memberIds are ignored.
    const data = await api.ok(
      RoomsCreateRoom,
      { input: { name: '  Book club  ', topic: ' Novels ', memberIds: [bob.id, carol.id, bob.id, alice.id] } },
      alice.token,
    );
    const room = data.createRoom;
    assert.deepEqual(
      { ...room, id: undefined },
      { id: undefined, kind: 'GROUP', name: 'Book club', topic: 'Novels', visibility: 'PRIVATE', memberCount: 3, myMembership: { role: 'OWNER' } },
    );
    const members = await api.ok(RoomsRoomMembers, { id: room.id }, bob.token);
    const roles = new Map(members.room?.members.edges.map((edge) => [edge.node.user.id, edge.node.role]));
    assert.deepEqual(Object.fromEntries(roles), { [alice.id]: 'OWNER', [bob.id]: 'MEMBER', [carol.id]: 'MEMBER' });
    assert.deepEqual(await bobEvents.settled(1), [{ type: 'MemberJoined', roomId: rawId(room.id), userId: rawId(bob.id) }]);
    bobEvents.stop();
  });

  it('validates createRoom input', async () => {
    const cases: [string, { name: string; topic?: string; memberIds?: string[] }, string][] = [
      ['blank name', { name: '   ' }, 'BAD_USER_INPUT'],
      ['long name', { name: 'n'.repeat(101) }, 'BAD_USER_INPUT'],
      ['control character', { name: 'a\u0007b' }, 'BAD_USER_INPUT'],
      ['long topic', { name: 'ok', topic: 't'.repeat(501) }, 'BAD_USER_INPUT'],
      ['malformed member id', { name: 'ok', memberIds: ['nope'] }, 'BAD_USER_INPUT'],
      ['room id as member id', { name: 'ok', memberIds: [globalId('Room', 'x')] }, 'BAD_USER_INPUT'],
      ['unknown member', { name: 'ok', memberIds: [bob.id, globalId('User', '00000000-0000-7000-8000-000000000000')] }, 'NOT_FOUND'],
    ];
    for (const [label, input, code] of cases) assertCode(await api.request(RoomsCreateRoom, { input }, alice.token), code, label);
    assertCode(await api.request(RoomsCreateRoom, { input: { name: 'n'.repeat(100) } }, alice.token), 'OK', '100 characters');
    assertCode(await api.request(RoomsCreateRoom, { input: { name: 'anonymous' } }), 'UNAUTHENTICATED');
  });

  it('shows members everything, outsiders of a PUBLIC room its public face, and PRIVATE rooms to nobody else', async () => {
    const publicRoom = await roomWithCast(api, { owner: alice, members: [bob], visibility: 'PUBLIC', name: 'open' });
    const privateRoom = await roomWithCast(api, { owner: alice, members: [bob], visibility: 'PRIVATE', name: 'closed' });

    const asMember = await api.ok(RoomsRoom, { id: privateRoom }, bob.token);
    assert.equal(asMember.room?.name, 'closed');
    assert.deepEqual(asMember.room?.myMembership, { role: 'MEMBER', user: { id: bob.id } });

    const asOutsider = await api.ok(RoomsRoom, { id: publicRoom }, carol.token);
    assert.equal(asOutsider.room?.name, 'open');
    assert.equal(asOutsider.room?.memberCount, 2);
    assert.equal(asOutsider.room?.myMembership, null);
    const outsiderMembers = await api.request(RoomsRoomMembers, { id: publicRoom }, carol.token);
    assertCode(outsiderMembers, 'FORBIDDEN');
    assert.deepEqual(outsiderMembers.errors?.[0]?.path, ['room', 'members']);

    assert.equal((await api.ok(RoomsRoom, { id: privateRoom }, carol.token)).room, null);
    assert.equal((await api.ok(RoomsNode, { id: privateRoom }, carol.token)).node, null);
    assert.equal((await api.ok(RoomsNode, { id: privateRoom })).node, null, 'anonymous node(id)');
    assert.deepEqual((await api.ok(RoomsNode, { id: privateRoom }, bob.token)).node, { id: privateRoom, name: 'closed' });
    assert.deepEqual((await api.ok(RoomsNode, { id: publicRoom }, carol.token)).node, { id: publicRoom, name: 'open' });
    const unknown = globalId('Room', '00000000-0000-7000-8000-000000000000');
    assert.equal((await api.ok(RoomsRoom, { id: unknown }, carol.token)).room, null);
    assertCode(await api.request(RoomsRoom, { id: 'garbage' }, carol.token), 'BAD_USER_INPUT');
    assertCode(await api.request(RoomsRoom, { id: publicRoom }), 'UNAUTHENTICATED');
  });

  it('pages members longest-standing first', async () => {
    const [dave, erin] = await Promise.all([createUser(api, 'dave'), createUser(api, 'erin')]);
    const roomId = await roomWithCast(api, { owner: alice, members: [bob] });
    // Joined in separate transactions, so strictly later than the first two.
    for (const user of [dave, erin, carol]) await api.ok(RoomsAddMembers, { roomId, userIds: [user.id] }, alice.token);

    const page1 = await api.ok(RoomsRoomMembers, { id: roomId, first: 3 }, alice.token);
    const page2 = await api.ok(RoomsRoomMembers, { id: roomId, first: 3, after: page1.room?.members.pageInfo.endCursor }, alice.token);
    assert.equal(page1.room?.members.pageInfo.hasNextPage, true);
    assert.equal(page2.room?.members.pageInfo.hasNextPage, false);
    const edges = [...(page1.room?.members.edges ?? []), ...(page2.room?.members.edges ?? [])];
    assert.deepEqual(edges.slice(2).map((edge) => edge.node.user.id), [dave.id, erin.id, carol.id]);
    assert.deepEqual(new Set(edges.slice(0, 2).map((edge) => edge.node.user.id)), new Set([alice.id, bob.id]));
    const joinedAt = edges.map((edge) => Date.parse(edge.node.joinedAt));
    assert.deepEqual(joinedAt, [...joinedAt].sort((a, b) => a - b));
  });

  it("lists the viewer's rooms by last activity, filtered by kind, with cursors that survive new activity", async () => {
    const viewer = await createUser(api, 'lister');
    const first = await roomWithCast(api, { owner: viewer, name: 'first' });
    const second = await roomWithCast(api, { owner: viewer, name: 'second' });
    const third = await roomWithCast(api, { owner: bob, members: [viewer], name: 'third' });
    await roomWithCast(api, { owner: bob, name: 'not mine' });
    const direct = (await api.ok(RoomsOpenDirect, { userId: carol.id }, viewer.token)).openDirectRoom.id;
    // A new message in `first` would do this (the messages module bumps lastActivityAt on send).
    await bump(first);

    const ids = async (variables: { kind?: 'DIRECT' | 'GROUP'; first?: number; after?: string | null }) =>
      (await api.ok(RoomsMine, variables, viewer.token)).rooms;
    assert.deepEqual((await ids({})).edges.map((edge) => edge.node.id), [first, direct, third, second]);
    assert.deepEqual((await ids({ kind: 'GROUP' })).edges.map((edge) => edge.node.id), [first, third, second]);
    assert.deepEqual((await ids({ kind: 'DIRECT' })).edges.map((edge) => edge.node.id), [direct]);

    const page1 = await ids({ first: 2 });
    assert.deepEqual(page1.edges.map((edge) => edge.node.id), [first, direct]);
    assert.equal(page1.pageInfo.hasNextPage, true);
    // The room at the cursor moves to the top: the next page still continues where page 1 ended.
    await bump(direct);
    const page2 = await ids({ first: 2, after: page1.pageInfo.endCursor });
    assert.deepEqual(page2.edges.map((edge) => edge.node.id), [third, second]);
    assert.equal(page2.pageInfo.hasNextPage, false);

    assertCode(await api.request(RoomsMine, { after: 'not-a-cursor' }, viewer.token), 'BAD_USER_INPUT');
    assertCode(await api.request(RoomsMine, {}), 'UNAUTHENTICATED');
  });

  async function bump(roomId: string) {
    await api.server.app.prisma.room.update({ where: { id: rawId(roomId) }, data: { lastActivityAt: new Date() } });
  }

  it('lists PUBLIC group rooms by name, searching names in any case', async () => {
    const tag = token();
    for (const [name, visibility] of [
      [`${tag} delta`, 'PUBLIC'],
      [`${tag} alpha`, 'PUBLIC'],
      [`${tag} gamma`, 'PRIVATE'],
      [`${tag} beta`, 'PUBLIC'],
      [`${tag} epsilon`, 'PUBLIC'],
    ] as const) {
      await roomWithCast(api, { owner: bob, name, visibility });
    }
    const search = tag.toUpperCase();
    const all = await api.ok(RoomsPublic, { search }, carol.token);
    assert.deepEqual(
      all.publicRooms.edges.map((edge) => edge.node.name),
      ['alpha', 'beta', 'delta', 'epsilon'].map((suffix) => `${tag} ${suffix}`),
    );
    const page1 = await api.ok(RoomsPublic, { search, first: 3 }, carol.token);
    const page2 = await api.ok(RoomsPublic, { search, first: 3, after: page1.publicRooms.pageInfo.endCursor }, carol.token);
    assert.equal(page1.publicRooms.pageInfo.hasNextPage, true);
    assert.deepEqual(page2.publicRooms.edges.map((edge) => edge.node.name), [`${tag} epsilon`]);
    assert.equal(page2.publicRooms.pageInfo.hasNextPage, false);
    assert.deepEqual((await api.ok(RoomsPublic, { search: `${tag} GAMMA` }, carol.token)).publicRooms.edges, []);
    assertCode(await api.request(RoomsPublic, { search }), 'UNAUTHENTICATED');
  });

  it('opens one direct room per pair, from either side', async () => {
    const [dan, eve] = await Promise.all([createUser(api, 'dan'), createUser(api, 'eve')]);
    const opened = (await api.ok(RoomsOpenDirect, { userId: eve.id }, dan.token)).openDirectRoom;
    assert.deepEqual(
      { ...opened, id: undefined },
      { id: undefined, kind: 'DIRECT', name: null, visibility: 'PRIVATE', memberCount: 2, myMembership: { role: 'MEMBER' } },
    );
    assert.equal((await api.ok(RoomsOpenDirect, { userId: dan.id }, eve.token)).openDirectRoom.id, opened.id);
    assert.equal((await api.ok(RoomsOpenDirect, { userId: eve.id }, dan.token)).openDirectRoom.id, opened.id);
    assert.equal((await api.ok(RoomsRoom, { id: opened.id }, carol.token)).room, null, 'invisible to others');

    assertCode(await api.request(RoomsOpenDirect, { userId: dan.id }, dan.token), 'BAD_USER_INPUT');
    assertCode(await api.request(RoomsOpenDirect, { userId: globalId('User', '00000000-0000-7000-8000-000000000000') }, dan.token), 'NOT_FOUND');
    assertCode(await api.request(RoomsOpenDirect, { userId: 'garbage' }, dan.token), 'BAD_USER_INPUT');
    assertCode(await api.request(RoomsOpenDirect, { userId: eve.id }), 'UNAUTHENTICATED');
  });

  it('agrees on one direct room when both sides open it at once', async () => {
    const [fay, gus] = await Promise.all([createUser(api, 'fay'), createUser(api, 'gus')]);
    const fayEvents = await recordEvents(api, topics.user(rawId(fay.id)));
    const calls = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0 ? api.ok(RoomsOpenDirect, { userId: gus.id }, fay.token) : api.ok(RoomsOpenDirect, { userId: fay.id }, gus.token),
    );
    const ids = new Set((await Promise.all(calls)).map((data) => data.openDirectRoom.id));
    assert.equal(ids.size, 1);
    const [roomId] = [...ids];
    assert.deepEqual(await fayEvents.settled(1), [{ type: 'MemberJoined', roomId: rawId(roomId as string), userId: rawId(fay.id) }]);
    fayEvents.stop();
    assert.equal(await api.server.app.prisma.room.count({ where: { kind: 'DIRECT', members: { some: { userId: rawId(fay.id) } } } }), 1);
  });

  it('updates name, topic and visibility, keeping what is left out, and publishes RoomUpdated', async () => {
    const roomId = await roomWithCast(api, { owner: alice, admins: [bob], name: 'before' });
    const events = await recordEvents(api, topics.room(rawId(roomId)));
    const renamed = await api.ok(RoomsUpdate, { input: { roomId, name: ' after ', topic: 'Chat' } }, bob.token);
    assert.deepEqual(renamed.updateRoom, { id: roomId, name: 'after', topic: 'Chat', visibility: 'PUBLIC' });
    const privateNow = await api.ok(RoomsUpdate, { input: { roomId, visibility: 'PRIVATE' } }, alice.token);
    assert.deepEqual(privateNow.updateRoom, { id: roomId, name: 'after', topic: 'Chat', visibility: 'PRIVATE' });
    const cleared = await api.ok(RoomsUpdate, { input: { roomId, topic: null } }, alice.token);
    assert.equal(cleared.updateRoom.topic, null);
    assert.deepEqual(await events.settled(3), Array(3).fill({ type: 'RoomUpdated', roomId: rawId(roomId) }));
    events.stop();

    assertCode(await api.request(RoomsUpdate, { input: { roomId, name: '' } }, alice.token), 'BAD_USER_INPUT');
    assertCode(await api.request(RoomsUpdate, { input: { roomId, topic: 'x'.repeat(501) } }, alice.token), 'BAD_USER_INPUT');
    assertCode(await api.request(RoomsUpdate, { input: { roomId: 'garbage', name: 'x' } }, alice.token), 'BAD_USER_INPUT');
  });

  it('deletes a room for everyone; each member hears RoomDeleted', async () => {
    const roomId = await roomWithCast(api, { owner: alice, members: [bob] });
    const bobEvents = await recordEvents(api, topics.user(rawId(bob.id)));
    const deleted = await api.ok(RoomsDelete, { roomId }, alice.token);
    assert.equal(deleted.deleteRoom, roomId);
    assert.equal((await api.ok(RoomsRoom, { id: roomId }, alice.token)).room, null);
    assert.deepEqual(await bobEvents.settled(1), [{ type: 'RoomDeleted', roomId: rawId(roomId) }]);
    bobEvents.stop();
    assertCode(await api.request(RoomsDelete, { roomId }, alice.token), 'NOT_FOUND');
  });
});
