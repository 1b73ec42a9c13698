import type { EventBus } from './bus.js';
import { EventQueue } from './queue.js';
import type { Topic } from './topics.js';

/**
 * One subscription's view of the bus: the topics it listens to (which can change while it runs,
 * e.g. when the viewer joins a room) feeding one bounded queue. Closing it releases every topic.
 */
export class TopicListener<P> {
  readonly events: EventQueue<P>;
  private readonly subscriptions = new Map<string, Promise<() => void>>();
  private closed = false;

  constructor(
    private readonly bus: EventBus,
    limit: number,
    /** Called once when the listener closes, after its topics are released. */
    private readonly onClose: () => void = () => {},
  ) {
    this.events = new EventQueue<P>(limit, () => this.releaseAll());
  }

  /** Starts listening to topic; resolves once the bus delivers it (so nothing published after is missed). */
  async add(topic: Topic<P>): Promise<void> {
    // A stream cancelled while it was setting up must not subscribe after the fact.
    if (this.closed) return;
    let subscription = this.subscriptions.get(topic);
    if (!subscription) {
      subscription = this.bus.subscribe(topic, (payload) => this.events.push(payload));
      this.subscriptions.set(topic, subscription);
    }
    await subscription;
  }

  remove(topic: Topic<P>): void {
    const subscription = this.subscriptions.get(topic);
    if (!subscription) return;
    this.subscriptions.delete(topic);
    void subscription.then((unsubscribe) => unsubscribe());
  }

  has(topic: Topic<P>): boolean {
    return this.subscriptions.has(topic);
  }

  close(): void {
    this.events.close();
  }

  private releaseAll(): void {
    this.closed = true;
    for (const topic of [...this.subscriptions.keys()]) this.remove(topic as Topic<P>);
    this.onClose();
  }
}
