import type { Logger } from '../logger.js';

/**
 * The work a tracker does besides answering calls (periodic timers, transitions still being
 * published), so that closing it can wait until nothing touches Redis or the database any more.
 */
export interface Background {
  /** Remembers work until it settles; returns it unchanged, so the caller still sees its failure. */
  track<T>(work: Promise<T>): Promise<T>;
  /** Runs work every intervalMs, never two runs at once (a Redis outage must not pile them up); failures are logged. */
  every(intervalMs: number, name: string, work: () => Promise<void>): void;
  /** Stops the timers and resolves once all tracked work, including work started meanwhile, has settled. */
  close(): Promise<void>;
}

export function createBackground(logger: Logger): Background {
  const running = new Set<Promise<void>>();
  const timers: NodeJS.Timeout[] = [];
  const track = <T>(work: Promise<T>): Promise<T> => {
    const settled: Promise<void> = work.then(
      () => void running.delete(settled),
      () => void running.delete(settled),
    );
    running.add(settled);
    return work;
  };
  return {
    track,
    every(intervalMs, name, work) {
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        track(work())
          .catch((error: unknown) => logger.error({ err: error }, `${name} failed`))
          .finally(() => (busy = false));
      }, intervalMs);
      timer.unref();
      timers.push(timer);
    },
    async close() {
      for (const timer of timers) clearInterval(timer);
      while (running.size > 0) await Promise.all(running);
    },
  };
}
