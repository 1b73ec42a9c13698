import { GraphQLError } from 'graphql';
import { fail } from '../errors.js';
import { Prisma } from '../generated/prisma/client.js';

/**
 * Recognises a dependency outage (PostgreSQL or Redis unreachable, restarting or out of connections)
 * among the errors a request can end with, so that masking answers it as UNAVAILABLE ("retry
 * later") instead of INTERNAL_SERVER_ERROR ("a bug"). Only connection-level failures count: a
 * query PostgreSQL rejects, or any other error, stays an internal error.
 */

/** Retry-After (seconds) of an outage: about what a PostgreSQL or Redis restart takes. */
export const OUTAGE_RETRY_AFTER_SECONDS = 2;

/** Prisma's codes for a connection that could not be made, timed out, closed, or was refused for lack of slots. */
const PRISMA_CONNECTION_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2037']);

/** What @prisma/adapter-pg reports a lost or refused connection as (DriverAdapterError's cause.kind). */
const ADAPTER_CONNECTION_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);

/**
 * SQLSTATEs of a server that is unreachable or going away: class 08 (connection exception),
 * 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting or shutting down),
 * 53300 too_many_connections.
 */
const isOutageSqlState = (code: string) => /^08[0-9A-Z]{3}$/.test(code) || ['57P01', '57P02', '57P03', '53300'].includes(code);

/** Socket errors of a peer that is down or cut off. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** Errors node-postgres and ioredis raise, without a code, when the connection is gone or never came. */
const CONNECTION_MESSAGES = [
  // node-postgres
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  // ioredis (realtime/redis.ts: commands fail at once while the client reconnects, and time out)
  'Connection is closed.',
  "Stream isn't writeable and enableOfflineQueue options is false",
  'Command timed out',
];

/** True when error, or anything it wraps, is a dependency outage. */
export function isOutage(error: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (candidate: unknown): boolean => {
    if (typeof candidate !== 'object' || candidate === null || seen.has(candidate)) return false;
    seen.add(candidate);
    if (candidate instanceof GraphQLError) return visit(candidate.originalError);
    if (isOutageItself(candidate)) return true;
    const wrapped: unknown[] = [(candidate as { cause?: unknown }).cause];
    if (candidate instanceof Prisma.PrismaClientKnownRequestError) wrapped.push(candidate.meta?.driverAdapterError);
    if (candidate instanceof AggregateError) wrapped.push(...(candidate.errors as unknown[]));
    return wrapped.some(visit);
  };
  return visit(error);
}

function isOutageItself(error: object): boolean {
  if (error instanceof Prisma.PrismaClientKnownRequestError) return PRISMA_CONNECTION_CODES.has(error.code);
  if (error instanceof Prisma.PrismaClientInitializationError) return PRISMA_CONNECTION_CODES.has(error.errorCode ?? '');
  const { name, code, kind, originalCode, message } = error as Record<string, unknown>;
  // DriverAdapterError's cause: { kind, originalCode? }.
  if (typeof kind === 'string' && ADAPTER_CONNECTION_KINDS.has(kind)) return true;
  if (typeof originalCode === 'string' && isOutageSqlState(originalCode)) return true;
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || isOutageSqlState(code))) return true;
  if (name === 'MaxRetriesPerRequestError') return true;
  return typeof message === 'string' && CONNECTION_MESSAGES.includes(message);
}

/** The UNAVAILABLE error a client gets instead of error, at the same place in the response. */
export function asUnavailable(error: unknown): GraphQLError {
  const unavailable = fail.unavailable(OUTAGE_RETRY_AFTER_SECONDS);
  if (!(error instanceof GraphQLError)) return unavailable;
  return new GraphQLError(unavailable.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: unavailable.extensions,
  });
}
