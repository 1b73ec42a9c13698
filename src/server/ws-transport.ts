import type { IncomingMessage } from 'node:http';
import { CloseCode, handleProtocols, makeServer, type ConnectionInitMessage, type ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../logger.js';
import { corkPerTurn } from '../realtime/cork.js';
import type { Drain } from './drain.js';

/** What graphql-ws's ctx.extra holds for every socket, as graphql-ws/use/ws puts it. */
export interface TransportExtra {
  readonly socket: WebSocket;
  /** Writes one protocol message to the socket, as graphql-ws's own sends do (subscriptions write their frames with it). */
  readonly send: (data: string) => Promise<void> | undefined;
}

/**
 * Unsent bytes past which a send waits for the socket to drain: below it graphql-ws goes on at once,
 * so a subscription with several events ready writes them all in the same turn.
 */
const HIGH_WATER_BYTES = 64 * 1024;

/** How long closing sockets may take their close handshake before they are cut. */
const CLOSE_HANDSHAKE_MS = 1000;

/**
 * graphql-ws's protocol server (makeServer) on a `ws` server: what graphql-ws/use/ws does (keepalive
 * pings, 4500 on internal errors, 1001 on dispose), with the writes shaped for fan-out. Every frame
 * written to a socket in one turn of the event loop leaves in one system call: the TCP socket is
 * corked at its first frame of the turn and uncorked when the turn's I/O is done. A busy room's
 * events reach each subscriber in a handful of writes instead of one per event, and a frame waits
 * at most until the end of the turn that produced it.
 */
export function serveGraphqlWs<P extends ConnectionInitMessage['payload'], E extends Record<PropertyKey, unknown>>(
  options: ServerOptions<P, TransportExtra & Partial<E>>,
  wsServer: WebSocketServer,
  keepAliveMs: number,
  logger: Logger,
  drain: Drain,
  /**
   * Called with each new socket's extra before graphql-ws sees it, and its upgrade request: what the
   * socket needs of it is taken here, so the request is not kept for the socket's life.
   */
  onOpen: (extra: TransportExtra & Partial<E>, request: IncomingMessage) => void,
) {
  const server = makeServer(options);
  const corkForThisTurn = corkPerTurn();
  const closeOnInternalError = (socket: WebSocket, error: unknown, what: string) => {
    logger.error({ err: error }, what);
    socket.close(CloseCode.InternalServerError, 'Internal server error');
  };

  wsServer.options.handleProtocols = handleProtocols;
  const keepAlive = keepAliveSweep(wsServer, keepAliveMs);
  wsServer.on('connection', (socket, request) => {
    if (drain.draining) return socket.close(1001, 'Going away');
    // The upgraded request's socket is the connection ws writes its frames to.
    const tcp = request.socket;
    socket.once('error', (error) => closeOnInternalError(socket, error, 'websocket error'));
    keepAlive.watch(socket);
    // One wait for every send that finds the socket full.
    let drained: Promise<void> | null = null;
    const whenDrained = () =>
      (drained ??= new Promise<void>((resolve) => {
        const done = () => {
          tcp.off('drain', done);
          socket.off('close', done);
          drained = null;
          resolve();
        };
        tcp.on('drain', done);
        socket.on('close', done);
      }));
    const send = (data: string) => {
      if (socket.readyState !== socket.OPEN) return;
      corkForThisTurn(tcp);
      socket.send(data);
      return socket.bufferedAmount < HIGH_WATER_BYTES ? undefined : whenDrained();
    };
    const extra = { socket, send } as TransportExtra & Partial<E>;
    onOpen(extra, request);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send,
        close: (code, reason) => socket.close(code, reason),
        // A message is in flight until graphql-ws has handled it: for a query or mutation, until its
        // result is written; for a subscription, until it ends.
        onMessage: (handle) =>
          socket.on('message', (data: Buffer) => {
            drain.track(handle(String(data))).catch((error: unknown) => closeOnInternalError(socket, error, 'graphql-ws message failed'));
          }),
      },
      extra,
    );
    socket.once('close', (code, reason) => {
      void closed(code, String(reason));
    });
  });

  return {
    /** Open sockets. */
    count: () => wsServer.clients.size,
    /** Closes every socket with 1001 Going Away; resolves once all have closed (cut after CLOSE_HANDSHAKE_MS). */
    dispose: async () => {
      keepAlive.stop();
      const closed = [...wsServer.clients].map(
        (client) =>
          new Promise<void>((resolve) => {
            if (client.readyState === client.CLOSED) return resolve();
            const cut = setTimeout(() => client.terminate(), CLOSE_HANDSHAKE_MS);
            client.once('close', () => {
              clearTimeout(cut);
              resolve();
            });
            client.close(1001, 'Going away');
          }),
      );
      await Promise.all(closed);
    },
  };
}

/**
 * Pings every socket every keepAliveMs, from the first full period after it opened; a socket that
 * has not answered by the next round is terminated. One timer for all sockets, and one pong listener
 * shared by all, instead of timers and closures per socket.
 */
function keepAliveSweep(wsServer: WebSocketServer, keepAliveMs: number): { watch(socket: WebSocket): void; stop(): void } {
  if (!(keepAliveMs > 0 && Number.isFinite(keepAliveMs))) return { watch: () => {}, stop: () => {} };
  /** Opened since the last round: not pinged yet, so none is pinged sooner than keepAliveMs after it opened. */
  const opened = new WeakSet<WebSocket>();
  const unanswered = new WeakSet<WebSocket>();
  const answered = function (this: WebSocket) {
    unanswered.delete(this);
  };
  const pings = setInterval(() => {
    for (const socket of wsServer.clients) {
      if (opened.delete(socket) || socket.readyState !== socket.OPEN) continue;
      if (unanswered.has(socket)) {
        socket.terminate();
        continue;
      }
      unanswered.add(socket);
      socket.ping();
    }
  }, keepAliveMs);
  pings.unref();
  return {
    watch: (socket) => {
      opened.add(socket);
      socket.on('pong', answered);
    },
    stop: () => clearInterval(pings),
  };
}
