import { ParleyError, ErrorCode } from '../errors.js';

/**
 * A bounded queue between pub/sub callbacks and one subscription's stream. A stream that falls
 * `limit` events behind fails with an error instead of growing memory without bound.
 * Events published together (a batch of sends, a read of Redis messages) arrive in one synchronous
 * burst; take() hands the stream the whole burst at once, so it pays for one wake-up per burst
 * rather than one per event.
 */
export class EventQueue<T> {
  private buffer: T[] = [];
  private wake: (() => void) | null = null;
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
    this.notify();
  }

  /** Ends the stream with an error at once, dropping anything buffered. */
  fail(error: Error): void {
    if (this.finished || this.error) return;
    this.buffer.length = 0;
    this.error = error;
    this.notify();
    this.release();
  }

  /** Whether take() has something to say: events, the error, or the end. */
  get ready(): boolean {
    return this.buffer.length > 0 || this.error !== null || this.finished;
  }

  /**
   * Resolves once the queue is ready. One waiter at a time (the stream reading it); a plain promise,
   * since an idle subscription waits here, times thousands.
   */
  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise<void>((resolve) => (this.wake = resolve));
  }

  /**
   * Every event waiting, in order (empty when none); null once the queue has ended. The error that
   * ended the queue is thrown once; after it, and after close(), the queue is done.
   */
  take(): T[] | null {
    if (this.buffer.length > 0) {
      const batch = this.buffer;
      this.buffer = [];
      return batch;
    }
    const error = this.error;
    if (error) {
      this.error = null;
      this.finished = true;
      throw error;
    }
    return this.finished ? null : [];
  }

  /** Ends the queue: what is buffered is dropped, and the topics are released. */
  close(): void {
    this.finished = true;
    this.buffer.length = 0;
    this.notify();
    this.release();
  }

  /** The waiter reads the buffer when it resumes, so after the whole burst that woke it. */
  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private release(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }
}
