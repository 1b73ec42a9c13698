import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError, type Plugin } from 'graphql-yoga';
import { ErrorCode, fail, isContractCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { asUnavailable, isOutage } from './outages.js';

const rootCause = (error: unknown): unknown => {
  let cause = error;
  while (cause instanceof GraphQLError && cause.originalError) cause = cause.originalError;
  return cause;
};

/** Root causes already logged with their request's logger: masking does not log them again. */
const logged = new WeakSet<object>();

/**
 * Logs the internal errors among errors (those masking will hide from the client) in full, with the
 * request's logger so the line carries its request id. Client errors are not worth a log line.
 */
export function logInternalErrors(log: Logger, errors: readonly unknown[]): void {
  for (const error of errors) {
    if (error instanceof GraphQLError && isClientError(error)) continue;
    const cause = rootCause(error);
    if (typeof cause === 'object' && cause !== null) {
      if (logged.has(cause)) continue;
      logged.add(cause);
    }
    const path = error instanceof GraphQLError ? error.path : undefined;
    log.error({ err: cause, path }, isOutage(cause) ? 'dependency unavailable' : 'internal error');
  }
}

/**
 * Errors a client caused (ours, and graphql-js's parse, validation and variable errors) reach the
 * client with a contract code; a dependency outage becomes UNAVAILABLE (retry later); anything else
 * is masked. Both are logged unless their request logged them.
 */
export function createMaskError(logger: Logger) {
  return (error: unknown, message: string): Error => {
    if (error instanceof GraphQLError && isClientError(error)) {
      if (isContractCode(error.extensions.code) && !error.extensions.originalError) return error;
      return withCode(error, ErrorCode.BAD_USER_INPUT);
    }
    logInternalErrors(logger, [error]);
    if (isOutage(error)) return asUnavailable(error);
    return yogaMaskError(error, message, false);
  };
}

/** Ours and graphql-js's own errors, and yoga's 4xx request errors (bad JSON, bad method, ...). */
function isClientError(error: GraphQLError): boolean {
  if (rootCause(error) instanceof GraphQLError) return true;
  const http = error.extensions.http as { status?: number } | undefined;
  return http?.status !== undefined && http.status < 500;
}

export function withCode(error: GraphQLError, code: ErrorCode): GraphQLError {
  // originalError (yoga adds it for request errors) is an internal detail.
  return withExtensions(error, { ...error.extensions, originalError: undefined, code });
}

function withExtensions(error: GraphQLError, extensions: GraphQLError['extensions']): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions,
  });
}

/** Parse and validation errors (graphql-armor's limits included) are the client's: BAD_USER_INPUT. */
export function useContractCodesForInvalidDocuments(): Plugin {
  const asBadInput = (error: Error) =>
    !(error instanceof GraphQLError) || isContractCode(error.extensions.code)
      ? error
      : withCode(error, ErrorCode.BAD_USER_INPUT);
  return {
    onParse: () => ({ result, replaceParseResult }) => {
      if (result instanceof GraphQLError) replaceParseResult(asBadInput(result));
      // graphql-js parses recursively: a document nested thousands deep (MAX_TOKENS raised far above
      // its default) overflows the call stack before any limit sees it.
      if (result instanceof RangeError) replaceParseResult(fail.badInput('The document is nested too deeply to be read.'));
    },
    onValidate: () => ({ result, setResult }) => {
      if (result.length > 0) setResult(result.map(asBadInput));
    },
  };
}

/**
 * An error as a WebSocket frame carries it: a contract code (graphql-ws's own protocol errors,
 * such as an unknown operation name, have none: they are the client's), and none of what yoga
 * strips from HTTP bodies: extensions.http (a status and headers mean nothing on a socket) and
 * extensions.unexpected (its mark on masked errors).
 */
export function forSocket(error: GraphQLError): GraphQLError {
  const { http, unexpected, ...extensions } = error.extensions;
  if (http === undefined && unexpected === undefined && isContractCode(extensions.code)) return error;
  return withExtensions(error, { ...extensions, code: isContractCode(extensions.code) ? extensions.code : ErrorCode.BAD_USER_INPUT });
}
