import { builder } from '../builder.js';
import type { Context } from '../context.js';
import { globalId, parseId } from '../ids.js';
import { storedMessageOf } from '../messages/events.js';
import type { MessageQuery } from '../messages/schema.js';
import { Thread } from '../messages/threads.js';
import { Presence } from '../users/schema.js';
import { messageAddedStream, myEventStream, presenceStream, roomEventStream } from './streams.js';
import type { PresencePayload, RoomEventPayload } from './topics.js';

/** The GraphQL shape of the pub/sub events: each resolves what a client selects from the ids it carries. */

type EventOf<Type extends RoomEventPayload['type']> = Extract<RoomEventPayload, { type: Type }>;

/**
 * The added message as the selection asks for it. The event carries the row and its author, which
 * answer the usual selections (plain fields and the author) without a query; a selection of other
 * relations (reactions, replyTo, room...) reads the message from the database.
 */
function addedMessage(query: MessageQuery, event: EventOf<'MessageAdded'>, context: Context) {
  const carried =
    !query.select && Object.entries(query.include ?? {}).every(([relation, nested]) => relation === 'author' && nested === true);
  return carried
    ? storedMessageOf(event)
    : context.app.prisma.message.findUniqueOrThrow({ ...query, where: { id: event.message.id } });
}

const MessageAdded = builder.objectRef<EventOf<'MessageAdded'>>('MessageAdded').implement({
  fields: (t) => ({
    message: t.prismaField({
      type: 'Message',
      resolve: (query, event, _args, context) => addedMessage(query, event, context),
    }),
  }),
});

const MessageUpdated = builder.objectRef<EventOf<'MessageUpdated'>>('MessageUpdated').implement({
  fields: (t) => ({
    message: t.prismaField({
      type: 'Message',
      description: 'Edited, deleted or re-reacted message, in its new state.',
      resolve: (query, event, _args, context) =>
        context.app.prisma.message.findUniqueOrThrow({ ...query, where: { id: event.messageId } }),
    }),
  }),
});

const ThreadUpdated = builder.objectRef<EventOf<'ThreadUpdated'>>('ThreadUpdated').implement({
  description:
    "A reply was added to a thread (right after the reply's MessageAdded) or deleted (right after its MessageUpdated): refresh the root's thread summary. Live only: a stream that resumes after a gap reads Message.thread again.",
  fields: (t) => ({
    rootId: t.id({ description: 'The id of the thread\'s root message.', resolve: (event) => globalId('Message', event.rootId) }),
    thread: t.field({
      type: Thread,
      description: 'The thread as it is now.',
      // The thread has at least this event's reply, unless the room went away meanwhile.
      nullable: true,
      resolve: (event, _args, context) => context.loaders.thread.load(event.rootId),
    }),
    reply: t.prismaField({
      type: 'Message',
      description: 'The reply that was added or deleted.',
      resolve: (query, event, _args, context) =>
        context.app.prisma.message.findUniqueOrThrow({ ...query, where: { id: event.replyId } }),
    }),
  }),
});

const MemberJoined = builder.objectRef<EventOf<'MemberJoined'>>('MemberJoined').implement({
  fields: (t) => ({
    member: t.prismaField({
      type: 'RoomMember',
      resolve: (query, event, _args, context) =>
        context.app.prisma.roomMember.findUniqueOrThrow({
          ...query,
          where: { roomId_userId: { roomId: event.roomId, userId: event.userId } },
        }),
    }),
  }),
});

const MemberLeft = builder.objectRef<EventOf<'MemberLeft'>>('MemberLeft').implement({
  fields: (t) => ({
    user: t.prismaField({
      type: 'User',
      resolve: (query, event, _args, context) =>
        context.app.prisma.user.findUniqueOrThrow({ ...query, where: { id: event.userId } }),
    }),
    reason: t.exposeString('reason', { description: 'LEFT, REMOVED or BANNED.' }),
  }),
});

const RoomUpdated = builder.objectRef<EventOf<'RoomUpdated'>>('RoomUpdated').implement({
  fields: (t) => ({
    room: t.prismaField({
      type: 'Room',
      resolve: (query, event, _args, context) =>
        context.app.prisma.room.findUniqueOrThrow({ ...query, where: { id: event.roomId } }),
    }),
  }),
});

const RoomDeleted = builder.objectRef<EventOf<'RoomDeleted'>>('RoomDeleted').implement({
  fields: (t) => ({
    roomId: t.id({ resolve: (event) => globalId('Room', event.roomId) }),
  }),
});

