import { builder } from '../builder.js';
import type { Context } from '../context.js';
import { Room, RoomMember } from '../rooms/types.js';
import { User } from '../users/schema.js';
import { messagePage } from './history.js';
import { tallyReactions, type ReactionTally } from './reactions.js';

// Only members read a room's messages: checked on the Room fields that list them, and on the
// Message type itself, so every other path to a message (node(id), replyTo...) is covered too.
const membersOfRoom = (room: { id: string }) => ({ member: room.id });
// A room the request already found the viewer a member of (context.memberOf, which the `member`
// scope's loader trusts too) answers at once: a cached scope answers with a promise, and a page of
// 100 messages would wait on one per message.
const membersOfItsRoom = (message: { roomId: string }, context: Context) =>
  context.memberOf.has(message.roomId) || { member: message.roomId };

const Reaction = builder.objectRef<ReactionTally>('Reaction').implement({
  fields: (t) => ({
    emoji: t.exposeString('emoji'),
    count: t.exposeInt('count'),
    reactedByMe: t.exposeBoolean('reactedByMe', {
      // Differs per viewer: subscriptions selecting it don't share results between viewers.
      extensions: { viewerDependent: true },
    }),
  }),
});

export const Message = builder.prismaNode('Message', {
  id: { field: 'id' },
  // node(id) of an unknown id is null rather than an error (and so is one the viewer may not read: see builder.ts).
  nullable: true,
  authScopes: membersOfItsRoom,
  // Checked once per message (in isTypeOf), not again in each of its fields' resolvers.
  runScopesOnType: true,
  fields: (t) => ({
    room: t.relation('room'),
    seq: t.exposeInt('seq'),
    author: t.relation('author', { type: User, nullable: true, description: 'Null only for messages of deleted accounts.' }),
    body: t.exposeString('body', { nullable: true, description: 'Null once the message is deleted, and for a message sent with only a payload or attachments.' }),
    payload: t.expose('payload', {
      type: 'JSON',
      nullable: true,
      description: "Custom structured content, validated by the server's message checker.",
    }),
    replyTo: t.relation('replyTo', { nullable: true }),
    clientMessageId: t.exposeString('clientMessageId', {
      nullable: true,
      description: "The sender's idempotency key, if it sent one.",
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    authorBlockedByMe: t.boolean({
      description: 'Whether the viewer has blocked the author: clients may hide or fold such messages.',
      extensions: { viewerDependent: true },
      // From memory (users/block-cache.ts): a subscriber's every event may ask.
      resolve: async (message, _args, context) =>
        message.authorId !== null && context.viewer !== null && (await context.app.blocks.blockedBy(context.viewer.id)).has(message.authorId),
    }),
    editedAt: t.expose('editedAt', { type: 'DateTime', nullable: true }),
    deletedAt: t.expose('deletedAt', { type: 'DateTime', nullable: true }),
    mentions: t.field({
      type: [User],
      description:
        'The members the message mentioned when it was sent (by @username or picked by the sender). Stored just after the message itself: a MessageAdded event read at once may not list them yet; each Mentioned event comes after they are stored.',
      select: { mentions: { select: { user: true }, orderBy: { userId: 'asc' } } },
      resolve: (message) => message.mentions.map(({ user }) => user),
    }),
    reactions: t.field({
      type: [Reaction],
      // Loaded with the message (one query for a whole page), tallied here.
      select: { reactions: { select: { emoji: true, userId: true }, orderBy: [{ createdAt: 'asc' }, { emoji: 'asc' }] } },
      resolve: (message, _args, context) => tallyReactions(message.reactions, context.viewer?.id),
    }),
  }),
});

export const MessageConnection = builder.connectionObject({ type: Message, name: 'MessageConnection' }, { name: 'MessageEdge' });

builder.prismaObjectFields(Room, (t) => ({
  lastMessage: t.field({
    type: Message,
    nullable: true,
    authScopes: membersOfRoom,
    // Messages never leave history, so the newest is the one at lastSeq: one batched lookup for a
    // whole room list. (A nested `take: 1` would make prisma read every listed room's full history.)
    resolve: (room, _args, context) =>
      room.lastSeq === 0 ? null : context.loaders.messageAt.load({ roomId: room.id, seq: room.lastSeq }),
  }),
  messages: t.connection(
    {
      type: Message,
      description: 'Messages newest last. last/before pages backwards from the newest.',
      authScopes: membersOfRoom,
      resolve: (room, args, context, info) => messagePage(context, info, { roomId: room.id }, args),
    },
    MessageConnection,
  ),
}));

builder.prismaObjectField(RoomMember, 'mentionCount', (t) =>
  t.int({
    description: 'Messages after lastReadSeq that mention this member and are not deleted: unread mentions.',
    resolve: (member, _args, context) => context.loaders.mentionCount.load(member),
  }),
);

builder.prismaObjectField(RoomMember, 'unreadCount', (t) =>
  t.int({
    description: 'Messages after lastReadSeq that are not deleted and not written by this member.',
    resolve: (member, _args, context) => context.loaders.unreadCount.load(member),
  }),
);
