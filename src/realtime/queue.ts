import { ParleyError, ErrorCode } from '../errors.js';

/**
 * A bounded async queue between pub/sub callbacks and one subscription's consumer. A consumer that
 * falls `limit` events behind fails with an error instead of growing memory without bound.
 * Events published together (a batch of sends, a read of Redis messages) arrive in one synchronous
 * burst; nextBatch() hands the consumer the whole burst at once, so it pays for one wake-up per
 * burst rather than one per event.
 */
export class EventQueue<T> implements AsyncIterableIterator<T> {
  private buffer: T[] = [];
  private waiters: (() => void)[] = [];
  private error: Error | null = null;
  private finished = false;
  private closed = false;

  constructor(
    private readonly limit: number,
    private readonly onClose: () => void = () => {},
  ) {}

  push(value: T): void {
    if (this.finished || this.error) return;
    if (this.buffer.length >= this.limit) {
      this.fail(
        new ParleyError(
          ErrorCode.RATE_LIMITED,
          `This subscription fell more than ${this.limit} events behind and was ended: subscribe again (with afterSeq to resume without loss).`,
        ),
      );
      return;
    }
    this.buffer.push(value);
    this.wake();
  }

  /** Ends the stream with an error at once, dropping anything buffered. */
  fail(error: Error): void {
    if (this.finished || this.error) return;
    this.buffer.length = 0;
    this.error = error;
    this.wake();
    this.close();
  }

  next(): Promise<IteratorResult<T>> {
    return this.settled(() => {
      if (this.buffer.length > 0) return { value: this.buffer.shift() as T, done: false };
      this.end();
      return { value: undefined, done: true };
    });
  }

  /** Every event waiting, in order (at least one); null once the queue has ended, or its error. */
  nextBatch(): Promise<T[] | null> {
    return this.settled(() => {
      if (this.buffer.length > 0) {
        const batch = this.buffer;
        this.buffer = [];
        return batch;
      }
      this.end();
      return null;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.finished = true;
    this.buffer.length = 0;
    this.wake();
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * Takes what the consumer gets once there is an event, an error or the end. The consumer reads the
   * buffer when it resumes, so after the whole burst that woke it; another consumer may have taken it
   * by then. Plain promises rather than async functions: an idle subscription waits here, times thousands.
   */
  private settled<R>(take: () => R): Promise<R> {
    if (this.buffer.length > 0 || this.error || this.finished) return Promise.resolve().then(take);
    return new Promise<void>((resolve) => this.waiters.push(resolve)).then(() => this.settled(take));
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Throws the error that ended the queue, once; after it, and after return(), the queue is done. */
  private end(): void {
    const error = this.error;
    if (!error) return;
    this.error = null;
    this.finished = true;
    throw error;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }
}
