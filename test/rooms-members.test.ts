import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { globalId } from '../src/ids.js';
import { topics } from '../src/realtime/topics.js';
import {
  assertCode,
  rawId,
  recordEvents,
  RoomsAddMembers,
  RoomsBan,
  RoomsJoin,
  RoomsLeave,
  RoomsRemove,
  RoomsRoomMembers,
  RoomsSetRole,
  RoomsUnban,
  roomWithCast,
} from './support/rooms.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';

describe('room membership', () => {
  let api: TestServer;
  let owner: TestUser;
  let admin: TestUser;
  let member: TestUser;
  let outsider: TestUser;
  before(async () => {
    api = await startTestServer();
    [owner, admin, member, outsider] = await Promise.all([
      createUser(api, 'owner'),
      createUser(api, 'admin'),
      createUser(api, 'member'),
      createUser(api, 'outsider'),
    ]);
  });
  after(() => api.close());

  /** userId (global) → role, for the members of a room as its owner sees them; null once the room is gone. */
  async function roles(roomId: string, viewer: TestUser = owner): Promise<Record<string, string> | null> {
    const data = await api.ok(RoomsRoomMembers, { id: roomId, first: 100 }, viewer.token);
    if (!data.room) return null;
    return Object.fromEntries(data.room.members.edges.map((edge) => [edge.node.user.id, edge.node.role]));
  }

  it('joins a PUBLIC room once; joining again returns the same membership', async () => {
    const roomId = await roomWithCast(api, { owner, visibility: 'PUBLIC' });
    const events = await recordEvents(api, topics.room(rawId(roomId)));
    const joined = (await api.ok(RoomsJoin, { roomId }, outsider.token)).joinRoom;
    assert.deepEqual({ ...joined, joinedAt: undefined }, { role: 'MEMBER', joinedAt: undefined, user: { id: outsider.id }, room: { id: roomId, memberCount: 2 } });
    const again = (await api.ok(RoomsJoin, { roomId }, outsider.token)).joinRoom;
    assert.equal(again.joinedAt, joined.joinedAt);
    assert.deepEqual(await events.settled(1), [{ type: 'MemberJoined', roomId: rawId(roomId), userId: rawId(outsider.id) }]);
    events.stop();

    const privateRoom = await roomWithCast(api, { owner, visibility: 'PRIVATE' });
    assertCode(await api.request(RoomsJoin, { roomId: privateRoom }, outsider.token), 'NOT_FOUND');
  });

  it('leaves a room: MemberLeft with reason LEFT, and the room is gone from the member', async () => {
    const roomId = await roomWithCast(api, { owner, members: [member] });
    const events = await recordEvents(api, topics.user(rawId(member.id)));
    assert.equal((await api.ok(RoomsLeave, { roomId }, member.token)).leaveRoom, roomId);
    assert.deepEqual(await roles(roomId), { [owner.id]: 'OWNER' });
    assert.deepEqual(await events.settled(1), [{ type: 'MemberLeft', roomId: rawId(roomId), userId: rawId(member.id), reason: 'LEFT' }]);
    events.stop();
    assertCode(await api.request(RoomsLeave, { roomId }, member.token), 'FORBIDDEN', 'not a member any more');
  });

  it('hands ownership to the longest-standing ADMIN, else MEMBER, and deletes the room when the last one leaves', async () => {
    const [early, late, plain] = await Promise.all([createUser(api, 'early'), createUser(api, 'late'), createUser(api, 'plain')]);
    const roomId = await roomWithCast(api, { owner, visibility: 'PRIVATE' });
    // One call each, so each joins at a later time than the one before.
    for (const user of [plain, early, late]) await api.ok(RoomsAddMembers, { roomId, userIds: [user.id] }, owner.token);
    for (const user of [late, early]) await api.ok(RoomsSetRole, { roomId, userId: user.id, role: 'ADMIN' }, owner.token);

    const events = await recordEvents(api, topics.room(rawId(roomId)));
    await api.ok(RoomsLeave, { roomId }, owner.token);
    // plain joined first, but ADMINs come before MEMBERs; of those, early joined before late.
    assert.deepEqual(await roles(roomId, early), { [plain.id]: 'MEMBER', [early.id]: 'OWNER', [late.id]: 'ADMIN' });
    assert.deepEqual(await events.settled(2), [
      { type: 'MemberLeft', roomId: rawId(roomId), userId: rawId(owner.id), reason: 'LEFT' },
      { type: 'RoomUpdated', roomId: rawId(roomId) },
    ]);
    events.stop();

    await api.ok(RoomsLeave, { roomId }, early.token);
    assert.deepEqual(await roles(roomId, late), { [plain.id]: 'MEMBER', [late.id]: 'OWNER' });
    await api.ok(RoomsLeave, { roomId }, late.token);
    assert.deepEqual(await roles(roomId, plain), { [plain.id]: 'OWNER' }, 'no ADMIN left: the longest-standing MEMBER');

    const plainEvents = await recordEvents(api, topics.user(rawId(plain.id)));
    await api.ok(RoomsLeave, { roomId }, plain.token);
    assert.equal(await roles(roomId, plain), null, 'the last one out deletes the room');
    assert.deepEqual(await plainEvents.settled(1), [{ type: 'RoomDeleted', roomId: rawId(roomId) }]);
    plainEvents.stop();
  });

  it('adds members, skipping those already in, and returns every requested membership in order', async () => {
    const [newcomer, another] = await Promise.all([createUser(api, 'newcomer'), createUser(api, 'another')]);
    const roomId = await roomWithCast(api, { owner, admins: [admin], members: [member], visibility: 'PRIVATE' });
    const events = await recordEvents(api, topics.room(rawId(roomId)));
    const added = await api.ok(RoomsAddMembers, { roomId, userIds: [newcomer.id, member.id, admin.id, newcomer.id, another.id] }, admin.token);
    assert.deepEqual(added.addMembers, [
      { role: 'MEMBER', user: { id: newcomer.id } },
      { role: 'MEMBER', user: { id: member.id } },
      { role: 'ADMIN', user: { id: admin.id } },
      { role: 'MEMBER', user: { id: another.id } },
    ]);
    assert.deepEqual(await events.settled(2), [
      { type: 'MemberJoined', roomId: rawId(roomId), userId: rawId(newcomer.id) },
      { type: 'MemberJoined', roomId: rawId(roomId), userId: rawId(another.id) },
    ]);
    events.stop();
    assert.deepEqual((await api.ok(RoomsAddMembers, { roomId, userIds: [] }, admin.token)).addMembers, []);

    const unknown = globalId('User', '00000000-0000-7000-8000-000000000000');
    assertCode(await api.request(RoomsAddMembers, { roomId, userIds: [outsider.id, unknown] }, admin.token), 'NOT_FOUND');
    assertCode(await api.request(RoomsAddMembers, { roomId, userIds: ['garbage'] }, admin.token), 'BAD_USER_INPUT');
    assert.equal((await roles(roomId))?.[outsider.id], undefined, 'a failed call adds nobody');
  });

  it('removes a member: MemberLeft with reason REMOVED reaches the room and the removed user', async () => {
    const roomId = await roomWithCast(api, { owner, admins: [admin], members: [member] });
    const roomEvents = await recordEvents(api, topics.room(rawId(roomId)));
    const memberEvents = await recordEvents(api, topics.user(rawId(member.id)));
    assert.equal((await api.ok(RoomsRemove, { roomId, userId: member.id }, admin.token)).removeMember, member.id);
    const left = { type: 'MemberLeft', roomId: rawId(roomId), userId: rawId(member.id), reason: 'REMOVED' };
    assert.deepEqual(await roomEvents.settled(1), [left]);
    assert.deepEqual(await memberEvents.settled(1), [left]);
    roomEvents.stop();
    memberEvents.stop();
    assert.deepEqual(await roles(roomId), { [owner.id]: 'OWNER', [admin.id]: 'ADMIN' });
    assertCode(await api.request(RoomsRemove, { roomId, userId: member.id }, admin.token), 'NOT_FOUND', 'no longer a member');
    assertCode(await api.request(RoomsRemove, { roomId, userId: admin.id }, admin.token), 'BAD_USER_INPUT', 'removing oneself');
  });

  it('changes roles; making another member OWNER hands over ownership', async () => {
    const roomId = await roomWithCast(api, { owner, members: [admin, member] });
    const events = await recordEvents(api, topics.user(rawId(admin.id)));
    assert.deepEqual((await api.ok(RoomsSetRole, { roomId, userId: admin.id, role: 'ADMIN' }, owner.token)).setMemberRole, {
      role: 'ADMIN',
      user: { id: admin.id },
    });
    assert.deepEqual(await events.settled(1), [{ type: 'RoomUpdated', roomId: rawId(roomId) }]);
    events.stop();
    await api.ok(RoomsSetRole, { roomId, userId: member.id, role: 'ADMIN' }, owner.token);
    await api.ok(RoomsSetRole, { roomId, userId: member.id, role: 'MEMBER' }, owner.token);
    assert.deepEqual(await roles(roomId), { [owner.id]: 'OWNER', [admin.id]: 'ADMIN', [member.id]: 'MEMBER' });

    assertCode(await api.request(RoomsSetRole, { roomId, userId: owner.id, role: 'ADMIN' }, owner.token), 'CONFLICT', 'stepping down');
    await api.ok(RoomsSetRole, { roomId, userId: member.id, role: 'OWNER' }, owner.token);
    assert.deepEqual(await roles(roomId, member), { [owner.id]: 'ADMIN', [admin.id]: 'ADMIN', [member.id]: 'OWNER' });
    assertCode(await api.request(RoomsSetRole, { roomId, userId: admin.id, role: 'MEMBER' }, owner.token), 'FORBIDDEN', 'no longer the owner');
    assertCode(await api.request(RoomsSetRole, { roomId, userId: outsider.id, role: 'ADMIN' }, member.token), 'NOT_FOUND', 'not a member');
  });

  it('bans: the membership goes, and joining or being added fails until unbanned', async () => {
    const roomId = await roomWithCast(api, { owner, admins: [admin], members: [member], visibility: 'PUBLIC' });
    const events = await recordEvents(api, topics.user(rawId(member.id)));
    assert.equal((await api.ok(RoomsBan, { roomId, userId: member.id, reason: 'spam' }, admin.token)).banUser, member.id);
    assert.deepEqual(await events.settled(1), [{ type: 'MemberLeft', roomId: rawId(roomId), userId: rawId(member.id), reason: 'BANNED' }]);
    events.stop();
    assert.equal((await roles(roomId))?.[member.id], undefined);
    const ban = await api.server.app.prisma.roomBan.findUniqueOrThrow({
      where: { roomId_userId: { roomId: rawId(roomId), userId: rawId(member.id) } },
    });
    assert.deepEqual([ban.reason, ban.bannedById], ['spam', rawId(admin.id)]);

    assertCode(await api.request(RoomsJoin, { roomId }, member.token), 'FORBIDDEN', 'join while banned');
    assertCode(await api.request(RoomsAddMembers, { roomId, userIds: [member.id] }, owner.token), 'CONFLICT', 'add while banned');
    assertCode(await api.request(RoomsBan, { roomId, userId: member.id }, admin.token), 'OK', 'banning again');

    assert.equal((await api.ok(RoomsUnban, { roomId, userId: member.id }, admin.token)).unbanUser, member.id);
    assert.equal((await api.ok(RoomsJoin, { roomId }, member.token)).joinRoom.role, 'MEMBER');
    await api.ok(RoomsBan, { roomId, userId: member.id }, owner.token);
    await api.ok(RoomsUnban, { roomId, userId: member.id }, owner.token);
    assert.deepEqual((await api.ok(RoomsAddMembers, { roomId, userIds: [member.id] }, owner.token)).addMembers, [
      { role: 'MEMBER', user: { id: member.id } },
    ]);
  });

  it('bans users who are not members, keeping them out of a PUBLIC room', async () => {
    const roomId = await roomWithCast(api, { owner, visibility: 'PUBLIC' });
    const events = await recordEvents(api, topics.room(rawId(roomId)));
    await api.ok(RoomsBan, { roomId, userId: outsider.id }, owner.token);
    assertCode(await api.request(RoomsJoin, { roomId }, outsider.token), 'FORBIDDEN');
    assert.deepEqual(await events.settled(0), [], 'no member left, so nothing to tell');
    events.stop();
    assertCode(await api.request(RoomsBan, { roomId, userId: outsider.id, reason: 'r'.repeat(501) }, owner.token), 'BAD_USER_INPUT');
    assertCode(await api.request(RoomsBan, { roomId, userId: owner.id }, owner.token), 'BAD_USER_INPUT', 'banning oneself');
    const unknown = globalId('User', '00000000-0000-7000-8000-000000000000');
    assertCode(await api.request(RoomsBan, { roomId, userId: unknown }, owner.token), 'NOT_FOUND');
    assertCode(await api.request(RoomsUnban, { roomId, userId: unknown }, owner.token), 'NOT_FOUND');
  });
});
