import { queryFromInfo } from '@pothos/plugin-prisma';
import { resolveCursorConnection, type DefaultConnectionArguments } from '@pothos/plugin-relay';
import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from '../context.js';
import { fail } from '../errors.js';
import type { Message } from '../generated/prisma/client.js';

/**
 * A room's history (or a thread's replies, which keep their room seqs) as a Relay connection over seq, oldest first. Pages are keyset ranges
 * (seq > after, seq < before, LIMIT n), not prisma cursors: prisma applies take after a
 * cursor in memory, which would read a room's whole history for every page.
 */

const PREFIX = 'seq:';

const encodeCursor = (seq: number) => Buffer.from(`${PREFIX}${seq}`).toString('base64url');

function decodeCursor(cursor: string, argument: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const seq = Number(text.slice(PREFIX.length));
  if (!text.startsWith(PREFIX) || !Number.isSafeInteger(seq) || seq < 0) {
    throw fail.badInput(`"${argument}" is not a cursor of this history: pass an edge's cursor back unchanged.`, argument);
  }
  return seq;
}

/** The messages of `scope` (a room, or a thread), paged by args. */
export function messagePage(
  context: Context,
  info: GraphQLResolveInfo,
  scope: { roomId: string } | { threadRootId: string },
  args: DefaultConnectionArguments,
) {
  return resolveCursorConnection<Promise<Message[]>>(
    { args, defaultSize: 50, maxSize: 100, toCursor: (message) => encodeCursor(message.seq) },
    ({ before, after, limit, inverted }) =>
      context.app.prisma.message.findMany({
        ...queryFromInfo({ context, info, typeName: 'Message', paths: [['nodes'], ['edges', 'node']] }),
        where: {
          ...scope,
          seq: {
            ...(after ? { gt: decodeCursor(after, 'after') } : {}),
            ...(before ? { lt: decodeCursor(before, 'before') } : {}),
          },
        },
        // Paging backwards reads newest first; resolveCursorConnection turns the page around.
        orderBy: { seq: inverted ? 'desc' : 'asc' },
        take: limit,
      }),
  );
}
