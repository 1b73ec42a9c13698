import type { App } from '../app.js';
import { builder } from '../builder.js';
import { viewerId } from '../context.js';
import { globalId, parseId } from '../ids.js';
import { memberKey, visibleTo } from './access.js';
import * as bans from './bans.js';
import * as members from './members.js';
import { byLastActivity, byName, roomConnection } from './pagination.js';
import * as rooms from './service.js';
import { Room, RoomConnection, RoomKind, RoomRole, RoomVisibility } from './types.js';

const CreateRoomInput = builder.inputType('CreateRoomInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    topic: t.string(),
    visibility: t.field({ type: RoomVisibility, required: true, defaultValue: 'PRIVATE' }),
    memberIds: t.idList({ description: 'Initial members besides the creator, who becomes OWNER.' }),
  }),
});

const UpdateRoomInput = builder.inputType('UpdateRoomInput', {
  fields: (t) => ({
    roomId: t.id({ required: true }),
    name: t.string({ description: 'Omit (or null) to keep the name.' }),
    topic: t.string({ description: 'Omit to keep the topic; null or blank removes it.' }),
    visibility: t.field({ type: RoomVisibility, description: 'Omit (or null) to keep the visibility.' }),
  }),
});

builder.queryFields((t) => ({
  room: t.prismaField({
    type: 'Room',
    nullable: true,
    description: 'Null when there is no such room or the viewer may not see it.',
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, context) => {
      const room = await context.app.prisma.room.findUnique({
        ...query,
        where: { ...visibleTo(viewerId(context)), id: parseId('Room', args.id, 'id') },
      });
      // Only a member finds a private room (visibleTo): the `member` scope of its fields and
      // messages need not ask the database again in this request.
      if (room?.visibility === 'PRIVATE') context.memberOf.add(room.id);
      return room;
    },
  }),
  rooms: t.connection(
    {
      type: Room,
      description: 'Rooms the viewer is a member of (direct and group), most recent activity first.',
      authScopes: { authenticated: true },
      args: { kind: t.arg({ type: RoomKind }) },
      resolve: (_root, args, context, info) =>
        roomConnection(context, info, args, byLastActivity, {
          members: { some: { userId: viewerId(context) } },
          kind: args.kind ?? undefined,
        }),
    },
    RoomConnection,
  ),
  publicRooms: t.connection(
    {
      type: Room,
      description: 'PUBLIC rooms whose name contains search (any case), by name.',
      authScopes: { authenticated: true },
      args: { search: t.arg.string() },
      resolve: (_root, args, context, info) => {
        const search = args.search?.trim();
        return roomConnection(context, info, args, byName, {
          visibility: 'PUBLIC',
          name: search ? { contains: search, mode: 'insensitive' } : undefined,
        });
      },
    },
    RoomConnection,
  ),
}));

/** The raw ids of a mutation's roomId and userId arguments. */
const roomAndUser = (args: { roomId: string; userId: string }) => ({
  roomId: parseId('Room', args.roomId, 'roomId'),
  userId: parseId('User', args.userId, 'userId'),
});

