/**
 * The work a graceful stop waits for: HTTP requests and WebSocket operations in flight. Once the
 * stop has begun, the transports refuse what would outlive it (new subscriptions) and close
 * connections after their responses.
 */
export interface Drain {
  /** True once the stop has begun. */
  readonly draining: boolean;
  /** How many tracked pieces of work are in flight. */
  readonly inFlight: number;
  /** Counts one piece of work until the returned function is called (once). */
  enter(): () => void;
  /** Counts work until it settles; returns it unchanged. */
  track<T>(work: Promise<T>): Promise<T>;
  /** Begins the stop; resolves true once nothing is in flight, false if work is still running after timeoutMs. */
  settle(timeoutMs: number): Promise<boolean>;
}

export function createDrain(): Drain {
  let draining = false;
  let inFlight = 0;
  let onIdle: (() => void) | null = null;
  const enter = () => {
    inFlight++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (--inFlight === 0) onIdle?.();
    };
  };
  return {
    get draining() {
      return draining;
    },
    get inFlight() {
      return inFlight;
    },
    enter,
    track(work) {
      const leave = enter();
      work.then(leave, leave);
      return work;
    },
    settle(timeoutMs) {
      draining = true;
      if (inFlight === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        onIdle = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
    },
  };
}
