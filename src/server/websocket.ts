import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { CloseCode, type SubscribePayload } from 'graphql-ws';
import { getOperationAST, GraphQLError, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { WebSocketServer } from 'ws';
import type { App } from '../app.js';
import { ErrorCode } from '../errors.js';
import { createSocketLimits, type SocketGuard } from '../limits/sockets.js';
import type { Logger } from '../logger.js';
import { messageSentAt } from '../messages/events.js';
import { whenExpired } from '../users/expiry.js';
import { clientAddress, identifyCaller, type Caller, type Credentials } from './caller.js';
import { createMaskError, forSocket } from './errors.js';
import { operationKind, outcomeOf } from './metrics.js';
import { requestIdOf } from './request-id.js';
import { createSharedSubscribe, type FrameSink } from './shared-execution.js';
import { serveGraphqlWs, type TransportExtra } from './ws-transport.js';
import type { GraphQLHandler } from './yoga.js';

/** Per-socket state, kept in graphql-ws's ctx.extra. */
export interface SocketState {
  connectionId: string;
  /**
   * When the socket first carried a valid token, at connect or in an operation's own headers
   * (GraphiQL signs in that way); undefined while it has only been anonymous.
   */
  signedInAt?: number;
  /** Users whose valid token the socket has carried: it counts as one of their connections (presence) until it closes. */
  users: Set<string>;
  /** The sessions of those tokens: the socket is closed with 4403 when any of them ends. */
  sessions: Set<string>;
  /** The earliest expiry (Unix seconds) of those tokens: the socket is closed with 4403 then. */
  expiresAt?: number;
  expiry?: { cancel(): void };
  closed: boolean;
  /** Its anonymous grace and subscription count (limits/sockets.ts). */
  guard?: SocketGuard;
}

/** Set when the socket opens, before graphql-ws sees it: what it keeps of the upgrade request. */
interface SocketLog {
  /** Logs with the request id: the upgrade request's X-Request-Id when sane, else a new one. */
  log: Logger;
  openedAt: number;
  clientAddress: string;
  /** The upgrade request's Authorization and User-Agent headers. */
  authorization: string | undefined;
  userAgent: string | null;
}

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
  // createMaskError answers every error with a GraphQLError (yoga's maskError makes one of the rest).
  const socketError = (error: unknown) => forSocket(maskError(error, 'Unexpected error.') as GraphQLError);
  const subscribeShared = createSharedSubscribe({
    maskError: socketError,
    deliveries: app.metrics.deliveries,
    sentAt: messageSentAt,
    ended: (code) => app.metrics.subscriptionEnded(code),
  });
  /**
   * Counts the socket as a connection of the caller's user (presence) from the first valid token of
   * theirs it carries until it closes, and arms its close (4403) at the earliest expiry of its tokens
   * and at the end of any of their sessions.
   */
  const signIn = async (state: SocketState & SocketLog & TransportExtra, { viewer }: Caller): Promise<void> => {
    if (!viewer || state.closed) return;
    const caller = { userId: viewer.id };
    const connection = { connectionId: state.connectionId, clientAddress: state.clientAddress };
    // The embedding server may refuse the user here (a contract error, before anything counts them in).
    if (!state.users.has(viewer.id)) await app.hooks.before('connect', caller, connection);
    state.guard?.signedIn();
    state.signedInAt ??= Date.now();
    if (!state.sessions.has(viewer.sessionId)) {
      state.sessions.add(viewer.sessionId);
      const sockets = socketsBySession.get(viewer.sessionId) ?? new Set();
      socketsBySession.set(viewer.sessionId, sockets.add(state));
    }
    if (state.expiresAt === undefined || viewer.expiresAt < state.expiresAt) {
      state.expiresAt = viewer.expiresAt;
      state.expiry?.cancel();
      state.expiry = whenExpired(viewer.expiresAt, () => state.socket.close(CloseCode.Forbidden, 'Token expired: reconnect with a fresh one'));
    }
    if (state.users.has(viewer.id)) return;
    state.users.add(viewer.id);
    state.log.info({ userId: viewer.id }, 'socket signed in');
    await app.presence.connect(viewer.id, state.connectionId).catch((error: unknown) => {
      app.logger.error({ err: error }, 'presence connect failed');
    });
    await app.hooks.after('connect', caller, connection, { connectionId: state.connectionId });
  };
  /** This instance's signed-in sockets by session, to close when their session ends on any instance. */
  const socketsBySession = new Map<string, Set<SocketState & TransportExtra>>();
  const offSessionsEnded = app.sessions.onEnded((sessionIds) => {
    for (const sessionId of sessionIds) {
      for (const state of socketsBySession.get(sessionId) ?? []) {
        state.socket.close(CloseCode.Forbidden, 'Session ended: log in again');
      }
    }
  });
  /**
   * Documents (yoga's parse cache hands out one object per text) that passed validation. The schema and
   * the rules are the same for every operation, and every validation hook acts only on errors, so a
   * document valid once is valid again: sends skip the envelop round (yoga's own validation cache
   * builds its key from every rule's name on each hit).
   */
  const validDocuments = new WeakSet<DocumentNode>();
  const socketLimits = createSocketLimits(
    app.config.rateLimits,
    app.connections,
    (request) => clientAddress(request, app.config.trustedProxies),
    app.metrics.rateLimitRefused,
  );
  // No per-message compression: a deflate context per socket costs far more than its small frames save.
  const wsServer = new WebSocketServer({
    server,
    path: '/graphql',
    maxPayload: app.config.limits.maxWsPayloadBytes,
    perMessageDeflate: false,
    verifyClient: socketLimits.verifyClient,
  });
  const graphqlWs = serveGraphqlWs<Record<string, unknown>, Partial<SocketState & SocketLog>>(
    {
      onConnect: async (ctx) => {
        const state = Object.assign(ctx.extra as typeof ctx.extra & SocketLog, {
          connectionId: randomUUID(),
          users: new Set<string>(),
          sessions: new Set<string>(),
          closed: false,
          guard: socketLimits.guard(ctx.extra.socket),
        } satisfies SocketState);
        try {
          await signIn(state, await identifyCaller(app.tokens, state.clientAddress, socketCredentials(ctx)));
        } catch (error) {
          if (!(error instanceof GraphQLError)) throw error;
          if (error.extensions.code !== ErrorCode.UNAUTHENTICATED) {
            // The connect hook refused: its sentence is the close reason, the one place the client can read it.
            state.log.info({ reason: error.message }, 'socket refused by the connect hook');
            state.socket.close(CloseCode.Forbidden, closeReason(error.message));
            return false;
          }
          state.log.info('socket refused: invalid token');
          return false; // graphql-ws closes with 4403 Forbidden
        }
        return true;
      },
      onDisconnect: async (ctx) => {
        const state = ctx.extra as SocketState;
        state.closed = true;
        await Promise.all(
          [...state.users].map(async (userId) => {
            await app.presence.disconnect(userId, state.connectionId).catch((error: unknown) => {
              app.logger.error({ err: error }, 'presence disconnect failed');
            });
            const connection = { connectionId: state.connectionId };
            await app.hooks.after('disconnect', { userId }, connection, connection);
          }),
        );
      },
      onClose: (ctx, code) => {
        const state = ctx.extra as Partial<SocketState & TransportExtra> & SocketLog;
        state.closed = true;
        state.expiry?.cancel();
        for (const sessionId of state.sessions ?? []) {
          const sockets = socketsBySession.get(sessionId);
          sockets?.delete(state as SocketState & TransportExtra);
          if (sockets?.size === 0) socketsBySession.delete(sessionId);
        }
        state.guard?.release();
        state.log.info({ code, durationMs: Date.now() - state.openedAt, userIds: state.users ? [...state.users] : [] }, 'socket closed');
      },
      onSubscribe: async (ctx, id, payload: SubscribePayload) => {
        const state = ctx.extra as SocketState & SocketLog & TransportExtra;
        try {
          const caller = await identifyCaller(app.tokens, state.clientAddress, {
            ...socketCredentials(ctx),
            operationHeaders: payload.extensions?.headers,
          });
          await signIn(state, caller);
          // No `request` here: yoga's HTTP checks (a mutation needs POST) would judge the upgrade GET.
          // Nor the rest of graphql-ws's ctx or the payload: a subscription keeps its context for its life.
          const enveloped = yoga.getEnveloped({ extra: ctx.extra, caller, log: state.log, userAgent: state.userAgent });
          const document = enveloped.parse(payload.query);
          if (!validDocuments.has(document)) {
            const errors = enveloped.validate(enveloped.schema, document);
            if (errors.length > 0) return errors;
            validDocuments.add(document);
          }
          if (getOperationAST(document, payload.operationName)?.operation === 'subscription') {
            const refused = state.guard?.admitSubscription(id, ctx.subscriptions);
            if (refused) return [refused];
          }
          return {
            schema: enveloped.schema,
            document,
            operationName: payload.operationName,
            variableValues: payload.variables,
            contextValue: await enveloped.contextFactory(),
            rootValue: { execute: enveloped.execute, frames: { id, send: ctx.extra.send } } satisfies OperationRoot,
          } satisfies ExecutionArgs;
        } catch (error) {
          // As over HTTP: a bad token, document or limit (graphql-armor throws) is the client's; the rest is masked.
          return [socketError(error)];
        }
      },
      // Every error frame and every query or mutation result leaves with contract codes only.
      onError: (_ctx, _id, _payload, errors) => errors.map((error) => forSocket(error).toJSON()),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((error) => forSocket(error).toJSON()) } : undefined,
      execute: (args) => (args.rootValue as OperationRoot).execute(args),
      subscribe: async (args) => {
        const result = await subscribeShared({ ...args, rootValue: undefined }, (args.rootValue as OperationRoot).frames);
        app.metrics.operation('ws', operationKind(args.document, args.operationName), Symbol.asyncIterator in result ? 'OK' : outcomeOf(result));
        return result;
      },
    },
    wsServer,
    app.config.realtime.keepAliveMs,
    app.logger,
    app.drain,
    (extra, request) => {
      extra.log = app.logger.child({ requestId: requestIdOf(request.headers['x-request-id']) });
      extra.openedAt = Date.now();
      extra.clientAddress = clientAddress(request, app.config.trustedProxies);
      extra.authorization = request.headers.authorization;
      extra.userAgent = request.headers['user-agent'] ?? null;
      extra.log.info({ clientAddress: extra.clientAddress }, 'socket open');
    },
  );
  return {
    /** Open sockets. */
    count: graphqlWs.count,
    /** Closes every socket (1001 Going Away); the server ends their subscriptions first (see index.ts). */
    close: async () => {
      offSessionsEnded();
      await graphqlWs.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}

/** Where the socket itself carries a token: connection_init's payload, and the upgrade request's Authorization header. */
function socketCredentials(ctx: { connectionParams?: unknown; extra: Partial<SocketLog> }): Credentials {
  return { connectionParams: ctx.connectionParams, authorization: ctx.extra.authorization };
}

/** A WebSocket close reason holds at most 123 bytes of UTF-8: longer sentences are cut at a character. */
function closeReason(sentence: string): string {
  let reason = '';
  for (const character of sentence) {
    if (Buffer.byteLength(reason + character) > 123) break;
    reason += character;
  }
  return reason;
}

