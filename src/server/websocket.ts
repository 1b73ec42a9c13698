import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { CloseCode, type SubscribePayload } from 'graphql-ws';
import { GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { WebSocketServer } from 'ws';
import type { App } from '../app.js';
import type { Viewer } from '../users/tokens.js';
import { clientAddress } from './caller.js';
import { createMaskError } from './errors.js';
import { createSharedSubscribe, type FrameSink } from './shared-execution.js';
import { serveGraphqlWs } from './ws-transport.js';
import type { GraphQLHandler } from './yoga.js';

/** Per-socket state, kept in graphql-ws's ctx.extra. */
interface SocketState {
  viewer: Viewer | null;
  clientAddress: string;
  connectionId: string;
  expiryTimer?: NodeJS.Timeout;
}

// setTimeout's longest delay; a later expiry is re-armed when it fires.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Carried from onSubscribe to graphql-ws's execute and subscribe hooks: yoga's enveloped execute (error
 * masking and the rest of its plugins), and where the subscription writes its frames.
 */
interface OperationRoot {
  execute: (args: ExecutionArgs) => Promise<ExecutionResult> | ExecutionResult;
  frames: FrameSink;
}

/** graphql-ws on the HTTP server's port and path, sharing yoga's schema, plugins and context. */
export function attachWebSocketServer(app: App, yoga: GraphQLHandler, server: Server) {
  const maskError = createMaskError(app.logger);
  const subscribeShared = createSharedSubscribe({ maskError: (error) => maskError(error, 'Unexpected error.') });
  const wsServer = new WebSocketServer({ server, path: '/graphql', maxPayload: app.config.limits.maxWsPayloadBytes });
  const graphqlWs = serveGraphqlWs<Record<string, unknown>, Partial<SocketState>>(
    {
      onConnect: async (ctx) => {
        const state = ctx.extra as SocketState;
        state.connectionId = randomUUID();
        state.clientAddress = clientAddress(ctx.extra.request, app.config.trustedProxies);
        const token = ctx.connectionParams?.authToken;
        if (token === undefined || token === null || token === '') {
          state.viewer = null;
          return true;
        }
        if (typeof token !== 'string') return false;
        try {
          state.viewer = await app.tokens.verify(token);
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
        scheduleExpiry(state, () => ctx.extra.socket.close(CloseCode.Forbidden, 'Token expired: reconnect with a fresh one'));
        await app.presence.connect(state.viewer.id, state.connectionId).catch((error: unknown) => {
          app.logger.error({ err: error }, 'presence connect failed');
        });
        return true;
      },
      onDisconnect: async (ctx) => {
        const state = ctx.extra as SocketState;
        if (!state.viewer) return;
        await app.presence.disconnect(state.viewer.id, state.connectionId).catch((error: unknown) => {
          app.logger.error({ err: error }, 'presence disconnect failed');
        });
      },
      onClose: (ctx) => {
        clearTimeout((ctx.extra as SocketState).expiryTimer);
      },
      onSubscribe: async (ctx, id, payload: SubscribePayload) => {
        const enveloped = yoga.getEnveloped({ ...ctx, request: ctx.extra.request, socket: ctx.extra.socket, params: payload });
        let document;
        try {
          document = enveloped.parse(payload.query);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length > 0) return errors;
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, frames: { id, send: ctx.extra.send } } satisfies OperationRoot,
        };
        return args;
      },
      execute: (args) => (args.rootValue as OperationRoot).execute(args),
      subscribe: (args) => subscribeShared({ ...args, rootValue: undefined }, (args.rootValue as OperationRoot).frames),
    },
    wsServer,
    app.config.realtime.keepAliveMs,
    app.logger,
  );
  return {
    /** Completes every subscription and closes every socket (1001 Going Away). */
    close: async () => {
      await graphqlWs.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}

function scheduleExpiry(state: SocketState, onExpired: () => void): void {
  const remaining = state.viewer!.expiresAt * 1000 - Date.now();
  state.expiryTimer = setTimeout(
    () => (remaining > MAX_TIMER_MS ? scheduleExpiry(state, onExpired) : onExpired()),
    Math.max(0, Math.min(remaining, MAX_TIMER_MS)),
  );
  state.expiryTimer.unref();
}