builder.mutationFields((t) => {
  /** A use case on one room, answering with the room's global ID. */
  const answeringRoomId = (description: string, run: (app: App, viewerId: string, roomId: string) => Promise<string>) =>
    t.id({
      description,
      authScopes: { authenticated: true },
      args: { roomId: t.arg.id({ required: true }) },
      resolve: async (_root, args, context) =>
        globalId('Room', await run(context.app, viewerId(context), parseId('Room', args.roomId, 'roomId'))),
    });
  /** A use case on one user in one room, answering with the user's global ID. */
  const answeringUserId = (
    description: string,
    run: (app: App, viewerId: string, roomId: string, userId: string) => Promise<string>,
  ) =>
    t.id({
      description,
      authScopes: { authenticated: true },
      args: { roomId: t.arg.id({ required: true }), userId: t.arg.id({ required: true }) },
      resolve: async (_root, args, context) => {
        const { roomId, userId } = roomAndUser(args);
        return globalId('User', await run(context.app, viewerId(context), roomId, userId));
      },
    });

  return {
    createRoom: t.prismaField({
      type: 'Room',
      authScopes: { authenticated: true },
      args: { input: t.arg({ type: CreateRoomInput, required: true }) },
      resolve: async (query, _root, { input }, context) => {
        const memberIds = (input.memberIds ?? []).map((id) => parseId('User', id, 'memberIds'));
        const roomId = await rooms.createRoom(context.app, viewerId(context), { ...input, memberIds });
        return context.app.prisma.room.findUniqueOrThrow({ ...query, where: { id: roomId } });
      },
    }),
    openDirectRoom: t.prismaField({
      type: 'Room',
      description: 'Get or create the direct room between the viewer and userId.',
      authScopes: { authenticated: true },
      args: { userId: t.arg.id({ required: true }) },
      resolve: async (query, _root, args, context) => {
        const roomId = await rooms.openDirectRoom(context.app, viewerId(context), parseId('User', args.userId, 'userId'));
        return context.app.prisma.room.findUniqueOrThrow({ ...query, where: { id: roomId } });
      },
    }),
    updateRoom: t.prismaField({
      type: 'Room',
      authScopes: { authenticated: true },
      args: { input: t.arg({ type: UpdateRoomInput, required: true }) },
      resolve: async (query, _root, { input }, context) => {
        const roomId = parseId('Room', input.roomId, 'roomId');
        await rooms.updateRoom(context.app, viewerId(context), { ...input, roomId });
        return context.app.prisma.room.findUniqueOrThrow({ ...query, where: { id: roomId } });
      },
    }),
    deleteRoom: answeringRoomId('OWNER only. Members receive RoomDeleted.', rooms.deleteRoom),
    joinRoom: t.prismaField({
      type: 'RoomMember',
      authScopes: { authenticated: true },
      args: { roomId: t.arg.id({ required: true }) },
      resolve: async (query, _root, args, context) => {
        const { roomId, userId } = await members.joinRoom(context.app, viewerId(context), parseId('Room', args.roomId, 'roomId'));
        return context.app.prisma.roomMember.findUniqueOrThrow({ ...query, where: memberKey(roomId, userId) });
      },
    }),
    leaveRoom: answeringRoomId(
      'Leaves a group room. An OWNER hands ownership to the longest-standing ADMIN, else MEMBER; the last one out deletes the room.',
      members.leaveRoom,
    ),
    addMembers: t.prismaField({
      type: ['RoomMember'],
      description: 'OWNER or ADMIN. Returns the membership of every user given, in order; those already in stay as they are.',
      authScopes: { authenticated: true },
      args: { roomId: t.arg.id({ required: true }), userIds: t.arg.idList({ required: true }) },
      resolve: async (query, _root, args, context) => {
        const roomId = parseId('Room', args.roomId, 'roomId');
        const userIds = args.userIds.map((id) => parseId('User', id, 'userIds'));
        const requested = await members.addMembers(context.app, viewerId(context), roomId, userIds);
        const rows = await context.app.prisma.roomMember.findMany({ ...query, where: { roomId, userId: { in: requested } } });
        return requested.flatMap((userId) => rows.filter((row) => row.userId === userId));
      },
    }),
    removeMember: answeringUserId("OWNER or ADMIN, over lower roles. Returns the removed user's ID.", members.removeMember),
    setMemberRole: t.prismaField({
      type: 'RoomMember',
      description: 'OWNER only. Setting another member OWNER hands over ownership: the former owner becomes ADMIN.',
      authScopes: { authenticated: true },
      args: {
        roomId: t.arg.id({ required: true }),
        userId: t.arg.id({ required: true }),
        role: t.arg({ type: RoomRole, required: true }),
      },
      resolve: async (query, _root, args, context) => {
        const { roomId, userId } = roomAndUser(args);
        await members.setMemberRole(context.app, viewerId(context), roomId, userId, args.role);
        return context.app.prisma.roomMember.findUniqueOrThrow({ ...query, where: memberKey(roomId, userId) });
      },
    }),
    banUser: t.id({
      description: "OWNER or ADMIN. Removes the user's membership and keeps them out until unbanned; returns their ID.",
      authScopes: { authenticated: true },
      args: { roomId: t.arg.id({ required: true }), userId: t.arg.id({ required: true }), reason: t.arg.string() },
      resolve: async (_root, args, context) => {
        const { roomId, userId } = roomAndUser(args);
        return globalId('User', await bans.banUser(context.app, viewerId(context), roomId, userId, args.reason));
      },
    }),
    unbanUser: answeringUserId("OWNER or ADMIN. Returns the user's ID.", bans.unbanUser),
  };
});
