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

/** The catalogue: every expected failure is made here, so codes and wording stay consistent. */
export const fail = {
  unauthenticated: (message = 'Sign in first: send a valid token as "Authorization: Bearer <token>".') =>
    new ParleyError(ErrorCode.UNAUTHENTICATED, message),
  badCredentials: () => new ParleyError(ErrorCode.UNAUTHENTICATED, 'Wrong username or password.'),
  tokenExpired: () => new ParleyError(ErrorCode.UNAUTHENTICATED, 'Your token has expired: log in again.'),
  forbidden: (message = 'You are not allowed to do that.') => new ParleyError(ErrorCode.FORBIDDEN, message),
  notFound: (what: string) => new ParleyError(ErrorCode.NOT_FOUND, `${what} was not found.`),
  badInput: (message: string, field?: string) =>
    new ParleyError(ErrorCode.BAD_USER_INPUT, message, field ? { field } : {}),
  conflict: (message: string) => new ParleyError(ErrorCode.CONFLICT, message),
  rateLimited: (message = 'Too many requests: slow down and try again shortly.') =>
    new ParleyError(ErrorCode.RATE_LIMITED, message),
  payloadTooLarge: (limit: number) =>
    new ParleyError(ErrorCode.PAYLOAD_TOO_LARGE, `The request is larger than the limit of ${limit} bytes.`),
};
