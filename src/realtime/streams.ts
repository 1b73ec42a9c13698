import { viewerId, type Context } from '../context.js';
import { fail } from '../errors.js';
import { memberRoom } from '../rooms/access.js';
import { TopicListener } from './listener.js';
import { fillGap } from './gap-fill.js';
import { messageAddedPayload, storedMessageSelect } from '../messages/events.js';
import { topics, type MessageAddedPayload, type PresencePayload, type RoomEventPayload, type Topic } from './topics.js';

/**
 * The source streams of the Subscription fields. Each listens to per-room / per-user topics only,
 * checks membership at subscribe time, and ends the moment the viewer loses access: removed or banned
 * → FORBIDDEN, room deleted → complete (after delivering RoomDeleted where the stream carries it).
 * They yield the bus payload objects themselves, so one event shared by many subscribers stays one
 * object (server/shared-execution.ts executes the selection once per event and document).
 */

const REPLAY_PAGE = 100;

/** Pushed into a room stream when the bus reconnected: publishes may have been lost meanwhile. */
interface Resync {
  type: 'Resync';
}
type RoomStreamEvent = RoomEventPayload | Resync;

/** Messages of a room in seq order: replay after afterSeq, then live, with gaps filled from the database. */
export function messageAddedStream(
  context: Context,
  roomId: string,
  afterSeq: number | null | undefined,
): AsyncIterableIterator<MessageAddedPayload> {
  const listener = newListener<RoomStreamEvent>(context);
  // With messagesOnly, every event the stream yields is a MessageAdded.
  const messages = roomStream(context, listener, roomId, afterSeq ?? null, true) as AsyncGenerator<MessageAddedPayload>;
  return cancellable(messages, listener);
}

/** Everything that happens in a room; MessageAdded events in seq order without gaps or duplicates. */
export function roomEventStream(context: Context, roomId: string): AsyncIterableIterator<RoomEventPayload> {
  const listener = newListener<RoomStreamEvent>(context);
  return cancellable(roomStream(context, listener, roomId, null, false), listener);
}

/** A room's events (only its MessageAdded with messagesOnly, though all of them can end the stream). */
async function* roomStream(
  context: Context,
  listener: TopicListener<RoomStreamEvent>,
  roomId: string,
  afterSeq: number | null,
  messagesOnly: boolean,
): AsyncGenerator<RoomEventPayload> {
  const { app } = context;
  const userId = viewerId(context);
  if (afterSeq !== null && afterSeq < 0) throw fail.badInput('afterSeq must be 0 or more.', 'afterSeq');
  const stopResync = app.bus.onReconnect(() => listener.events.push({ type: 'Resync' }));
  try {
    // Where to start, then listen, then replay from the database whatever was committed since:
    // nothing committed between the read and the subscription is missed.
    const { room } = await memberRoom(app.prisma, roomId, userId);
    // A client claiming more than exists gets what comes next, not a silent hole.
    let lastSeq = Math.min(afterSeq ?? room.lastSeq, room.lastSeq);
    await listener.add(topics.room(roomId));
    lastSeq = yield* replayAfter(context, roomId, lastSeq);
    for await (const event of listener.events) {
      if (event.type === 'Resync') {
        lastSeq = yield* replayAfter(context, roomId, lastSeq);
        continue;
      }
      if (event.type === 'MessageAdded') {
        if (event.seq <= lastSeq) continue; // already sent (replayed, or delivered twice)
        // A publish was lost or overtaken: fill from the database first.
        if (event.seq > lastSeq + 1) yield* await fillGap(app.prisma, roomId, lastSeq, event.seq);
        lastSeq = event.seq;
      }
      if (!messagesOnly || event.type === 'MessageAdded') yield event;
      endIfAccessLost(event, roomId, userId);
      if (event.type === 'RoomDeleted') return;
    }
  } finally {
    stopResync();
    listener.close();
  }
}

function endIfAccessLost(event: RoomEventPayload, roomId: string, userId: string): void {
  if (event.type === 'MemberLeft' && event.userId === userId && event.roomId === roomId) {
    throw fail.forbidden(
      event.reason === 'LEFT' ? 'You left this room.' : `You were ${event.reason === 'BANNED' ? 'banned' : 'removed'} from this room.`,
    );
  }
}

/** Replays the stored messages with seq > afterSeq as MessageAdded events, in order; returns the last seq. */
async function* replayAfter(context: Context, roomId: string, afterSeq: number): AsyncGenerator<MessageAddedPayload, number> {
  let from = afterSeq;
  for (;;) {
    const page = await context.app.prisma.message.findMany({
      where: { roomId, seq: { gt: from } },
      orderBy: { seq: 'asc' },
      take: REPLAY_PAGE,
      select: storedMessageSelect,
    });
    for (const message of page) yield messageAddedPayload(message);
    if (page.length > 0) from = page[page.length - 1]!.seq;
    if (page.length < REPLAY_PAGE) return from;
  }
}

/** Room events that belong in a user's own stream. */
const personalRoomEvents = new Set<RoomEventPayload['type']>(['MessageAdded', 'RoomUpdated']);

