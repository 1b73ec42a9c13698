import { builder } from '../builder.js';
import { checkPrismaCursors } from '../ids.js';
import { User } from '../users/schema.js';
import { byTenure, visibleTo } from './access.js';

/**
 * The room and membership types. Other domains add their own fields to them
 * (messages adds Room.messages, Room.lastMessage, RoomMember.unreadCount).
 *
 * Visibility: anyone who can see a room sees its id, kind, name, topic, visibility, createdAt and
 * memberCount; everything else is for members only (scope `member`). myMembership is the viewer's own
 * state, so it answers non-members too (null), which is how a client knows to offer "join".
 */

export const RoomKind = builder.enumType('RoomKind', {
  values: {
    DIRECT: { description: 'Exactly two members; created by openDirectRoom, one per pair of users.' },
    GROUP: { description: 'Named room with roles and an access policy.' },
  } as const,
});

export const RoomVisibility = builder.enumType('RoomVisibility', {
  values: {
    PUBLIC: { description: 'Listed in publicRooms; anyone signed in and not banned may join.' },
    PRIVATE: { description: 'Joinable only by users an OWNER or ADMIN added.' },
  } as const,
});

export const RoomRole = builder.enumType('RoomRole', { values: ['OWNER', 'ADMIN', 'MEMBER'] as const });

export const Room = builder.prismaNode('Room', {
  id: { field: 'id' },
  // node(id) answers null for rooms the viewer may not see, as room(id) does.
  nullable: true,
  findUnique: (id, context) => ({ ...visibleTo(context.viewer?.id ?? null), id }),
  fields: (t) => ({
    kind: t.expose('kind', { type: RoomKind }),
    name: t.exposeString('name', { nullable: true, description: 'Null for DIRECT rooms.' }),
    topic: t.exposeString('topic', { nullable: true }),
    visibility: t.expose('visibility', { type: RoomVisibility }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    memberCount: t.relationCount('members'),
    lastSeq: t.exposeInt('lastSeq', {
      description: 'The seq of the newest message, 0 when empty.',
      authScopes: (room) => ({ member: room.id }),
    }),
    members: t.relatedConnection(
      'members',
      {
        cursor: 'roomId_userId',
        query: (args) => {
          checkPrismaCursors(args, 2);
          return { orderBy: byTenure };
        },
        defaultSize: 20,
        maxSize: 100,
        authScopes: (room) => ({ member: room.id }),
      },
      { name: 'RoomMemberConnection' },
      { name: 'RoomMemberEdge' },
    ),
    myMembership: t.field({
      type: RoomMember,
      nullable: true,
      description: "The viewer's membership; null when the viewer is not a member.",
      // Subscriptions don't share this field's result between viewers.
      extensions: { viewerDependent: true },
      // The same batched load the `member` scope uses: one query for a whole list of rooms.
      resolve: (room, _args, context) => context.loaders.membership.load(room.id),
    }),
  }),
});

export const RoomMember = builder.prismaObject('RoomMember', {
  fields: (t) => ({
    user: t.relation('user', { type: User }),
    room: t.relation('room'),
    role: t.expose('role', { type: RoomRole }),
    joinedAt: t.expose('joinedAt', { type: 'DateTime' }),
    lastReadSeq: t.exposeInt('lastReadSeq', { description: 'Highest seq this member has marked read.' }),
  }),
});

export const RoomConnection = builder.connectionObject({ type: Room, name: 'RoomConnection' }, { name: 'RoomEdge' });
