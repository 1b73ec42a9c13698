import { EventEmitter } from 'node:events';
import { PubSub, type PubSubEngine } from 'graphql-subscriptions';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { closeRedis, connectRedis } from './redis.js';
import type { Outgoing, Topic } from './topics.js';

/** Typed publish/subscribe over topics: in-process by default, Redis when several instances share work. */
export interface EventBus {
  publish<P>(topic: Topic<P>, payload: P): Promise<void>;
  /** Publishes events produced by a committed write. Never throws: a lost publish is logged, and streams fill gaps from the database. */
  publishAll(events: readonly Outgoing<unknown>[]): Promise<void>;
  /** Calls onMessage for each payload on topic until the returned function is called. */
  subscribe<P>(topic: Topic<P>, onMessage: (payload: P) => void): Promise<() => void>;
  /**
   * Calls listener each time delivery resumes after an interruption (Redis reconnected): whatever was
   * published meanwhile was lost for this instance, so streams check the database. Returns the unsubscriber.
   */
  onReconnect(listener: () => void): () => void;
  /** How many subscriptions are open on this instance (they must all be released when streams end). */
  activeSubscriptions(): number;
  /** Resolves when the bus can deliver (Redis connected), rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

interface Transport {
  engine: PubSubEngine;
  /** Prepended to topic names: ioredis prefixes keys but not pub/sub channels. */
  prefix: string;
  ping(): Promise<void>;
  close(): Promise<void>;
  onReconnect(listener: () => void): () => void;
}

/**
 * In-process without Redis. With Redis, `redis` publishes (it is also the app's command client)
 * and a dedicated connection subscribes, as Redis requires.
 */
export function createEventBus(options: { redis: Redis | null; url: string | null; prefix: string; logger: Logger }): EventBus {
  if (!options.redis || !options.url) {
    return wrap(
      { engine: new PubSub({ eventEmitter: unlimitedEmitter() }), prefix: '', ping: async () => {}, close: async () => {}, onReconnect: () => () => {} },
      options.logger,
    );
  }
  const publisher = options.redis;
  const subscriber = connectRedis(options.url, options.prefix, options.logger, 'subscriber');
  let connectedBefore = false;
  const reconnectListeners = new Set<() => void>();
  subscriber.on('ready', () => {
    if (!connectedBefore) {
      connectedBefore = true;
      return;
    }
    // ioredis re-subscribes on reconnect; a PING answered after those SUBSCRIBEs means they are in place.
    subscriber.ping().then(
      () => reconnectListeners.forEach((listener) => listener()),
      (error: unknown) => options.logger.warn({ err: error }, 'redis subscriber ping failed after reconnect'),
    );
  });
  return wrap(
    {
      engine: new RedisPubSub({ publisher, subscriber }),
      prefix: options.prefix,
      ping: async () => {
        await Promise.all([publisher.ping(), subscriber.ping()]);
      },
      // The publisher is the app's shared client: whoever created it closes it.
      close: () => closeRedis(subscriber),
      onReconnect: (listener) => {
        reconnectListeners.add(listener);
        return () => reconnectListeners.delete(listener);
      },
    },
    options.logger,
  );
}

/** One listener per subscription of a topic: a busy room has thousands, which is not a leak. */
function unlimitedEmitter(): EventEmitter {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return emitter;
}

function wrap({ engine, prefix, ping, close, onReconnect }: Transport, logger: Logger): EventBus {
  let active = 0;
  return {
    publish: (topic, payload) => engine.publish(prefix + topic, payload),
    publishAll: async (events) => {
      await Promise.all(
        events.map((event) =>
          engine.publish(prefix + event.topic, event.payload).catch((error: unknown) => {
            logger.error({ err: error, topic: event.topic }, 'publish failed');
          }),
        ),
      );
    },
    subscribe: async (topic, onMessage) => {
      const id = await engine.subscribe(prefix + topic, onMessage as (payload: unknown) => void, {});
      active++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        active--;
        engine.unsubscribe(id);
      };
    },
    onReconnect,
    activeSubscriptions: () => active,
    ping,
    close,
  };
}
