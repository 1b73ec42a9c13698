import { viewerId, type Context } from '../context.js';
import { fail } from '../errors.js';
import { memberRoom } from '../rooms/access.js';
import { TopicListener } from './listener.js';
import type { SubscriptionField } from './live-streams.js';
import { fillGap } from './gap-fill.js';
import { SourceStream, type EventStream } from './source-stream.js';
import { messageAddedPayload, storedMessageSelect } from '../messages/events.js';
import { topics, type MessageAddedPayload, type PresencePayload, type RoomEventPayload, type Topic } from './topics.js';

/**
 * The source streams of the Subscription fields. Each listens to per-room / per-user topics only,
 * checks membership at subscribe time, and ends the moment the viewer loses access: removed or banned
 * → FORBIDDEN, room deleted → complete (after delivering RoomDeleted where the stream carries it).
 * They hand over the bus payload objects themselves, so one event shared by many subscribers stays one
 * object (server/shared-execution.ts executes the selection once per event and document).
 */

const REPLAY_PAGE = 100;

/** Pushed into a room stream when the bus reconnected: publishes may have been lost meanwhile. */
interface Resync {
  type: 'Resync';
}
type RoomStreamEvent = RoomEventPayload | Resync;

/** Messages of a room in seq order: replay after afterSeq, then live, with gaps filled from the database. */
export function messageAddedStream(context: Context, roomId: string, afterSeq: number | null | undefined): EventStream<MessageAddedPayload> {
  // With messagesOnly, every event the stream hands over is a MessageAdded.
  return new RoomStream(context, roomId, afterSeq ?? null, true) as EventStream<RoomEventPayload> as EventStream<MessageAddedPayload>;
}

/** Everything that happens in a room; MessageAdded events in seq order without gaps or duplicates. */
export function roomEventStream(context: Context, roomId: string): EventStream<RoomEventPayload> {
  return new RoomStream(context, roomId, null, false);
}

/**
 * A room's events, in batches as they arrive (only its MessageAdded with messagesOnly, though all
 * of them can end the stream).
 */
class RoomStream extends SourceStream<RoomStreamEvent, RoomEventPayload> {
  /** The last seq handed over (or replayed from). */
  private lastSeq = 0;
  /** Stored messages after lastSeq are to be replayed first: at the start, and after the bus reconnected. */
  private replaying = false;
  /** Events that arrived after a Resync in the same burst: handled once the replay is done. */
  private held: RoomStreamEvent[] = [];
  private stopResync: () => void = () => {};

  constructor(
    private readonly context: Context,
    private readonly roomId: string,
    private readonly afterSeq: number | null,
    private readonly messagesOnly: boolean,
  ) {
    super(newListener(context, messagesOnly ? 'messageAdded' : 'roomEvents'));
  }

  protected async start(): Promise<void> {
    const { app } = this.context;
    if (this.afterSeq !== null && this.afterSeq < 0) throw fail.badInput('afterSeq must be 0 or more.', 'afterSeq');
    this.stopResync = app.bus.onReconnect(() => this.listener.events.push({ type: 'Resync' }));
    // Where to start, then listen, then replay from the database whatever was committed since:
    // nothing committed between the read and the subscription is missed.
    const { room } = await memberRoom(app.prisma, this.roomId, viewerId(this.context));
    // A client claiming more than exists gets what comes next, not a silent hole.
    this.lastSeq = Math.min(this.afterSeq ?? room.lastSeq, room.lastSeq);
    await this.listener.add(topics.room(this.roomId));
    this.replaying = true;
  }

  protected override hasOwnWork(): boolean {
    return this.replaying || this.held.length > 0;
  }

  protected step(): Promise<RoomEventPayload[]> {
    if (this.replaying) return this.replayPage();
    return this.live(this.held.length > 0 ? this.held.splice(0) : this.arrived());
  }

  protected override onEnd(): void {
    this.stopResync();
  }

  /** The next page of stored messages with seq > lastSeq, as MessageAdded events, in order. */
  private async replayPage(): Promise<MessageAddedPayload[]> {
    const page = await this.context.app.prisma.message.findMany({
      where: { roomId: this.roomId, seq: { gt: this.lastSeq } },
      orderBy: { seq: 'asc' },
      take: REPLAY_PAGE,
      select: storedMessageSelect,
    });
    if (page.length < REPLAY_PAGE) this.replaying = false;
    if (page.length > 0) this.lastSeq = page[page.length - 1]!.seq;
    return page.map(messageAddedPayload);
  }

  private async live(arrived: RoomStreamEvent[]): Promise<RoomEventPayload[]> {
    const userId = viewerId(this.context);
    const batch: RoomEventPayload[] = [];
    for (let k = 0; k < arrived.length; k++) {
      const event = arrived[k]!;
      if (event.type === 'Resync') {
        // What came before is handed over first, then the replay, then what came after.
        this.replaying = true;
        this.held = arrived.slice(k + 1);
        return batch;
      }
      if (event.type === 'MessageAdded') {
        if (event.seq <= this.lastSeq) continue; // already sent (replayed, or delivered twice)
        // A publish was lost or overtaken: fill from the database first.
        if (event.seq > this.lastSeq + 1) batch.push(...(await fillGap(this.context.app.prisma, this.roomId, this.lastSeq, event.seq)));
        this.lastSeq = event.seq;
      }
      if (!this.messagesOnly || event.type === 'MessageAdded') batch.push(event);
      const ended = accessLost(event, this.roomId, userId);
      if (ended || event.type === 'RoomDeleted') {
        // What came before the end is delivered first.
        this.endAfter(ended);
        return batch;
      }
    }
    return batch;
  }
}

