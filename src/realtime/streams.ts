import { viewerId, type Context } from '../context.js';
import { fail } from '../errors.js';
import { memberRoom } from '../rooms/access.js';
import { TopicListener } from './listener.js';
import type { SubscriptionField } from './live-streams.js';
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

/**
 * A Subscription field's source stream. Besides one event at a time, it hands over the events that
 * are ready together (a batch of sends published at once, a page of replay), which is how
 * server/shared-execution.ts reads it: one wake-up and one write per subscriber for the whole batch.
 */
export interface EventStream<T> extends AsyncIterableIterator<T> {
  /** The next events in order, at least one; done once the stream has ended. */
  nextBatch(): Promise<IteratorResult<T[], undefined>>;
}

/** Messages of a room in seq order: replay after afterSeq, then live, with gaps filled from the database. */
export function messageAddedStream(context: Context, roomId: string, afterSeq: number | null | undefined): EventStream<MessageAddedPayload> {
  const listener = newListener<RoomStreamEvent>(context, 'messageAdded');
  // With messagesOnly, every event the stream yields is a MessageAdded.
  const messages = roomStream(context, listener, roomId, afterSeq ?? null, true) as AsyncGenerator<MessageAddedPayload[]>;
  return batchStream(messages, listener);
}

/** Everything that happens in a room; MessageAdded events in seq order without gaps or duplicates. */
export function roomEventStream(context: Context, roomId: string): EventStream<RoomEventPayload> {
  const listener = newListener<RoomStreamEvent>(context, 'roomEvents');
  return batchStream(roomStream(context, listener, roomId, null, false), listener);
}

/**
 * A room's events, in batches as they arrive (only its MessageAdded with messagesOnly, though all
 * of them can end the stream).
 */
async function* roomStream(
  context: Context,
  listener: TopicListener<RoomStreamEvent>,
  roomId: string,
  afterSeq: number | null,
  messagesOnly: boolean,
): AsyncGenerator<RoomEventPayload[]> {
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
    for (let arrived = await listener.events.nextBatch(); arrived; arrived = await listener.events.nextBatch()) {
      let batch: RoomEventPayload[] = [];
      for (const event of arrived) {
        if (event.type === 'Resync') {
          if (batch.length > 0) yield batch;
          batch = [];
          lastSeq = yield* replayAfter(context, roomId, lastSeq);
          continue;
        }
        if (event.type === 'MessageAdded') {
          if (event.seq <= lastSeq) continue; // already sent (replayed, or delivered twice)
          // A publish was lost or overtaken: fill from the database first.
          if (event.seq > lastSeq + 1) batch.push(...(await fillGap(app.prisma, roomId, lastSeq, event.seq)));
          lastSeq = event.seq;
        }
        if (!messagesOnly || event.type === 'MessageAdded') batch.push(event);
        const ended = accessLost(event, roomId, userId);
        if (ended || event.type === 'RoomDeleted') {
          // What came before the end is delivered first.
          if (batch.length > 0) yield batch;
          if (ended) throw ended;
          return;
        }
      }
      if (batch.length > 0) yield batch;
    }
  } finally {
    stopResync();
    listener.close();
  }
}

/** The error that ends a stream of the room when event takes the viewer out of it; null otherwise. */
function accessLost(event: RoomEventPayload, roomId: string, userId: string): Error | null {
  if (event.type !== 'MemberLeft' || event.userId !== userId || event.roomId !== roomId) return null;
  return fail.forbidden(
    event.reason === 'LEFT' ? 'You left this room.' : `You were ${event.reason === 'BANNED' ? 'banned' : 'removed'} from this room.`,
  );
}

/** Replays the stored messages with seq > afterSeq as MessageAdded events, a page at a time, in order; returns the last seq. */
async function* replayAfter(context: Context, roomId: string, afterSeq: number): AsyncGenerator<MessageAddedPayload[], number> {
  let from = afterSeq;
  for (;;) {
    const page = await context.app.prisma.message.findMany({
      where: { roomId, seq: { gt: from } },
      orderBy: { seq: 'asc' },
      take: REPLAY_PAGE,
      select: storedMessageSelect,
    });
    if (page.length > 0) {
      yield page.map(messageAddedPayload);
      from = page[page.length - 1]!.seq;
    }
    if (page.length < REPLAY_PAGE) return from;
  }
}

