import DataLoader from 'dataloader';
import type { App } from './app.js';
import type { RoomMember } from './generated/prisma/client.js';
import { fail } from './errors.js';
import type { Logger } from './logger.js';
import { createMessageLoaders, type MessageLoaders } from './messages/loaders.js';
import type { Viewer } from './users/tokens.js';

/** Per-request (HTTP) or per-operation (WebSocket) context. */
export interface Context {
  app: App;
  viewer: Viewer | null;
  /** The client's network address (see server/caller.ts): the key of per-address limits. */
  clientAddress: string;
  /** The client's User-Agent header (of the upgrade request on a WebSocket), kept with the sessions it starts. */
  userAgent: string | null;
  /** The request's (HTTP) or socket's (WebSocket) logger: its lines carry the request id. */
  log: Logger;
  loaders: Loaders;
  /** Rooms the viewer was found to be a member of; for a subscription, kept while it lives (see withFreshLoaders). */
  memberOf: Set<string>;
}

export interface Loaders extends MessageLoaders {
  /** The viewer's membership of a room (null when not a member), batched per request. */
  membership: DataLoader<string, RoomMember | null>;
  /** Whether the viewer is a member of a room: the `member` auth scope. */
  isMember: DataLoader<string, boolean>;
  /** Whether a user has an open connection, batched per request. */
  online: DataLoader<string, boolean>;
  /** Whether the viewer is this user or shares a room with them (who may see their presence), batched per request. */
  sharesRoom: DataLoader<string, boolean>;
}

export function createContext(app: App, viewer: Viewer | null, clientAddress: string, log: Logger, userAgent: string | null = null): Context {
  const memberOf = new Set<string>();
  return { app, viewer, clientAddress, userAgent, log, memberOf, loaders: new LazyLoaders(app, viewer, memberOf) };
}

/** Tells the loaders a membership the caller already holds, sparing the query. */
export function knownMembership(context: Context, member: RoomMember): void {
  context.loaders.membership.prime(member.roomId, member);
  context.memberOf.add(member.roomId);
}

/**
 * The same viewer with empty loaders, for one event of a subscription: its context lives as long as
 * the subscription, and an event must not answer from an earlier event's cache. Only memberships
 * found are kept: a stream delivers a room's events only while the viewer is a member (it ends or
 * stops following the room the moment they are removed), so the `member` scope need not ask the
 * database again for every event.
 */
export function withFreshLoaders<C extends Context>(context: C): C {
  return { ...context, loaders: new LazyLoaders(context.app, context.viewer, context.memberOf) };
}

/**
 * Each loader is made on first use: a subscription's context lives as long as its socket, and most
 * never load anything themselves (each event gets fresh loaders), so idle ones cost no DataLoader.
 * A class, so that its getters live once on the prototype rather than as closures in every context.
 */
class LazyLoaders implements Loaders {
  #membership?: Loaders['membership'];
  #isMember?: Loaders['isMember'];
  #online?: Loaders['online'];
  #sharesRoom?: Loaders['sharesRoom'];
  #messages?: MessageLoaders;

  constructor(
    private readonly app: App,
    private readonly viewer: Viewer | null,
    private readonly memberOf: Set<string>,
  ) {}

  get membership() {
    const { app, viewer, memberOf } = this;
    return (this.#membership ??= new DataLoader<string, RoomMember | null>(async (roomIds) => {
      if (!viewer) return roomIds.map(() => null);
      const rows = await app.prisma.roomMember.findMany({
        where: { userId: viewer.id, roomId: { in: [...roomIds] } },
      });
      for (const row of rows) memberOf.add(row.roomId);
      const byRoom = new Map(rows.map((row) => [row.roomId, row]));
      return roomIds.map((id) => byRoom.get(id) ?? null);
    }));
  }

  get isMember() {
    const { memberOf } = this;
    return (this.#isMember ??= new DataLoader(async (roomIds) => {
      const unknown = roomIds.filter((id) => !memberOf.has(id));
      if (unknown.length > 0) await this.membership.loadMany(unknown);
      return roomIds.map((id) => memberOf.has(id));
    }));
  }

  get online() {
    const { app } = this;
    return (this.#online ??= new DataLoader(async (userIds) => {
      const found = await app.presence.online(userIds);
      return userIds.map((id) => found.has(id));
    }));
  }

  get sharesRoom() {
    const { app, viewer } = this;
    return (this.#sharesRoom ??= new DataLoader(async (userIds) => {
      if (!viewer) return userIds.map(() => false);
      const others = userIds.filter((id) => id !== viewer.id);
      const rows = others.length === 0 ? [] : await app.prisma.roomMember.findMany({
        where: { userId: { in: others }, room: { members: { some: { userId: viewer.id } } } },
        select: { userId: true },
        distinct: ['userId'],
      });
      const sharing = new Set([viewer.id, ...rows.map((row) => row.userId)]);
      return userIds.map((id) => sharing.has(id));
    }));
  }

  get unreadCount() {
    return this.messages().unreadCount;
  }

  get mentionCount() {
    return this.messages().mentionCount;
  }

  get messageAt() {
    return this.messages().messageAt;
  }

  get thread() {
    return this.messages().thread;
  }

  get attachments() {
    return this.messages().attachments;
  }

  private messages(): MessageLoaders {
    return (this.#messages ??= createMessageLoaders(this.app.prisma));
  }
}

/** The signed-in user (with the session of their token); UNAUTHENTICATED when anonymous. */
export function signedInViewer(context: Context): Viewer {
  if (!context.viewer) throw fail.unauthenticated();
  return context.viewer;
}

/** The signed-in user's id; UNAUTHENTICATED when anonymous. */
export const viewerId = (context: Context): string => signedInViewer(context).id;
