import type { Plugin } from 'graphql-yoga';
import type { ExecutionResult } from 'graphql';
import type { Context } from '../context.js';
import { fail } from '../errors.js';
import { whenExpired } from '../users/expiry.js';
import type { SessionCache } from '../users/session-cache.js';
import type { Viewer } from '../users/tokens.js';

/**
 * A subscription over HTTP (server-sent events) ends, with UNAUTHENTICATED as its last event, when its
 * token expires or its session ends on any instance: as a WebSocket is closed with 4403 then
 * (websocket.ts). graphql-ws subscriptions do not pass through here.
 */
export function useStreamsEndWithTheirSession(sessions: SessionCache): Plugin<Context> {
  return {
    onSubscribe: ({ args }) => {
      const { viewer } = args.contextValue;
      if (!viewer) return;
      return {
        onSubscribeResult: ({ result, setResult }) => {
          if (Symbol.asyncIterator in result) setResult(endingWithSession(result, viewer, sessions));
        },
      };
    },
  };
}

async function* endingWithSession(
  stream: AsyncIterable<ExecutionResult>,
  viewer: Viewer,
  sessions: SessionCache,
): AsyncGenerator<ExecutionResult> {
  let end: (error: Error) => void = () => {};
  const ended = new Promise<{ error: Error }>((resolve) => (end = (error) => resolve({ error })));
  const off = sessions.onEnded((sessionIds) => {
    if (sessionIds.includes(viewer.sessionId)) end(fail.sessionEnded());
  });
  const expiry = whenExpired(viewer.expiresAt, () => end(fail.tokenExpired()));
  const iterator = stream[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), ended]);
      if ('error' in next) {
        yield { errors: [next.error as never] };
        return;
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    off();
    expiry.cancel();
    await iterator.return?.();
  }
}
