import { GraphQLError } from 'graphql';

/** The error codes of the API contract (extensions.code). */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  CONFLICT: 'CONFLICT',
  RATE_LIMITED: 'RATE_LIMITED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** A dependency (database, Redis) is unreachable: the same request may succeed if retried later. */
  UNAVAILABLE: 'UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const contractCodes = new Set<string>(Object.values(ErrorCode));
export const isContractCode = (code: unknown): code is ErrorCode =>
  typeof code === 'string' && contractCodes.has(code);

/** An expected, client-caused failure. Shown to the client as is; never masked. */
export class ParleyError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extra, code } });
  }
}

/**
 * extensions.retryAfter for every client; extensions.http is read by yoga for the HTTP status and
 * headers and removed from the body (WebSocket frames drop it too, see server/errors.ts).
 */
function retryable(status: number, retryAfter: number) {
  const seconds = Math.max(1, Math.ceil(retryAfter));
  return { retryAfter: seconds, http: { status, headers: { 'retry-after': String(seconds) } } };
}

/** The catalogue: every expected failure is made here, so codes and wording stay consistent. */
export const fail = {
  unauthenticated: (message = 'Sign in first: send a valid token as "Authorization: Bearer <token>".') =>
    new ParleyError(ErrorCode.UNAUTHENTICATED, message),
  badCredentials: () => new ParleyError(ErrorCode.UNAUTHENTICATED, 'Wrong username or password.'),
  tokenExpired: () => new ParleyError(ErrorCode.UNAUTHENTICATED, 'Your token has expired: log in again.'),
  /** The token's session was ended (log-out, password change, from another device), or it predates sessions. */
  sessionEnded: () => new ParleyError(ErrorCode.UNAUTHENTICATED, 'This session has ended: log in again.'),
  forbidden: (message = 'You are not allowed to do that.') => new ParleyError(ErrorCode.FORBIDDEN, message),
  notFound: (what: string) => new ParleyError(ErrorCode.NOT_FOUND, `${what} was not found.`),
  badInput: (message: string, field?: string) =>
    new ParleyError(ErrorCode.BAD_USER_INPUT, message, field ? { field } : {}),
  conflict: (message: string) => new ParleyError(ErrorCode.CONFLICT, message),
  /** retryAfter: whole seconds until the same request may succeed (HTTP 429 with Retry-After). */
  rateLimited: (retryAfter: number, message = 'Too many requests: slow down and try again shortly.') =>
    new ParleyError(ErrorCode.RATE_LIMITED, message, retryable(429, retryAfter)),
  /** No retryAfter: the limit lifts when the client closes one of its sockets, not after a time. */
  tooManySockets: (limit: number) =>
    new ParleyError(ErrorCode.RATE_LIMITED, `Too many connections from your address (at most ${limit}): close one first.`),
  tooManySubscriptions: (limit: number) =>
    new ParleyError(ErrorCode.RATE_LIMITED, `This connection has ${limit} subscriptions, the most it may: complete one first.`),
  /** A dependency is unreachable; nothing was changed that a retry would duplicate (HTTP 503 with Retry-After). */
  unavailable: (retryAfter: number, message = 'The service is briefly unavailable: try again shortly.') =>
    new ParleyError(ErrorCode.UNAVAILABLE, message, retryable(503, retryAfter)),
  /** A request the server cannot read (its JSON, its parameters): HTTP 400 whatever the client accepts. */
  malformedRequest: (message: string) => new ParleyError(ErrorCode.BAD_USER_INPUT, message, { http: { status: 400 } }),
  /**
   * Ends a subscription when the server stops (in a stream whose HTTP status, if any, is long sent:
   * retryAfter alone).
   */
  shuttingDown: () =>
    new ParleyError(
      ErrorCode.UNAVAILABLE,
      'The server is shutting down: subscribe again (with afterSeq to resume where you left off).',
      { retryAfter: 1 },
    ),
  payloadTooLarge: (limit: number) =>
    new ParleyError(ErrorCode.PAYLOAD_TOO_LARGE, `The request is larger than the limit of ${limit} bytes.`),
  fileTooLarge: (limit: number) =>
    new ParleyError(ErrorCode.PAYLOAD_TOO_LARGE, `A file must be at most ${limit} bytes (MAX_FILE_BYTES).`, { field: 'file' }),
};