/**
 * The viewer's own stream: what happens to them (added, removed, banned: their user topic) and new
 * messages, updates and deletions of every room they are in (those rooms' topics, followed as they come and go).
 */
export function myEventStream(context: Context): AsyncIterableIterator<RoomEventPayload> {
  const listener = newListener<RoomEventPayload>(context);
  return cancellable(myEvents(context, listener), listener);
}

async function* myEvents(context: Context, listener: TopicListener<RoomEventPayload>): AsyncGenerator<RoomEventPayload> {
  const { app } = context;
  const userId = viewerId(context);
  const userTopic = topics.user(userId);
  try {
    await listener.add(userTopic);
    const memberships = await app.prisma.roomMember.findMany({ where: { userId }, select: { roomId: true } });
    await Promise.all(memberships.map(({ roomId }) => listener.add(topics.room(roomId))));
    for await (const event of listener.events) {
      const aboutMe = 'userId' in event && event.userId === userId;
      const roomTopic = topics.room(event.roomId);
      // Membership events about the viewer come on both the user and the room topic: the first copy
      // changes what we follow, a second finds nothing to change and is skipped.
      if (event.type === 'MemberJoined' && aboutMe) {
        if (listener.has(roomTopic)) continue;
        await listener.add(roomTopic);
      } else if ((event.type === 'MemberLeft' && aboutMe) || event.type === 'RoomDeleted') {
        if (!listener.has(roomTopic)) continue;
        listener.remove(roomTopic);
      } else if (!personalRoomEvents.has(event.type)) {
        continue;
      }
      yield event;
    }
  } finally {
    listener.close();
  }
}

type PresenceStreamEvent = RoomEventPayload | PresencePayload;
const isPresence = (event: PresenceStreamEvent): event is PresencePayload => 'status' in event;

/**
 * Presence of a room's members, or (roomId null) of everyone the viewer shares a room with,
 * following membership changes as they happen.
 */
export function presenceStream(context: Context, roomId: string | null): AsyncIterableIterator<PresencePayload> {
  const listener = newListener<PresenceStreamEvent>(context);
  return cancellable(presenceEvents(context, listener, roomId), listener);
}

async function* presenceEvents(
  context: Context,
  listener: TopicListener<PresenceStreamEvent>,
  roomId: string | null,
): AsyncGenerator<PresencePayload> {
  const { app } = context;
  const userId = viewerId(context);
  if (roomId) await memberRoom(app.prisma, roomId, userId);
  let watchedUsers = new Set<string>();
  let watchedRooms = new Set<string>();
  // (Re)computes whose presence to follow, and the rooms whose membership changes can change that.
  const follow = async () => {
    const members = await app.prisma.roomMember.findMany({
      where: roomId ? { roomId } : { room: { members: { some: { userId } } } },
      select: { userId: true, roomId: true },
    });
    const users = new Set(members.map((member) => member.userId).filter((id) => id !== userId));
    const rooms = new Set(members.map((member) => member.roomId));
    await Promise.all([
      retarget(listener, watchedUsers, users, (id) => topics.presence(id)),
      retarget(listener, watchedRooms, rooms, (id) => topics.room(id)),
    ]);
    watchedUsers = users;
    watchedRooms = rooms;
  };
  try {
    await listener.add(topics.user(userId) as Topic<PresenceStreamEvent>);
    if (roomId) await listener.add(topics.room(roomId) as Topic<PresenceStreamEvent>);
    await follow();
    for await (const event of listener.events) {
      if (isPresence(event)) {
        if (watchedUsers.has(event.userId)) yield event;
        continue;
      }
      if (roomId && event.roomId === roomId) {
        endIfAccessLost(event, roomId, userId);
        if (event.type === 'RoomDeleted') return;
      }
      if (event.type === 'MemberJoined' || event.type === 'MemberLeft' || event.type === 'RoomDeleted') {
        if (!roomId || event.roomId === roomId) await follow();
      }
    }
  } finally {
    listener.close();
  }
}

/** Moves listener from the topics of `current` ids to those of `next`. */
async function retarget<P>(
  listener: TopicListener<P>,
  current: Set<string>,
  next: Set<string>,
  topicOf: (id: string) => Topic<unknown>,
): Promise<void> {
  for (const id of current) if (!next.has(id)) listener.remove(topicOf(id) as Topic<P>);
  await Promise.all([...next].map((id) => listener.add(topicOf(id) as Topic<P>)));
}

const newListener = <P>(context: Context) =>
  new TopicListener<P>(context.app.bus, context.app.config.realtime.subscriptionBuffer);

/**
 * An async generator's return() waits until the generator next yields, so an idle stream could not
 * be cancelled. This one closes the listener first: its queue ends, the generator runs its finally
 * block, and every topic is released at once.
 */
function cancellable<T>(stream: AsyncGenerator<T>, listener: { close(): void }): AsyncIterableIterator<T> {
  return {
    next: () => stream.next(),
    return: (value?: unknown) => {
      listener.close();
      return stream.return(value as T);
    },
    throw: (error?: unknown) => {
      listener.close();
      return stream.throw(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
