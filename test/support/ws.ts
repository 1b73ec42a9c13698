import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { GraphQLErrorJson } from './server.js';

export interface SocketClient {
  client: Client;
  /** Resolves with the close event's code once the socket closes. */
  closed: Promise<{ code: number; reason: string }>;
  /** Every text frame the server sent, as it arrived. */
  frames: string[];
  /** `extensions` go in the subscribe message's payload (GraphiQL puts its headers in `extensions.headers`). */
  subscribe<Data, Variables>(
    document: TypedDocumentNode<Data, Variables>,
    variables?: Variables,
    extensions?: Record<string, unknown>,
  ): Subscription<Data>;
  /** A query or mutation over the socket: its one result, or the errors of the server's `error` message. */
  execute<Data, Variables>(
    document: TypedDocumentNode<Data, Variables>,
    variables?: Variables,
    extensions?: Record<string, unknown>,
  ): Promise<{ data?: Data | null; errors?: GraphQLErrorJson[] }>;
  dispose(): Promise<void>;
}

/** Where the socket carries a token: a bare token goes in connectionParams.authToken. */
export type SocketAuth = string | { connectionParams?: Record<string, unknown>; headers?: Record<string, string> };

export interface Subscription<Data> {
  /** The next payload, in order; rejects after timeoutMs. */
  next(timeoutMs?: number): Promise<{ data?: Data | null; errors?: GraphQLErrorJson[] }>;
  /** Everything received so far and not yet taken by next(). */
  pending(): { data?: Data | null; errors?: GraphQLErrorJson[] }[];
  /** Resolves when the server completes the subscription (or it errors). */
  done: Promise<{ error?: unknown }>;
  unsubscribe(): void;
}

/** A graphql-ws client on the test server, connected (and acknowledged) before this resolves. */
export async function connectSocket(wsUrl: string, auth?: SocketAuth): Promise<SocketClient> {
  let resolveClosed!: (value: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (resolveClosed = resolve));
  const { connectionParams = {}, headers = {} } = typeof auth === 'string' ? { connectionParams: { authToken: auth } } : (auth ?? {});
  const frames: string[] = [];
  const client = createClient({
    url: wsUrl,
    webSocketImpl: class extends WebSocket {
      constructor(url: string, protocols: string | string[]) {
        super(url, protocols, { headers });
        this.on('message', (data: Buffer) => frames.push(String(data)));
      }
    },
    connectionParams,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {},
    on: {
      closed: (event) => {
        const close = event as { code: number; reason: string };
        resolveClosed({ code: close.code, reason: String(close.reason) });
      },
    },
  });
  await new Promise<void>((resolve, reject) => {
    const offConnected = client.on('connected', () => {
      offConnected();
      resolve();
    });
    void closed.then((event) => reject(new Error(`socket closed before ack: ${event.code} ${event.reason}`)));
  });
  return {
    client,
    closed,
    frames,
    subscribe: (document, variables, extensions) => subscribe(client, document, variables, extensions),
    execute: (document, variables, extensions) => execute(client, document, variables, extensions),
    dispose: async () => {
      await client.dispose();
    },
  };
}

function subscribe<Data, Variables>(
  client: Client,
  document: TypedDocumentNode<Data, Variables>,
  variables?: Variables,
  extensions?: Record<string, unknown>,
): Subscription<Data> {
  type Result = { data?: Data | null; errors?: GraphQLErrorJson[] };
  const queue: Result[] = [];
  const waiters: ((result: Result) => void)[] = [];
  let finish!: (value: { error?: unknown }) => void;
  const done = new Promise<{ error?: unknown }>((resolve) => (finish = resolve));
  const unsubscribe = client.subscribe<Data>(
    { query: print(document), variables: (variables ?? {}) as Record<string, unknown>, ...(extensions ? { extensions } : {}) },
    {
      next: (value) => {
        const result = value as Result;
        const waiter = waiters.shift();
        if (waiter) waiter(result);
        else queue.push(result);
      },
      error: (error) => finish({ error }),
      complete: () => finish({}),
    },
  );
  return {
    next: (timeoutMs = 5000) => {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(onResult), 1);
          reject(new Error(`no subscription payload within ${timeoutMs} ms`));
        }, timeoutMs);
        const onResult = (result: Result) => {
          clearTimeout(timer);
          resolve(result);
        };
        waiters.push(onResult);
      });
    },
    pending: () => queue.splice(0),
    done,
    unsubscribe,
  };
}

