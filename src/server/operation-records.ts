import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';
import { ErrorCode } from '../errors.js';
import { logInternalErrors } from './errors.js';
import { invalidOperation, operationKind, outcomeOf, type Metrics, type Transport } from './metrics.js';

/** What an HTTP request's log line learns from GraphQL (see http.ts). */
export interface RequestNotes {
  /** The operation's name, or its first root field when it has none. */
  operation?: string;
}

/** The part of the envelop context this plugin reads. */
interface RecordedContext {
  /** Present for graphql-ws operations (see websocket.ts), absent over HTTP. */
  extra?: unknown;
  notes?: RequestNotes;
  log?: Context['log'];
}

const transportOf = (context: RecordedContext): Transport => (context.extra ? 'ws' : 'http');

/**
 * Records every operation yoga parses, validates or executes, over HTTP and for graphql-ws queries
 * and mutations (graphql-ws subscriptions are recorded in websocket.ts): its outcome in the
 * operations metric, its name in the HTTP request's notes, and its internal errors in the log with
 * the request's logger, before masking hides them.
 */
export function useOperationRecords(metrics: Metrics): Plugin<RecordedContext> {
  return {
    onParse: () => ({ result, context }) => {
      if (result instanceof Error) metrics.operation(transportOf(context), invalidOperation, ErrorCode.BAD_USER_INPUT);
    },
    onValidate: () => ({ result, context }) => {
      if (result.length > 0) metrics.operation(transportOf(context), invalidOperation, ErrorCode.BAD_USER_INPUT);
    },
    onExecute: ({ args }) => {
      const context = args.contextValue as RecordedContext;
      const kind = operationKind(args.document, args.operationName);
      if (context.notes) context.notes.operation = kind.name;
      return {
        onExecuteDone: ({ result }) => {
          // Incremental delivery (@defer/@stream) is not enabled: a result is always a single one.
          if (isAsyncIterable(result)) return;
          if (result.errors && context.log) logInternalErrors(context.log, result.errors);
          metrics.operation(transportOf(context), kind, outcomeOf(result));
        },
      };
    },
    // Subscriptions over HTTP (server-sent events).
    onSubscribe: ({ args }) => {
      const context = args.contextValue as RecordedContext;
      const kind = operationKind(args.document, args.operationName);
      if (context.notes) context.notes.operation = kind.name;
      return {
        onSubscribeResult: ({ result }) => {
          metrics.operation(transportOf(context), kind, isAsyncIterable(result) ? 'OK' : outcomeOf(result));
        },
        onSubscribeError: ({ error }) => {
          metrics.operation(transportOf(context), kind, outcomeOf({ errors: [error as never] }));
        },
      };
    },
  };
}
