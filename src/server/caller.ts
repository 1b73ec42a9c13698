import type { IncomingMessage } from 'node:http';

/**
 * The client's network address, for per-address limits and logs. Behind `trustedProxies` reverse
 * proxies (TRUST_PROXY), each appends the address it received the request from to X-Forwarded-For,
 * so the client is that many entries from the right; without trusted proxies the header is whatever
 * the client wrote and is ignored.
 */
export function clientAddress(request: IncomingMessage, trustedProxies: number): string {
  const peer = normalizeAddress(request.socket.remoteAddress ?? 'unknown');
  if (trustedProxies === 0) return peer;
  const header = request.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  // The chain as the last trusted proxy saw it: forwarded entries, then that proxy itself (the peer).
  const chain = [...forwarded, peer];
  return normalizeAddress(chain[Math.max(0, chain.length - 1 - trustedProxies)]!);
}

/** IPv4 clients of a dual-stack socket appear as ::ffff:a.b.c.d; one client, one key. */
const normalizeAddress = (address: string): string => address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
