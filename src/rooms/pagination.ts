import { queryFromInfo } from '@pothos/plugin-prisma';
import { resolveCursorConnection, type DefaultConnectionArguments } from '@pothos/plugin-relay';
import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from '../context.js';
import { fail } from '../errors.js';
import { unstorable } from '../input-text.js';
import type { Prisma, Room } from '../generated/prisma/client.js';

/**
 * Room lists as Relay connections with keyset cursors. A cursor holds the row's position
 * (order key and id), not a reference to the row, so it stays valid when that room gets a new
 * message or is deleted: the next page starts where the last one ended.
 */

/** A room list's order: one column, then id in the same direction, so no two rows tie. */
export interface RoomOrder {
  key: 'lastActivityAt' | 'name';
  descending: boolean;
}

export const byLastActivity: RoomOrder = { key: 'lastActivityAt', descending: true };
export const byName: RoomOrder = { key: 'name', descending: false };

type Position = [key: string, id: string];

const positionOf = (room: Room, order: RoomOrder): Position => [
  order.key === 'name' ? (room.name ?? '') : room.lastActivityAt.toISOString(),
  room.id,
];

const encodeCursor = (position: Position) => Buffer.from(JSON.stringify(position)).toString('base64url');

function decodeCursor(cursor: string, argument: string): Position {
  try {
    const position: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(position) &&
      position.length === 2 &&
      position.every((part) => typeof part === 'string' && unstorable(part) === null)
    ) {
      return position as Position;
    }
  } catch {
    // Not JSON: reported below like any other foreign cursor.
  }
  throw fail.badInput(`"${argument}" is not a cursor from this list: pass an edge's cursor back unchanged.`, argument);
}

/** Rooms strictly beyond position, in ascending or descending (key, id) order. */
function beyond(order: RoomOrder, [key, id]: Position, ascending: boolean): Prisma.RoomWhereInput {
  const past = ascending ? { gt: key } : { lt: key };
  const pastId = ascending ? { gt: id } : { lt: id };
  return order.key === 'name'
    ? { OR: [{ name: past }, { name: key, id: pastId }] }
    : { OR: [{ lastActivityAt: past }, { lastActivityAt: key, id: pastId }] };
}

/** One page of the rooms matching where, with the selection the query asks of each room planned in. */
export function roomConnection(
  context: Context,
  info: GraphQLResolveInfo,
  args: DefaultConnectionArguments,
  order: RoomOrder,
  where: Prisma.RoomWhereInput,
) {
  return resolveCursorConnection<Promise<Room[]>>(
    { args, defaultSize: 20, maxSize: 100, toCursor: (room) => encodeCursor(positionOf(room, order)) },
    ({ before, after, limit, inverted }) => {
      const ascending = !order.descending;
      const bounds = [
        ...(after ? [beyond(order, decodeCursor(after, 'after'), ascending)] : []),
        ...(before ? [beyond(order, decodeCursor(before, 'before'), !ascending)] : []),
      ];
      // Paging backwards reads in reverse and resolveCursorConnection turns the page around.
      const direction = ascending !== inverted ? 'asc' : 'desc';
      const query = queryFromInfo({
        context,
        info,
        typeName: 'Room',
        paths: [['nodes'], ['edges', 'node']],
      });
      return context.app.prisma.room.findMany({
        ...query,
        where: { AND: [where, ...bounds] },
        orderBy: [{ [order.key]: direction }, { id: direction }],
        take: limit,
      });
    },
  );
}
