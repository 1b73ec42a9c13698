import type { RateLimitSettings } from '../config.js';
import { fail } from '../errors.js';
import type { RefusalCounter } from './rates.js';

/** Something that says when it closes: a TCP socket, an HTTP response. */
interface Closable {
  once(event: 'close', listener: () => void): unknown;
}

/**
 * Long-lived connections per client address, per instance (an address behind a load balancer may
 * hold this many on each instance): WebSockets, and streamed HTTP responses (server-sent events),
 * which carry one subscription each.
 */
export function createConnectionLimits(settings: RateLimitSettings, refused: RefusalCounter) {
  /** Open connections by client address; an address leaves the map with its last connection. */
  const openByAddress = new Map<string, number>();
  return {
    /** Counts connection against the address until it closes; false (not counted) when the address has no room left. */
    admit(address: string, connection: Closable): boolean {
      if (!settings.enabled) return true;
      const open = openByAddress.get(address) ?? 0;
      if (open >= settings.socketsPerAddress) {
        refused('connectionsPerAddress');
        return false;
      }
      openByAddress.set(address, open + 1);
      connection.once('close', () => {
        const left = (openByAddress.get(address) ?? 1) - 1;
        if (left > 0) openByAddress.set(address, left);
        else openByAddress.delete(address);
      });
      return true;
    },
    /** Why a connection was refused (sent with HTTP 429). */
    refusal: () => fail.tooManySockets(settings.socketsPerAddress),
  };
}

export type ConnectionLimits = ReturnType<typeof createConnectionLimits>;
