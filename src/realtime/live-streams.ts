/** Something that can end a subscription's stream with an error (its queue: see realtime/queue.ts). */
export interface Endable {
  fail(error: Error): void;
}

/** The Subscription fields, as metrics label their streams. */
export type SubscriptionField = 'messageAdded' | 'roomEvents' | 'myEvents' | 'presenceChanged';

/**
 * Every open subscription stream of this instance, over any transport, by field: metrics count them
 * at scrape time, and a graceful stop ends them all with an error the client can act on.
 */
export interface LiveStreams {
  /** Registers an open stream; the returned function forgets it. After endAll, a new stream is ended at once. */
  open(field: SubscriptionField, stream: Endable): () => void;
  /** How many streams are open, per field. */
  counts(): Map<SubscriptionField, number>;
  /** Ends every open stream, and every one opened from now on, with error. */
  endAll(error: Error): void;
}

export function createLiveStreams(): LiveStreams {
  const byField = new Map<SubscriptionField, Set<Endable>>();
  let endedWith: Error | null = null;
  return {
    open(field, stream) {
      if (endedWith) {
        stream.fail(endedWith);
        return () => {};
      }
      let streams = byField.get(field);
      if (!streams) byField.set(field, (streams = new Set()));
      streams.add(stream);
      return () => void streams.delete(stream);
    },
    counts: () => new Map([...byField].map(([field, streams]) => [field, streams.size])),
    endAll(error) {
      endedWith = error;
      for (const streams of byField.values()) {
        for (const stream of [...streams]) stream.fail(error);
      }
    },
  };
}
