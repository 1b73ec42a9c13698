import { createClient as createSocketClient, type Client as SocketClient } from 'graphql-ws';
import { Client, fetchExchange, mapExchange, subscriptionExchange } from 'urql';

export interface Api {
  /** Queries and mutations over HTTP, subscriptions over the socket. */
  client: Client;
  /** The graphql-ws connection (null when signed out): hooks watch it to resume after a reconnect. */
  socket: SocketClient | null;
}

/** graphql-ws closes with 4403 when the token is refused or expires. */
const FORBIDDEN_CLOSE = 4403;

/**
 * A client of this origin's /graphql. Signed in, it sends `Authorization: Bearer` over HTTP and
 * `connectionParams.authToken` on the socket, and calls onSessionEnded when the server refuses the token.
 * No document cache: every query asks the server, and the live parts come from subscriptions.
 */
export function createApi(token: string | null, onSessionEnded: () => void): Api {
  const socket = token ? connectSocket(token, onSessionEnded) : null;
  const client = new Client({
    url: '/graphql',
    preferGetMethod: false,
    fetchOptions: token ? { headers: { authorization: `Bearer ${token}` } } : {},
    exchanges: [
      mapExchange({
        onResult: (result) => {
          if (token && result.error?.graphQLErrors.some((error) => error.extensions.code === 'UNAUTHENTICATED')) onSessionEnded();
        },
      }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => {
            if (!socket) throw new Error('Subscriptions need a signed-in session.');
            return { unsubscribe: socket.subscribe({ ...request, query: request.query ?? '' }, sink) };
          },
        }),
      }),
    ],
  });
  return { client, socket };
}

function connectSocket(token: string, onSessionEnded: () => void): SocketClient {
  const url = new URL('/graphql', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return createSocketClient({
    url: url.href,
    connectionParams: { authToken: token },
    // A chat keeps trying: the subscriptions resume where they stopped (messageAdded with afterSeq).
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, backoffMs(retries))),
    on: {
      closed: (event) => {
        if ((event as CloseEvent).code === FORBIDDEN_CLOSE) onSessionEnded();
      },
    },
  });
}

/** 0.5 s, 1 s, 2 s … up to 10 s, each with up to half again at random so clients do not return in step. */
function backoffMs(retries: number): number {
  const base = Math.min(500 * 2 ** retries, 10_000);
  return base + Math.random() * base * 0.5;
}
