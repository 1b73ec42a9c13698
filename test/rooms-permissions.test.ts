import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { globalId } from '../src/ids.js';
import {
  outcome,
  rawId,
  RoomsAddMembers,
  RoomsBan,
  RoomsDelete,
  RoomsJoin,
  RoomsLeave,
  RoomsOpenDirect,
  RoomsRemove,
  RoomsRoomMembers,
  RoomsSetRole,
  RoomsUnban,
  RoomsUpdate,
} from './support/rooms.js';
import { startTestServer, type GraphQLResponse, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';

const viewers = ['anonymous', 'outsider', 'banned', 'MEMBER', 'ADMIN', 'OWNER'] as const;
type Viewer = (typeof viewers)[number];
type Operation = (roomId: string, token: string | undefined) => Promise<GraphQLResponse<unknown>>;

// Outcomes, short so the tables below read as tables.
const U = 'UNAUTHENTICATED';
const F = 'FORBIDDEN';
const N = 'NOT_FOUND';
const B = 'BAD_USER_INPUT';
const C = 'CONFLICT';
const OK = 'OK';
const NULL = 'NULL';

describe('room permissions', () => {
  let api: TestServer;
  let cast: Record<Exclude<Viewer, 'anonymous'>, TestUser> & { otherAdmin: TestUser; target: TestUser; newcomer: TestUser };
  before(async () => {
    api = await startTestServer();
    cast = {
      outsider: await createUser(api, 'outsider'),
      banned: await createUser(api, 'banned'),
      MEMBER: await createUser(api, 'member'),
      ADMIN: await createUser(api, 'admin'),
      OWNER: await createUser(api, 'owner'),
      otherAdmin: await createUser(api, 'other'),
      target: await createUser(api, 'target'),
      newcomer: await createUser(api, 'newcomer'),
    };
  });
  after(() => api.close());

  /** What each operation does to a fresh room; `target` is a MEMBER, `otherAdmin` an ADMIN. */
  const operations = (): [string, Operation][] => [
    ['room { members }', (roomId, token) => api.request(RoomsRoomMembers, { id: roomId }, token)],
    ['updateRoom', (roomId, token) => api.request(RoomsUpdate, { input: { roomId, name: 'renamed' } }, token)],
    ['deleteRoom', (roomId, token) => api.request(RoomsDelete, { roomId }, token)],
    ['joinRoom', (roomId, token) => api.request(RoomsJoin, { roomId }, token)],
    ['leaveRoom', (roomId, token) => api.request(RoomsLeave, { roomId }, token)],
    ['addMembers(newcomer)', (roomId, token) => api.request(RoomsAddMembers, { roomId, userIds: [cast.newcomer.id] }, token)],
    ['addMembers(banned)', (roomId, token) => api.request(RoomsAddMembers, { roomId, userIds: [cast.banned.id] }, token)],
    ['removeMember(MEMBER)', (roomId, token) => api.request(RoomsRemove, { roomId, userId: cast.target.id }, token)],
    ['removeMember(ADMIN)', (roomId, token) => api.request(RoomsRemove, { roomId, userId: cast.otherAdmin.id }, token)],
    ['removeMember(OWNER)', (roomId, token) => api.request(RoomsRemove, { roomId, userId: cast.OWNER.id }, token)],
    ['setMemberRole(MEMBER→ADMIN)', (roomId, token) => api.request(RoomsSetRole, { roomId, userId: cast.target.id, role: 'ADMIN' }, token)],
    ['setMemberRole(ADMIN→MEMBER)', (roomId, token) => api.request(RoomsSetRole, { roomId, userId: cast.otherAdmin.id, role: 'MEMBER' }, token)],
    ['setMemberRole(MEMBER→OWNER)', (roomId, token) => api.request(RoomsSetRole, { roomId, userId: cast.target.id, role: 'OWNER' }, token)],
    ['banUser(MEMBER)', (roomId, token) => api.request(RoomsBan, { roomId, userId: cast.target.id }, token)],
    ['banUser(ADMIN)', (roomId, token) => api.request(RoomsBan, { roomId, userId: cast.otherAdmin.id }, token)],
    ['banUser(OWNER)', (roomId, token) => api.request(RoomsBan, { roomId, userId: cast.OWNER.id }, token)],
    ['unbanUser(banned)', (roomId, token) => api.request(RoomsUnban, { roomId, userId: cast.banned.id }, token)],
  ];

  /** Written straight to the database: the API that builds rooms is tested elsewhere, and this is 136 rooms. */
  async function freshRoom(visibility: 'PUBLIC' | 'PRIVATE'): Promise<string> {
    const as = (role: 'OWNER' | 'ADMIN' | 'MEMBER', ...users: TestUser[]) => users.map((user) => ({ userId: rawId(user.id), role }));
    const room = await api.server.app.prisma.room.create({
      data: {
        kind: 'GROUP',
        name: 'permissions',
        visibility,
        members: {
          create: [...as('OWNER', cast.OWNER), ...as('ADMIN', cast.ADMIN, cast.otherAdmin), ...as('MEMBER', cast.MEMBER, cast.target)],
        },
        bans: { create: { userId: rawId(cast.banned.id) } },
      },
    });
    return globalId('Room', room.id);
  }

  /** Runs every operation as each viewer, each on a room of its own; returns operation → viewer → outcome. */
  async function outcomes(visibility: 'PUBLIC' | 'PRIVATE', as: readonly Viewer[]) {
    const table: Record<string, Partial<Record<Viewer, string>>> = {};
    for (const [name, operation] of operations()) {
      table[name] = {};
      for (const viewer of as) {
        const roomId = await freshRoom(visibility);
        const token = viewer === 'anonymous' ? undefined : cast[viewer].token;
        table[name][viewer] = outcome(await operation(roomId, token));
      }
    }
    return table;
  }

  const row = (...codes: string[]) => Object.fromEntries(viewers.map((viewer, i) => [viewer, codes[i]]));

  it('in a PUBLIC group room, each role may do exactly its part', async () => {
    assert.deepEqual(await outcomes('PUBLIC', viewers), {
      // Columns: anonymous, outsider, banned, MEMBER, ADMIN, OWNER.
      'room { members }': row(U, F, F, OK, OK, OK),
      updateRoom: row(U, F, F, F, OK, OK),
      deleteRoom: row(U, F, F, F, F, OK),
      joinRoom: row(U, OK, F, OK, OK, OK),
      leaveRoom: row(U, F, F, OK, OK, OK),
      'addMembers(newcomer)': row(U, F, F, F, OK, OK),
      'addMembers(banned)': row(U, F, F, F, C, C),
      'removeMember(MEMBER)': row(U, F, F, F, OK, OK),
      'removeMember(ADMIN)': row(U, F, F, F, F, OK),
      'removeMember(OWNER)': row(U, F, F, F, F, B),
      'setMemberRole(MEMBER→ADMIN)': row(U, F, F, F, F, OK),
      'setMemberRole(ADMIN→MEMBER)': row(U, F, F, F, F, OK),
      'setMemberRole(MEMBER→OWNER)': row(U, F, F, F, F, OK),
      'banUser(MEMBER)': row(U, F, F, F, OK, OK),
      'banUser(ADMIN)': row(U, F, F, F, F, OK),
      'banUser(OWNER)': row(U, F, F, F, F, B),
      'unbanUser(banned)': row(U, F, F, F, OK, OK),
    });
  });

  it('a PRIVATE room does not exist for outsiders and banned users', async () => {
    const table = await outcomes('PRIVATE', ['outsider', 'banned']);
    const hidden = Object.fromEntries(
      operations().map(([name]) => [name, name === 'room { members }' ? { outsider: NULL, banned: NULL } : { outsider: N, banned: N }]),
    );
    assert.deepEqual(table, hidden);
  });

  it('a DIRECT room has no roles, bans or membership changes, and does not exist for others', async () => {
    // Between MEMBER and target, so the operations aimed at target aim at the other member.
    const left = cast.MEMBER;
    const roomId = (await api.ok(RoomsOpenDirect, { userId: cast.target.id }, left.token)).openDirectRoom.id;
    const table: Record<string, { member: string; outsider: string }> = {};
    for (const [name, operation] of operations()) {
      table[name] = {
        member: outcome(await operation(roomId, left.token)),
        outsider: outcome(await operation(roomId, cast.outsider.token)),
      };
    }
    const expected = Object.fromEntries(operations().map(([name]) => [name, { member: B, outsider: N }]));
    expected['room { members }'] = { member: OK, outsider: NULL };
    // Joining a room one is in keeps the membership.
    expected.joinRoom = { member: OK, outsider: N };
    assert.deepEqual(table, expected);
  });
});
