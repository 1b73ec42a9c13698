import { builder } from '../builder.js';
import { User } from '../users/schema.js';
import { messagePage } from './history.js';
import { MAX_THREAD_PARTICIPANTS, type ThreadSummary } from './loaders.js';
import { Message, MessageConnection } from './types.js';

/**
 * Threads: a reply (replyToId) joins the thread of the first message of its reply chain, the root,
 * so a reply to a reply is in the root's thread (the send statement stores Message.threadRootId).
 * Replies stay in the room's history at their seq like any message; a thread is a view of them.
 */

export const Thread = builder.objectRef<ThreadSummary>('Thread').implement({
  description: "The replies to a root message, directly or to one of its replies. Readable by the room's members.",
  // Reached through a message, already checked; checked again so no other path can skip it.
  authScopes: (thread) => ({ member: thread.roomId }),
  fields: (t) => ({
    root: t.prismaField({
      type: 'Message',
      description: 'The message that started the thread.',
      resolve: (query, thread, _args, context) =>
        context.app.prisma.message.findUniqueOrThrow({ ...query, where: { id: thread.rootId } }),
    }),
    replies: t.connection(
      {
        type: Message,
        description: 'The replies in seq order (their seqs in the room). last/before pages backwards from the newest.',
        resolve: (thread, args, context, info) => messagePage(context, info, { threadRootId: thread.rootId }, args),
      },
      MessageConnection,
    ),
    replyCount: t.exposeInt('replyCount', {
      description: 'Every reply, deleted ones included: they stay in the thread as tombstones, as in the room history.',
    }),
    lastReplyAt: t.expose('lastReplyAt', { type: 'DateTime', description: 'When the newest reply was sent.' }),
    participants: t.field({
      type: [User],
      description: `Authors of replies that are not deleted, in the order they first replied; at most ${MAX_THREAD_PARTICIPANTS}.`,
      resolve: (thread) => thread.participants,
    }),
  }),
});

builder.prismaObjectField(Message, 'thread', (t) =>
  t.field({
    type: Thread,
    nullable: true,
    description:
      'The thread this message is in: the one it starts, or for a reply the one of its root. Null for a message that is not a reply and has no replies.',
    select: { id: true, threadRootId: true },
    // One batched statement (two with participants) for a whole page of messages.
    resolve: (message, _args, context) => context.loaders.thread.load(message.threadRootId ?? message.id),
  }),
);
