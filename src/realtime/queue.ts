import { ParleyError, ErrorCode } from '../errors.js';

/**
 * A bounded async queue between pub/sub callbacks and one subscription's consumer (graphql-ws,
 * which pulls the next event only after the previous one was written to the socket). A consumer
 * that falls `limit` events behind fails with an error instead of growing memory without bound.
 */
export class EventQueue<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private failWaiting: ((error: Error) => void) | null = null;
  private error: Error | null = null;
  private finished = false;
  private closed = false;

  constructor(
    private readonly limit: number,
    private readonly onClose: () => void = () => {},
  ) {}

  push(value: T): void {
    if (this.finished || this.error) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = null;
      resolve({ value, done: false });
      return;
    }
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
  }

  /** Ends the stream with an error at once, dropping anything buffered. */
  fail(error: Error): void {
    if (this.finished || this.error) return;
    this.buffer.length = 0;
    if (this.failWaiting) {
      const reject = this.failWaiting;
      this.waiting = this.failWaiting = null;
      this.finished = true;
      reject(error);
    } else {
      this.error = error;
    }
    this.close();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift() as T, done: false });
    if (this.error) {
      const error = this.error;
      this.error = null;
      this.finished = true;
      return Promise.reject(error);
    }
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.finished = true;
    this.buffer.length = 0;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = null;
      resolve({ value: undefined, done: true });
    }
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }
}