/** Room events that belong in a user's own stream. */
const personalRoomEvents = new Set<RoomEventPayload['type']>(['MessageAdded', 'RoomUpdated', 'UserUpdated', 'Mentioned']);

/**
 * The viewer's own stream: what happens to them (added, removed, banned: their user topic) and new
 * messages, updates and deletions of every room they are in (those rooms' topics, followed as they come and go).
 */
export function myEventStream(context: Context): EventStream<RoomEventPayload> {
  const listener = newListener<RoomEventPayload>(context, 'myEvents');
  return batchStream(myEvents(context, listener), listener);
}

async function* myEvents(context: Context, listener: TopicListener<RoomEventPayload>): AsyncGenerator<RoomEventPayload[]> {
  const { app } = context;
  const userId = viewerId(context);
  const userTopic = topics.user(userId);
  /** Each user's latest updateId passed on: the copies of a UserUpdated from the other shared rooms are skipped. */
  const userUpdates = new Map<string, string>();
  try {
    await listener.add(userTopic);
    const memberships = await app.prisma.roomMember.findMany({ where: { userId }, select: { roomId: true } });
    await Promise.all(memberships.map(({ roomId }) => listener.add(topics.room(roomId))));
    for (let arrived = await listener.events.nextBatch(); arrived; arrived = await listener.events.nextBatch()) {
      const batch: RoomEventPayload[] = [];
      for (const event of arrived) {
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
        } else if (event.type === 'UserUpdated') {
          if (userUpdates.get(event.userId) === event.updateId) continue;
          userUpdates.set(event.userId, event.updateId);
        } else if (!personalRoomEvents.has(event.type)) {
          continue;
        }
        batch.push(event);
      }
      if (batch.length > 0) yield batch;
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
export function presenceStream(context: Context, roomId: string | null): EventStream<PresencePayload> {
  const listener = newListener<PresenceStreamEvent>(context, 'presenceChanged');
  return batchStream(presenceEvents(context, listener, roomId), listener);
}

async function* presenceEvents(
  context: Context,
  listener: TopicListener<PresenceStreamEvent>,
  roomId: string | null,
): AsyncGenerator<PresencePayload[]> {
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
    for (let arrived = await listener.events.nextBatch(); arrived; arrived = await listener.events.nextBatch()) {
      const batch: PresencePayload[] = [];
      for (const event of arrived) {
        if (isPresence(event)) {
          if (watchedUsers.has(event.userId)) batch.push(event);
          continue;
        }
        if (roomId && event.roomId === roomId) {
          const ended = accessLost(event, roomId, userId);
          if (ended || event.type === 'RoomDeleted') {
            // What came before the end is delivered first.
            if (batch.length > 0) yield batch;
            if (ended) throw ended;
            return;
          }
        }
        if (event.type === 'MemberJoined' || event.type === 'MemberLeft' || event.type === 'RoomDeleted') {
          if (!roomId || event.roomId === roomId) await follow();
        }
      }
      if (batch.length > 0) yield batch;
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

/** A stream's listener, registered among the instance's live streams while it is open. */
function newListener<P>(context: Context, field: SubscriptionField): TopicListener<P> {
  const { app } = context;
  let forget = () => {};
  const listener = new TopicListener<P>(app.bus, app.config.realtime.subscriptionBuffer, () => forget());
  forget = app.liveStreams.open(field, listener.events);
  return listener;
}

/**
 * The EventStream of a generator of batches. An async generator's return() waits until the generator
 * next yields, so an idle stream could not be cancelled: return() closes the listener first, its
 * queue ends, the generator runs its finally block, and every topic is released at once.
 */
function batchStream<T>(batches: AsyncGenerator<T[]>, listener: { close(): void }): EventStream<T> {
  let unread: T[] = [];
  return {
    // Plain promises rather than async functions: an idle subscription waits here, times thousands.
    nextBatch: () => {
      if (unread.length > 0) return Promise.resolve({ done: false, value: unread.splice(0) });
      return batches.next().then((step) => (step.done ? { done: true, value: undefined } : step));
    },
    next: async () => {
      if (unread.length === 0) {
        const step = await batches.next();
        if (step.done) return { done: true, value: undefined };
        unread = step.value;
      }
      return { done: false, value: unread.shift() as T };
    },
    return: async () => {
      listener.close();
      await batches.return(undefined);
      return { done: true, value: undefined };
    },
    throw: (error?: unknown) => {
      listener.close();
      return batches.throw(error).then(() => ({ done: true, value: undefined }));
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
