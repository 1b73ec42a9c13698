import { builder } from '../builder.js';
import { knownMembership, viewerId, type Context } from '../context.js';
import type { Prisma } from '../generated/prisma/client.js';
import { MAX_ATTACHMENTS } from '../files/service.js';
import { parseId } from '../ids.js';
import { MAX_MENTIONS } from './mentions.js';
import { MAX_QUERY_LENGTH, searchPage, type SearchHit, type SnippetPart } from './search.js';
import * as messages from './service.js';
import './threads.js';
import { Message } from './types.js';

const SendMessageInput = builder.inputType('SendMessageInput', {
  fields: (t) => ({
    roomId: t.id({ required: true }),
    body: t.string(),
    payload: t.field({ type: 'JSON' }),
    replyToId: t.id(),
    clientMessageId: t.string({
      description: 'Retrying a send with the same clientMessageId returns the original message instead of a duplicate.',
    }),
    mentions: t.idList({
      description: `Users to mention besides the @usernames in the body (at most ${MAX_MENTIONS}); only members of the room other than the sender, who have not blocked the sender, are mentioned; others are ignored.`,
    }),
    attachmentIds: t.idList({
      description: `Files the sender uploaded to the room with uploadAttachment and has not attached yet (at most ${MAX_ATTACHMENTS}).`,
    }),
  }),
});

/** The include/select the prisma plugin plans for a Message field. */
export type MessageQuery = { include?: Prisma.MessageInclude; select?: Prisma.MessageSelect };

/** The message as the mutation's selection asks for it, read after the write. */
const reread = (context: Context, query: MessageQuery, id: string) =>
  context.app.prisma.message.findUniqueOrThrow({ ...query, where: { id } });

/** Runs a use case on the message messageId names, as the viewer; answers with the message. */
async function onMessage(
  context: Context,
  query: MessageQuery,
  messageId: string,
  useCase: (userId: string, messageId: string) => Promise<{ id: string }>,
) {
  // The use case's message: the embedding server's before-hook may have named another.
  const { id } = await useCase(viewerId(context), parseId('Message', messageId, 'messageId'));
  return reread(context, query, id);
}

builder.mutationFields((t) => ({
  // A plain field, not a prismaField: the stored row answers the usual selection of plain fields
  // (`{ id seq }`) without the plugin mapping the selection to a query at every send; a relation the
  // selection asks for (author, reactions...) is loaded by the plugin's batched fallback, as for any
  // Message it did not plan.
  sendMessage: t.field({
    type: Message,
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: SendMessageInput, required: true }) },
    resolve: async (_root, { input }, context) => {
      const { message, member } = await messages.sendMessage(context.app, viewerId(context), {
        ...input,
        roomId: parseId('Room', input.roomId, 'roomId'),
        replyToId: input.replyToId == null ? null : parseId('Message', input.replyToId, 'replyToId'),
        mentions: input.mentions?.map((id) => parseId('User', id, 'mentions')),
        attachmentIds: input.attachmentIds?.map((id) => parseId('Attachment', id, 'attachmentIds')),
      });
      knownMembership(context, member);
      return message;
    },
  }),
  editMessage: t.prismaField({
    type: 'Message',
    authScopes: { authenticated: true },
    args: { messageId: t.arg.id({ required: true }), body: t.arg.string({ required: true }) },
    resolve: (query, _root, args, context) =>
      onMessage(context, query, args.messageId, (userId, id) => messages.editMessage(context.app, userId, id, args.body)),
  }),
  deleteMessage: t.prismaField({
    type: 'Message',
    authScopes: { authenticated: true },
    args: { messageId: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) =>
      onMessage(context, query, args.messageId, (userId, id) => messages.deleteMessage(context.app, userId, id)),
  }),
  addReaction: t.prismaField({
    type: 'Message',
    authScopes: { authenticated: true },
    args: { messageId: t.arg.id({ required: true }), emoji: t.arg.string({ required: true }) },
    resolve: (query, _root, args, context) =>
      onMessage(context, query, args.messageId, (userId, id) => messages.addReaction(context.app, userId, id, args.emoji)),
  }),
  removeReaction: t.prismaField({
    type: 'Message',
    authScopes: { authenticated: true },
    args: { messageId: t.arg.id({ required: true }), emoji: t.arg.string({ required: true }) },
    resolve: (query, _root, args, context) =>
      onMessage(context, query, args.messageId, (userId, id) => messages.removeReaction(context.app, userId, id, args.emoji)),
  }),
  markRead: t.prismaField({
    type: 'RoomMember',
    description: 'Marks every message up to seq as read; never moves the read marker backwards.',
    authScopes: { authenticated: true },
    args: { roomId: t.arg.id({ required: true }), seq: t.arg.int({ required: true }) },
    resolve: async (query, _root, args, context) => {
      const userId = viewerId(context);
      const roomId = parseId('Room', args.roomId, 'roomId');
      await messages.markRead(context.app, userId, roomId, args.seq);
      return context.app.prisma.roomMember.findUniqueOrThrow({ ...query, where: { roomId_userId: { roomId, userId } } });
    },
  }),
}));

const SnippetPartRef = builder.objectRef<SnippetPart>('SnippetPart').implement({
  description: 'A piece of a search snippet, in order: the words that matched the query are highlighted.',
  fields: (t) => ({
    text: t.exposeString('text'),
    highlighted: t.exposeBoolean('highlighted'),
  }),
});

const MessageSearchHit = builder.objectRef<SearchHit>('MessageSearchHit').implement({
  description: 'A message that matches a search, with the part of its body that matched.',
  fields: (t) => ({
    message: t.field({ type: Message, resolve: (hit) => hit.message }),
    snippet: t.field({
      type: [SnippetPartRef],
      description: 'An excerpt of the body around the matches, as plain-text parts: render highlighted ones marked.',
      resolve: (hit) => hit.snippet,
    }),
  }),
});

builder.queryFields((t) => ({
  searchMessages: t.connection(
    {
      type: MessageSearchHit,
      description:
        `Full-text search of the messages in the viewer's rooms (or in roomId only), best match first, then newest. ` +
        `Words must all match, in any form of case; "a phrase" matches those words in that order, word* matches words ` +
        `starting with word, -word excludes, "or" between words matches either. Deleted messages never match. ` +
        `At most ${MAX_QUERY_LENGTH} characters.`,
      authScopes: { authenticated: true },
      args: { query: t.arg.string({ required: true }), roomId: t.arg.id() },
      resolve: (_root, args, context, info) =>
        searchPage(context, info, { ...args, roomId: args.roomId == null ? null : parseId('Room', args.roomId, 'roomId') }),
    },
    { name: 'MessageSearchConnection' },
    { name: 'MessageSearchEdge' },
  ),
}));
