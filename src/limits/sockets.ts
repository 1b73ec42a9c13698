import type { IncomingMessage } from 'node:http';
import { CloseCode } from 'graphql-ws';
import type { GraphQLError } from 'graphql';
import type { WebSocket } from 'ws';
import type { RateLimitSettings } from '../config.js';
import { fail } from '../errors.js';
import type { ConnectionLimits } from './connections.js';
import type { RefusalCounter } from './rates.js';

/** What one WebSocket may hold: how long it may stay anonymous, and how many subscriptions. */
export interface SocketGuard {
  /** An operation (or the connection) proved a user: the socket is no longer anonymous. */
  signedIn(): void;
  /**
   * Admits subscription `id`, or answers the error that refuses it. `operations` is graphql-ws's own
   * record of the socket's operations, so subscriptions that ended in any way no longer count.
   */
  admitSubscription(id: string, operations: Readonly<Record<string, unknown>>): GraphQLError | null;
  /** The socket closed. */
  release(): void;
}

/**
 * The limits of the WebSocket transport. The rate limits of what sockets do are the use cases' own
 * (rates.ts), the same as over HTTP.
 */
export function createSocketLimits(
  settings: RateLimitSettings,
  connections: ConnectionLimits,
  addressOf: (request: IncomingMessage) => string,
  refused: RefusalCounter,
) {
  return {
    /**
     * ws's verifyClient: refuses the upgrade (HTTP 429, RATE_LIMITED) of an address that already has
     * socketsPerAddress connections open. Counted from here until the connection closes, whether or
     * not the upgrade completes.
     */
    verifyClient(
      info: { req: IncomingMessage },
      accept: (verified: boolean, status?: number, body?: string, headers?: Record<string, string>) => void,
    ): void {
      if (connections.admit(addressOf(info.req), info.req.socket)) return accept(true);
      accept(false, 429, JSON.stringify({ errors: [connections.refusal().toJSON()] }), { 'Content-Type': 'application/json' });
    },

    /** Starts the socket's anonymous grace: closed with 4401 unless signedIn() comes first. */
    guard(socket: WebSocket): SocketGuard {
      if (!settings.enabled) return unguarded;
      let grace: NodeJS.Timeout | undefined = setTimeout(() => {
        const seconds = settings.anonymousSocketGraceMs / 1000;
        socket.close(CloseCode.Unauthorized, `Sign in within ${seconds} s: send a token with connection_init or an operation`);
      }, settings.anonymousSocketGraceMs);
      const subscriptions = new Set<string>();
      return {
        signedIn() {
          clearTimeout(grace);
          grace = undefined;
        },
        admitSubscription(id, operations) {
          for (const open of subscriptions) if (!(open in operations)) subscriptions.delete(open);
          if (subscriptions.size >= settings.subscriptionsPerSocket) {
            refused('subscriptionsPerSocket');
            return fail.tooManySubscriptions(settings.subscriptionsPerSocket);
          }
          subscriptions.add(id);
          return null;
        },
        release() {
          clearTimeout(grace);
          subscriptions.clear();
        },
      };
    },
  };
}

const unguarded: SocketGuard = { signedIn: () => {}, admitSubscription: () => null, release: () => {} };