/** The error that ends a stream of the room when event takes the viewer out of it; null otherwise. */
function accessLost(event: RoomEventPayload, roomId: string, userId: string): Error | null {
  if (event.type !== 'MemberLeft' || event.userId !== userId || event.roomId !== roomId) return null;
  return fail.forbidden(
    event.reason === 'LEFT' ? 'You left this room.' : `You were ${event.reason === 'BANNED' ? 'banned' : 'removed'} from this room.`,
  );
}

/** Room events that belong in a user's own stream. */
const personalRoomEvents = new Set<RoomEventPayload['type']>(['MessageAdded', 'RoomUpdated', 'UserUpdated', 'Mentioned']);

/**
 * The viewer's own stream: what happens to them (added, removed, banned: their user topic) and new
 * messages, updates and deletions of every room they are in (those rooms' topics, followed as they come and go).
 */
export function myEventStream(context: Context): EventStream<RoomEventPayload> {
  return new MyEventStream(context);
}

class MyEventStream extends SourceStream<RoomEventPayload, RoomEventPayload> {
  /** Each user's latest updateId passed on: the copies of a UserUpdated from the other shared rooms are skipped. Made at the first. */
  private userUpdates: Map<string, string> | null = null;

  constructor(private readonly context: Context) {
    super(newListener(context, 'myEvents'));
  }

  protected async start(): Promise<void> {
    const userId = viewerId(this.context);
    await this.listener.add(topics.user(userId));
    const memberships = await this.context.app.prisma.roomMember.findMany({ where: { userId }, select: { roomId: true } });
    await Promise.all(memberships.map(({ roomId }) => this.listener.add(topics.room(roomId))));
  }

  protected async step(): Promise<RoomEventPayload[]> {
    const userId = viewerId(this.context);
    const { listener } = this;
    const batch: RoomEventPayload[] = [];
    for (const event of this.arrived()) {
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
        this.userUpdates ??= new Map();
        if (this.userUpdates.get(event.userId) === event.updateId) continue;
        this.userUpdates.set(event.userId, event.updateId);
      } else if (!personalRoomEvents.has(event.type)) {
        continue;
      }
      batch.push(event);
    }
    return batch;
  }
}

type PresenceStreamEvent = RoomEventPayload | PresencePayload;
const isPresence = (event: PresenceStreamEvent): event is PresencePayload => 'status' in event;

/**
 * Presence of a room's members, or (roomId null) of everyone the viewer shares a room with,
 * following membership changes as they happen.
 */
export function presenceStream(context: Context, roomId: string | null): EventStream<PresencePayload> {
  return new PresenceStream(context, roomId);
}

class PresenceStream extends SourceStream<PresenceStreamEvent, PresencePayload> {
  private watchedUsers = new Set<string>();
  private watchedRooms = new Set<string>();

  constructor(
    private readonly context: Context,
    private readonly roomId: string | null,
  ) {
    super(newListener(context, 'presenceChanged'));
  }

  protected async start(): Promise<void> {
    const { roomId, listener } = this;
    const userId = viewerId(this.context);
    if (roomId) await memberRoom(this.context.app.prisma, roomId, userId);
    await listener.add(topics.user(userId) as Topic<PresenceStreamEvent>);
    if (roomId) await listener.add(topics.room(roomId) as Topic<PresenceStreamEvent>);
    await this.follow();
  }

  protected async step(): Promise<PresencePayload[]> {
    const { roomId } = this;
    const batch: PresencePayload[] = [];
    for (const event of this.arrived()) {
      if (isPresence(event)) {
        if (this.watchedUsers.has(event.userId)) batch.push(event);
        continue;
      }
      if (roomId && event.roomId === roomId) {
        const ended = accessLost(event, roomId, viewerId(this.context));
        if (ended || event.type === 'RoomDeleted') {
          // What came before the end is delivered first.
          this.endAfter(ended);
          return batch;
        }
      }
      if (event.type === 'MemberJoined' || event.type === 'MemberLeft' || event.type === 'RoomDeleted') {
        if (!roomId || event.roomId === roomId) await this.follow();
      }
    }
    return batch;
  }

  /** (Re)computes whose presence to follow, and the rooms whose membership changes can change that. */
  private async follow(): Promise<void> {
    const { roomId } = this;
    const userId = viewerId(this.context);
    const members = await this.context.app.prisma.roomMember.findMany({
      where: roomId ? { roomId } : { room: { members: { some: { userId } } } },
      select: { userId: true, roomId: true },
    });
    const users = new Set(members.map((member) => member.userId).filter((id) => id !== userId));
    const rooms = new Set(members.map((member) => member.roomId));
    await Promise.all([
      retarget(this.listener, this.watchedUsers, users, (id) => topics.presence(id)),
      retarget(this.listener, this.watchedRooms, rooms, (id) => topics.room(id)),
    ]);
    this.watchedUsers = users;
    this.watchedRooms = rooms;
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
