import { execute } from 'graphql';
import { createYoga, useExecutionCancellation, type Plugin, type YogaInitialContext } from 'graphql-yoga';
import type { App } from '../app.js';
import { createContext, type Context } from '../context.js';
import { documentLimits, parseCaches } from '../limits/documents.js';
import type { Logger } from '../logger.js';
import { schema } from '../schema.js';
import { identifyCaller, type Caller } from './caller.js';
import { createMaskError, useContractCodesForInvalidDocuments } from './errors.js';
import { graphiqlOptions, renderGraphiQLPage } from './graphiql.js';
import { useOperationRecords, type RequestNotes } from './operation-records.js';
import { useMalformedRequestsAsBadInput } from './request-parsing.js';
import { useStreamsEndWithTheirSession } from './session-bound-streams.js';

/** What a graphql-ws operation brings into yoga's context: who is calling, as websocket.ts resolved it, and the socket's logger. */
export interface SocketContext {
  caller: Caller;
  log: Logger;
  /** The upgrade request's User-Agent header. */
  userAgent: string | null;
}

/** What http.ts hands yoga with each request. */
export interface HttpServerContext {
  clientAddress: string;
  /** The request's logger (its lines carry the request id). */
  log: Logger;
  /** Filled in for the request's log line. */
  notes: RequestNotes;
}

/**
 * Queries and mutations run on graphql-js's executor, as subscriptions' events already do
 * (shared-execution.ts), rather than yoga's default @graphql-tools/executor, whose @defer/@stream
 * support the schema does not use. Subscriptions start on yoga's.
 */
const useGraphqlJsExecute: Plugin = { onExecute: ({ setExecuteFn }) => setExecuteFn(execute) };

export function createGraphQLHandler(app: App) {
  const { limits } = app.config;
  return createYoga<Partial<SocketContext & HttpServerContext>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // http.ts bounds the body before yoga sees it (413 with the contract's PAYLOAD_TOO_LARGE); yoga's
    // own limit would stream every body through a second check.
    maxRequestBodySize: false,
    parserAndValidationCache: parseCaches(),
    // File uploads (uploadAttachment): the GraphQL multipart request spec, bounded by http.ts.
    multipart: true,
    // Browsers get GraphiQL at /graphql, every asset served by this process (http.ts), with
    // subscriptions over graphql-ws on the same path.
    graphiql: graphiqlOptions,
    renderGraphiQL: renderGraphiQLPage,
    // Internal errors are logged, in full, with their request's logger (see operation-records.ts) or
    // by maskError; client errors are not worth a log line.
    logging: false,
    maskedErrors: { maskError: createMaskError(app.logger) },
    context: async (initial: YogaInitialContext & Partial<SocketContext & HttpServerContext>) => {
      const caller =
        initial.caller ??
        (await identifyCaller(app.tokens, initial.clientAddress ?? 'unknown', {
          authorization: initial.request.headers.get('authorization'),
        }));
      const userAgent = initial.caller ? (initial.userAgent ?? null) : initial.request.headers.get('user-agent');
      return createContext(app, caller.viewer, caller.clientAddress, initial.log ?? app.logger, userAgent);
    },
    plugins: [
      useGraphqlJsExecute,
      documentLimits(limits),
      useContractCodesForInvalidDocuments(),
      useMalformedRequestsAsBadInput(),
      useOperationRecords(app.metrics),
      // A server-sent-events subscription whose client left (http.ts aborts it) ends and lets go of
      // its topics instead of outliving its connection. (A query or mutation runs to its end:
      // graphql-js does not read the signal; its answer is dropped.)
      useExecutionCancellation(),
      useStreamsEndWithTheirSession(app.sessions),
    ],
  });
}

export type GraphQLHandler = ReturnType<typeof createGraphQLHandler>;