const ReadReceipt = builder.objectRef<EventOf<'ReadReceipt'>>('ReadReceipt').implement({
  fields: (t) => ({
    user: t.prismaField({
      type: 'User',
      resolve: (query, event, _args, context) =>
        context.app.prisma.user.findUniqueOrThrow({ ...query, where: { id: event.userId } }),
    }),
    lastReadSeq: t.exposeInt('lastReadSeq'),
  }),
});

const TypingChanged = builder.objectRef<EventOf<'TypingChanged'>>('TypingChanged').implement({
  fields: (t) => ({
    user: t.prismaField({
      type: 'User',
      resolve: (query, event, _args, context) =>
        context.app.prisma.user.findUniqueOrThrow({ ...query, where: { id: event.userId } }),
    }),
    typing: t.exposeBoolean('typing'),
  }),
});

const Mentioned = builder.objectRef<EventOf<'Mentioned'>>('Mentioned').implement({
  description: 'The viewer was mentioned in a message (myEvents only).',
  fields: (t) => ({
    message: t.prismaField({
      type: 'Message',
      resolve: (query, event, _args, context) =>
        context.app.prisma.message.findUniqueOrThrow({ ...query, where: { id: event.messageId } }),
    }),
  }),
});

const UserUpdated = builder.objectRef<EventOf<'UserUpdated'>>('UserUpdated').implement({
  description: "A member's username or display name changed.",
  fields: (t) => ({
    user: t.prismaField({
      type: 'User',
      description: 'The user as they are now.',
      resolve: (query, event, _args, context) =>
        context.app.prisma.user.findUniqueOrThrow({ ...query, where: { id: event.userId } }),
    }),
  }),
});

const RoomEvent = builder.unionType('RoomEvent', {
  types: [MessageAdded, MessageUpdated, ThreadUpdated, MemberJoined, MemberLeft, RoomUpdated, RoomDeleted, ReadReceipt, TypingChanged, UserUpdated, Mentioned],
  resolveType: (event) => event.type,
});

const PresenceChanged = builder.objectRef<PresencePayload>('PresenceChanged').implement({
  fields: (t) => ({
    user: t.prismaField({
      type: 'User',
      resolve: (query, event, _args, context) => {
        // The stream delivers only users who share a room with the viewer: their presence needs no check.
        context.loaders.sharesRoom.prime(event.userId, true);
        return context.app.prisma.user.findUniqueOrThrow({ ...query, where: { id: event.userId } });
      },
    }),
    presence: t.field({
      type: Presence,
      resolve: (event) => ({ status: event.status, lastSeenAt: event.lastSeenAt }),
    }),
  }),
});

builder.subscriptionType({
  fields: (t) => ({
    messageAdded: t.prismaField({
      type: 'Message',
      description:
        'New messages in a room, in seq order. With afterSeq, first replays every message with seq > afterSeq from history, then continues live, with no gap and no duplicate at the seam. Members only; a member who is removed or banned stops receiving.',
      authScopes: { authenticated: true },
      args: { roomId: t.arg.id({ required: true }), afterSeq: t.arg.int() },
      subscribe: (_root, args, context) => messageAddedStream(context, parseId('Room', args.roomId, 'roomId'), args.afterSeq),
      resolve: (query, event, _args, context) => addedMessage(query, event, context),
    }),
    roomEvents: t.field({
      type: RoomEvent,
      description: 'Everything that happens in a room, messages included. Members only.',
      authScopes: { authenticated: true },
      args: { roomId: t.arg.id({ required: true }) },
      subscribe: (_root, args, context) => roomEventStream(context, parseId('Room', args.roomId, 'roomId')),
      resolve: (event) => event,
    }),
    presenceChanged: t.field({
      type: PresenceChanged,
      description:
        'Presence of the members of a room (or, without roomId, of everyone the viewer shares a room with).',
      authScopes: { authenticated: true },
      args: { roomId: t.arg.id() },
      subscribe: (_root, args, context) =>
        presenceStream(context, args.roomId ? parseId('Room', args.roomId, 'roomId') : null),
      resolve: (event) => event,
    }),
    myEvents: t.field({
      type: RoomEvent,
      description: "The viewer's own stream: new messages in any of its rooms, rooms it was added to or removed from, renamed members of those rooms (UserUpdated, once per change), and mentions of the viewer.",
      authScopes: { authenticated: true },
      subscribe: (_root, _args, context) => myEventStream(context),
      resolve: (event) => event,
    }),
  }),
});
