import DataLoader from 'dataloader';
import type { App } from './app.js';
import type { RoomMember } from './generated/prisma/client.js';
import { fail } from './errors.js';
import { createMessageLoaders, type MessageLoaders } from './messages/loaders.js';
import type { Viewer } from './users/tokens.js';

/** Per-request (HTTP) or per-operation (WebSocket) context. */
export interface Context {
  app: App;
  viewer: Viewer | null;
  loaders: Loaders;
}

export interface Loaders extends MessageLoaders {
  /** The viewer's membership of a room (null when not a member), batched per request. */
  membership: DataLoader<string, RoomMember | null>;
  /** Whether a user has an open connection, batched per request. */
  online: DataLoader<string, boolean>;
}

export function createContext(app: App, viewer: Viewer | null): Context {
  return { app, viewer, loaders: createLoaders(app, viewer) };
}

/**
 * The same viewer with empty loaders. A subscription's context lives as long as the subscription;
 * each event is executed with fresh loaders so it never answers from an earlier event's cache.
 */
export function withFreshLoaders<C extends Context>(context: C): C {
  return { ...context, loaders: createLoaders(context.app, context.viewer) };
}

function createLoaders(app: App, viewer: Viewer | null): Loaders {
  return {
    membership: new DataLoader(async (roomIds) => {
      if (!viewer) return roomIds.map(() => null);
      const rows = await app.prisma.roomMember.findMany({
        where: { userId: viewer.id, roomId: { in: [...roomIds] } },
      });
      const byRoom = new Map(rows.map((row) => [row.roomId, row]));
      return roomIds.map((id) => byRoom.get(id) ?? null);
    }),
    online: new DataLoader(async (userIds) => {
      const online = await app.presence.online(userIds);
      return userIds.map((id) => online.has(id));
    }),
    ...createMessageLoaders(app.prisma),
  };
}

/** The signed-in user's id; UNAUTHENTICATED when anonymous. */
export function viewerId(context: Context): string {
  if (!context.viewer) throw fail.unauthenticated();
  return context.viewer.id;
}
