import type { IncomingMessage } from 'node:http';
import { CloseCode } from 'graphql-ws';
import type { GraphQLError } from 'graphql';
import type { WebSocket } from 'ws';
import type { RateLimitSettings } from '../config.js';
import { fail } from '../errors.js';

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
 * The limits of the WebSocket transport (per instance: an address behind a load balancer may hold
 * this many sockets on each instance). The rate limits of what sockets do are the use cases' own
 * (rates.ts), the same as over HTTP.
 */
export function createSocketLimits(settings: RateLimitSettings, addressOf: (request: IncomingMessage) => string) {
  /** Open sockets by client address; an address leaves the map with its last socket. */
  const openByAddress = new Map<string, number>();
  return {
    /**
     * ws's verifyClient: refuses the upgrade (HTTP 429, RATE_LIMITED) of an address that already has
     * socketsPerAddress sockets open. Counted from here until the connection closes, whether or not
     * the upgrade completes.
     */
    verifyClient(
      info: { req: IncomingMessage },
      accept: (verified: boolean, status?: number, body?: string, headers?: Record<string, string>) => void,
    ): void {
      if (!settings.enabled) return accept(true);
      const address = addressOf(info.req);
      const open = openByAddress.get(address) ?? 0;
      if (open >= settings.socketsPerAddress) {
        const error = fail.tooManySockets(settings.socketsPerAddress);
        return accept(false, 429, JSON.stringify({ errors: [error.toJSON()] }), { 'Content-Type': 'application/json' });
      }
      openByAddress.set(address, open + 1);
      info.req.socket.once('close', () => {
        const left = (openByAddress.get(address) ?? 1) - 1;
        if (left > 0) openByAddress.set(address, left);
        else openByAddress.delete(address);
      });
      accept(true);
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
          if (subscriptions.size >= settings.subscriptionsPerSocket) return fail.tooManySubscriptions(settings.subscriptionsPerSocket);
          subscriptions.add(id);
          return null;
        },
        release() {
          clearTimeout(grace);
          subscriptions.clear();
        },
      };
    },

    /** Addresses with a socket open, and their sockets (what is held must return to nothing). */
    openSockets: () => ({ addresses: openByAddress.size, sockets: [...openByAddress.values()].reduce((sum, n) => sum + n, 0) }),
  };
}

export type SocketLimits = ReturnType<typeof createSocketLimits>;

const unguarded: SocketGuard = { signedIn: () => {}, admitSubscription: () => null, release: () => {} };
