import { Agent, request } from 'node:http';
import WebSocket from 'ws';

/**
 * The benchmark's clients: many graphql-ws (graphql-transport-ws protocol) subscribers in this one
 * process, written directly on `ws` so the client side costs as little CPU as possible, and a sender
 * over keep-alive HTTP or over one graphql-ws socket. The ceiling server speaks the same subset of
 * the protocol, so both sides of the comparison pay exactly the same client cost per delivery.
 */

export interface Delivery {
  seq: number;
  body: string;
}

export type OnDelivery = (subscriber: Subscriber, delivery: Delivery, receivedAt: number) => void;

export class Subscriber {
  private socket: WebSocket | null = null;
  /** Seq of the last delivery; -1 before the first. */
  lastSeq = -1;
  deliveries = 0;
  /** Deliveries whose seq was not lastSeq + 1 (something was skipped). */
  gaps = 0;
  /** Deliveries whose seq was <= lastSeq (duplicate or out of order). */
  backwards = 0;
  /** Error payloads, error/complete messages, unexpected closes. */
  problems: string[] = [];

  constructor(
    readonly index: number,
    private readonly url: string,
    private readonly token: string | null,
    private readonly onDelivery: OnDelivery,
  ) {}

  /** Opens the socket and completes the connection_init / connection_ack handshake. */
  async connect(timeoutMs = 20_000): Promise<void> {
    this.socket = await openGraphqlWs(this.url, this.token, `subscriber ${this.index}`, timeoutMs, {
      message: (message) => this.receive(message),
      lost: (reason) => {
        if (!this.closing) this.problems.push(reason);
      },
    });
  }

  private receive(message: ProtocolMessage): void {
    switch (message.type) {
      case 'next': {
        const at = performance.now();
        const payload = message.payload as { data?: { messageAdded?: Delivery } | null; errors?: { message: string }[] };
        if (payload.errors?.length) this.problems.push(`errors: ${JSON.stringify(payload.errors)}`);
        const delivery = payload.data?.messageAdded;
        if (!delivery) return;
        if (this.lastSeq >= 0) {
          if (delivery.seq <= this.lastSeq) this.backwards++;
          else if (delivery.seq !== this.lastSeq + 1) this.gaps++;
        }
        if (delivery.seq > this.lastSeq) this.lastSeq = delivery.seq;
        this.deliveries++;
        this.onDelivery(this, delivery, at);
        return;
      }
      case 'error':
        this.problems.push(`error: ${JSON.stringify(message.payload)}`);
        return;
      case 'complete':
        this.problems.push('complete');
        return;
      default:
        this.problems.push(`unexpected message ${message.type}`);
    }
  }

  private closing = false;

  subscribe(query: string, variables: Record<string, unknown>): void {
    this.socket!.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
  }

  /** Closes the socket; resolves once closed (terminates after timeoutMs). */
  close(timeoutMs = 5000): Promise<void> {
    const socket = this.socket;
    this.closing = true;
    if (!socket || socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        socket.terminate();
        resolve();
      }, timeoutMs);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.close(1000, 'bench done');
    });
  }
}

export interface HttpResult {
  status: number;
  json: unknown;
}

/** A keep-alive HTTP client for POST /graphql (one connection per request in flight, reused). */
export function createPoster(url: string, maxSockets: number) {
  const agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const target = new URL(url);
  const post = (body: string, token: string | null, timeoutMs = 30_000): Promise<HttpResult> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/graphql-response+json, application/json',
            'content-length': Buffer.byteLength(body),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            try {
              resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) });
            } catch {
              reject(new Error(`HTTP ${res.statusCode}: not JSON: ${text.slice(0, 200)}`));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`request timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });

  /** A GraphQL operation; throws on transport errors or GraphQL errors, returns data. */
  const graphql = async <Data>(query: string, variables: Record<string, unknown>, token: string | null): Promise<Data> => {
    const { status, json } = await post(JSON.stringify({ query, variables }), token);
    const result = json as { data?: Data; errors?: { message: string; extensions?: { code?: string } }[] };
    if (result.errors?.length || !result.data) {
      throw new Error(`GraphQL ${status}: ${JSON.stringify(result.errors ?? result).slice(0, 500)}`);
    }
    return result.data;
  };

  return { post, graphql, close: () => agent.destroy() };
}

/** One GraphQL operation as a sender sends it (the POST body, or a graphql-ws subscribe payload). */
export interface Operation {
  query: string;
  variables: Record<string, unknown>;
}

/**
 * A sender that carries its operations over one graphql-ws socket, as a client that keeps everything
 * on one connection does: each operation is a `subscribe` message answered by one `next` (or an
 * `error`) and a `complete`; many are in flight on the socket at once.
 */
export class SocketSender {
  private socket: WebSocket | null = null;
  private nextId = 0;
  private readonly pending = new Map<string, { resolve: (result: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();

  constructor(
    private readonly url: string,
    private readonly token: string | null,
  ) {}

  /** Opens the socket and completes the connection_init / connection_ack handshake. */
  async connect(timeoutMs = 20_000): Promise<void> {
    this.socket = await openGraphqlWs(this.url, this.token, 'sender', timeoutMs, {
      message: (message) => {
        const waiting = message.id === undefined ? undefined : this.pending.get(message.id);
        if (!waiting || (message.type !== 'next' && message.type !== 'error')) return;
        this.settle(message.id!);
        if (message.type === 'next') waiting.resolve(message.payload);
        else waiting.reject(new Error(`error: ${JSON.stringify(message.payload).slice(0, 300)}`));
      },
      lost: (reason) => this.failAll(new Error(`sender socket ${reason}`)),
    });
  }

  /** Sends one operation; resolves with its result (the `next` payload). */
  send(operation: Operation, timeoutMs = 30_000): Promise<unknown> {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return Promise.reject(new Error('sender socket not open'));
    const id = String(++this.nextId);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`operation timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: operation }));
    });
  }

  close(): void {
    this.socket?.close(1000, 'bench done');
  }

  private settle(id: string): void {
    clearTimeout(this.pending.get(id)?.timer);
    this.pending.delete(id);
  }

  private failAll(error: Error): void {
    for (const [id, waiting] of this.pending) {
      this.settle(id);
      waiting.reject(error);
    }
  }
}

/** A graphql-transport-ws message as the bench clients read it. */
interface ProtocolMessage {
  type: string;
  id?: string;
  payload?: unknown;
}

/**
 * Opens a graphql-transport-ws socket with the token in connectionParams.authToken and completes the
 * connection_init / connection_ack handshake; pings are answered. After the ack, every other message
 * goes to `message`, and an error or close of the socket to `lost`.
 */
function openGraphqlWs(
  url: string,
  token: string | null,
  label: string,
  timeoutMs: number,
  on: { message(message: ProtocolMessage): void; lost(reason: string): void },
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
    let acked = false;
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`${label}: no connection_ack within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('open', () => {
      socket.send(JSON.stringify({ type: 'connection_init', payload: token ? { authToken: token } : {} }));
    });
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as ProtocolMessage;
      if (message.type === 'ping') socket.send('{"type":"pong"}');
      else if (message.type === 'connection_ack') {
        acked = true;
        clearTimeout(timer);
        resolve(socket);
      } else if (message.type !== 'pong') on.message(message);
    });
    socket.on('error', (error) => {
      if (acked) return on.lost(`socket error: ${error.message}`);
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', (code, reason) => {
      if (acked) return on.lost(`closed ${code} ${reason.toString()}`);
      clearTimeout(timer);
      reject(new Error(`${label}: closed before ack: ${code} ${reason.toString()}`));
    });
  });
}
