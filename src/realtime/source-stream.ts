import type { TopicListener } from './listener.js';

/**
 * A Subscription field's source stream. Besides one event at a time, it hands over the events that
 * are ready together (a batch of sends published at once, a page of replay), which is how
 * server/shared-execution.ts reads it: one wake-up and one write per subscriber for the whole batch.
 * One reader at a time.
 */
export interface EventStream<T> extends AsyncIterableIterator<T> {
  /** The next events in order, at least one; done once the stream has ended. */
  nextBatch(): Promise<IteratorResult<T[], undefined>>;
}

const DONE: Promise<IteratorResult<never, undefined>> = Promise.resolve({ done: true, value: undefined });

/**
 * The base of the Subscription fields' streams: a small state machine driven by its reader's reads.
 * An idle stream waits on its queue with one promise. Written as an async generator (and read through
 * iterators over it), it held a suspended generator, its registers and a chain of promises and
 * closures per layer, times thousands of sockets. A subclass subscribes in start() and makes each
 * batch in step(), which runs only when there is work: events arrived, or a replay to continue.
 */
export abstract class SourceStream<In, Out> implements EventStream<Out> {
  private state: 'new' | 'open' | 'ending' | 'done' = 'new';
  private ending: Error | null = null;
  private unread: Out[] = [];
  private readonly readAgain = () => this.nextBatch();

  constructor(protected readonly listener: TopicListener<In>) {}

  /** Subscribes to the stream's topics (nothing published after it returns is missed). Runs at the first read. */
  protected abstract start(): Promise<void>;

  /** The next batch to hand over, maybe empty (the events it was made from were not for this stream). */
  protected abstract step(): Out[] | Promise<Out[]>;

  /** Whether step() has work that does not wait for an event (a replay to continue). */
  protected hasOwnWork(): boolean {
    return false;
  }

  /** Called once when the stream ends, however it ends. */
  protected onEnd(): void {}

  /** The events that arrived, in order; once the queue has ended, none, and the stream ends after this batch. Throws the queue's error. */
  protected arrived(): In[] {
    const events = this.listener.events.take();
    if (events !== null) return events;
    this.endAfter(null);
    return [];
  }

  /** Ends the stream once the batch being made has been handed over: with error, or done (null). */
  protected endAfter(error: Error | null): void {
    if (this.state !== 'open') return;
    this.state = 'ending';
    this.ending = error;
  }

  nextBatch(): Promise<IteratorResult<Out[], undefined>> {
    if (this.state === 'done') return DONE;
    if (this.state === 'ending') {
      const error = this.ending;
      this.close();
      return error ? Promise.reject(error) : DONE;
    }
    if (this.state === 'new') {
      this.state = 'open';
      return this.start().then(this.readAgain, (error: unknown) => this.failed(error));
    }
    if (!this.hasOwnWork() && !this.listener.events.ready) return this.listener.events.whenReady().then(this.readAgain);
    let batch: Out[] | Promise<Out[]>;
    try {
      batch = this.step();
    } catch (error) {
      return this.failed(error);
    }
    if (Array.isArray(batch)) return this.handOver(batch);
    return batch.then(
      (made) => this.handOver(made),
      (error: unknown) => this.failed(error),
    );
  }

  async next(): Promise<IteratorResult<Out, undefined>> {
    if (this.unread.length === 0) {
      const step = await this.nextBatch();
      if (step.done) return step;
      this.unread = step.value;
    }
    return { done: false, value: this.unread.shift() as Out };
  }

  /** Ends the stream at once, idle or not: every topic is released now. */
  return(): Promise<IteratorResult<Out, undefined>> {
    this.close();
    return DONE;
  }

  throw(error?: unknown): Promise<IteratorResult<Out, undefined>> {
    this.close();
    return Promise.reject(error as Error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private handOver(batch: Out[]): Promise<IteratorResult<Out[], undefined>> {
    // Closed meanwhile (the client completed while a step ran): the batch goes nowhere.
    if (this.state === 'done') return DONE;
    return batch.length > 0 ? Promise.resolve({ done: false, value: batch }) : this.nextBatch();
  }

  private failed(error: unknown): Promise<IteratorResult<Out[], undefined>> {
    if (this.state === 'done') return DONE;
    this.close();
    return Promise.reject(error as Error);
  }

  private close(): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.unread = [];
    this.listener.close();
    this.onEnd();
  }
}
