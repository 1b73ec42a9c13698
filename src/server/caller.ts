import type { IncomingMessage } from 'node:http';
import { fail } from '../errors.js';
import { bearerToken, type TokenService, type Viewer } from '../users/tokens.js';

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

/** Who is calling: the user a token proves (null: anonymous), and from which address. */
export interface Caller {
  viewer: Viewer | null;
  clientAddress: string;
}

/**
 * Every place a client may have put its token for one operation, most specific first:
 * 1. `operationHeaders`: the operation's own headers, a graphql-ws subscribe message's
 *    `extensions.headers` (GraphiQL sends its Headers tab there), `Authorization: "Bearer …"`;
 * 2. `connectionParams`: the graphql-ws connection_init payload, `authToken` (the token, or
 *    "Bearer …") or `Authorization` / `authorization` ("Bearer …");
 * 3. `authorization`: the `Authorization` header of the HTTP request (on a WebSocket: of the upgrade request).
 */
export interface Credentials {
  operationHeaders?: unknown;
  connectionParams?: unknown;
  authorization?: string | null;
}

/**
 * The one answer to "who is calling", for HTTP requests and WebSocket operations alike. The most
 * specific place holding a token decides (an operation's own token wins over its socket's); an
 * absent or empty place is skipped, a malformed token or an invalid or expired one is refused with
 * UNAUTHENTICATED rather than skipped, so a client never runs as someone it did not mean to be.
 */
export async function identifyCaller(tokens: TokenService, clientAddress: string, credentials: Credentials): Promise<Caller> {
  const token =
    authorizationToken(credentials.operationHeaders) ??
    connectionToken(credentials.connectionParams) ??
    bearerToken(credentials.authorization);
  return { viewer: token ? await tokens.verify(token) : null, clientAddress };
}

/** connection_init's `authToken` (the bare token or "Bearer …"), else its Authorization entry. */
function connectionToken(params: unknown): string | null {
  const authToken = asText(isObject(params) ? params.authToken : undefined);
  if (authToken) return /^Bearer\s/i.test(authToken) ? bearerToken(authToken) : authToken;
  return authorizationToken(params);
}

/** The "Bearer …" Authorization entry of a JSON object of headers, whatever the case of its name. */
function authorizationToken(headers: unknown): string | null {
  if (!isObject(headers)) return null;
  const key = Object.keys(headers).find((name) => name.toLowerCase() === 'authorization');
  return key === undefined ? null : bearerToken(asText(headers[key]));
}

function asText(value: unknown): string | null {
  if (value === undefined || value === null || typeof value === 'string') return value ?? null;
  throw fail.unauthenticated('The token must be a string: "Bearer <token>".');
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