function execute<Data, Variables>(
  client: Client,
  document: TypedDocumentNode<Data, Variables>,
  variables?: Variables,
  extensions?: Record<string, unknown>,
): Promise<{ data?: Data | null; errors?: GraphQLErrorJson[] }> {
  return new Promise((resolve, reject) => {
    let result: { data?: Data | null; errors?: GraphQLErrorJson[] } | undefined;
    client.subscribe<Data>(
      { query: print(document), variables: (variables ?? {}) as Record<string, unknown>, ...(extensions ? { extensions } : {}) },
      {
        next: (value) => (result = value as typeof result),
        // An `error` message carries GraphQL errors; anything else is the socket closing.
        error: (error) => (Array.isArray(error) ? resolve({ errors: error as GraphQLErrorJson[] }) : reject(error)),
        complete: () => (result ? resolve(result) : reject(new Error('completed without a result'))),
      },
    );
  });
}

/** Subscribes and waits until the server listens to `topics` more topics for it, so nothing sent next is missed. */
export async function subscribeReady<Data, Variables>(
  bus: { activeSubscriptions(): number },
  socket: SocketClient,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
  topics = 1,
): Promise<Subscription<Data>> {
  const before = bus.activeSubscriptions();
  const subscription = socket.subscribe(document, variables);
  for (let waited = 0; bus.activeSubscriptions() < before + topics; waited += 10) {
    if (waited > 5000) throw new Error('the server did not start listening within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return subscription;
}

/** A graphql-transport-ws protocol message as the server sends it. */
export interface ProtocolFrame {
  type: string;
  id?: string;
  payload?: { data?: unknown; errors?: GraphQLErrorJson[] } | GraphQLErrorJson[] | Record<string, unknown>;
}

export interface RawSocket {
  socket: WebSocket;
  /** Every message the server sent, parsed, as it arrived. */
  received: ProtocolFrame[];
  /** Resolves with the close code once the socket closes. */
  closed: Promise<number>;
  /** Waits until the messages received so far satisfy done (or the socket closes); returns them all. */
  until(done: (messages: ProtocolFrame[]) => boolean, timeoutMs?: number): Promise<ProtocolFrame[]>;
}

/**
 * A bare graphql-transport-ws socket for what graphql-ws's client never sends (frames of any text);
 * with init, it sends connection_init (with the token, if any) and waits for the ack.
 */
export async function rawSocket(wsUrl: string, options: { token?: string; init?: boolean } = {}): Promise<RawSocket> {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  const received: ProtocolFrame[] = [];
  const waiters: (() => void)[] = [];
  const wake = () => waiters.splice(0).forEach((resolve) => resolve());
  socket.on('message', (data: Buffer) => {
    received.push(JSON.parse(String(data)) as ProtocolFrame);
    wake();
  });
  let isClosed = false;
  const closed = new Promise<number>((resolve) =>
    socket.once('close', (code) => {
      isClosed = true;
      wake();
      resolve(code);
    }),
  );
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const until: RawSocket['until'] = async (done, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!done(received) && !isClosed) {
      if (Date.now() > deadline) throw new Error(`timed out; received ${JSON.stringify(received.slice(-3))}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return received;
  };
  if (options.init ?? true) {
    socket.send(JSON.stringify({ type: 'connection_init', payload: options.token ? { authToken: options.token } : {} }));
    await until((messages) => messages.some((message) => message.type === 'connection_ack'));
  }
  return { socket, received, closed, until };
}
