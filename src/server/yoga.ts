import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { createYoga, type YogaInitialContext } from 'graphql-yoga';
import type { App } from '../app.js';
import { createContext, type Context } from '../context.js';
import type { Logger } from '../logger.js';
import { schema } from '../schema.js';
import { identifyCaller, type Caller } from './caller.js';
import { createMaskError, useContractCodesForInvalidDocuments } from './errors.js';
import { graphiqlOptions, renderGraphiQLPage } from './graphiql.js';
import { useOperationRecords, type RequestNotes } from './operation-records.js';
import { useMalformedRequestsAsBadInput } from './request-parsing.js';

/** What a graphql-ws operation brings into yoga's context: who is calling, as websocket.ts resolved it, and the socket's logger. */
export interface SocketContext {
  caller: Caller;
  log: Logger;
}

/** What http.ts hands yoga with each request. */
export interface HttpServerContext {
  clientAddress: string;
  /** The request's logger (its lines carry the request id). */
  log: Logger;
  /** Filled in for the request's log line. */
  notes: RequestNotes;
}

export function createGraphQLHandler(app: App) {
  const { limits } = app.config;
  return createYoga<Partial<SocketContext & HttpServerContext>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // http.ts bounds the body before yoga sees it (413 with the contract's PAYLOAD_TOO_LARGE); yoga's
    // own limit would stream every body through a second check.
    maxRequestBodySize: false,
    // No file uploads in the API: a multipart body is refused (415) rather than parsed.
    multipart: false,
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
      return createContext(app, caller.viewer, caller.clientAddress, initial.log ?? app.logger);
    },
    plugins: [
      EnvelopArmorPlugin({
        maxDepth: { n: limits.maxQueryDepth, ignoreIntrospection: true },
        maxAliases: { n: limits.maxAliases },
        maxTokens: { n: limits.maxTokens },
        costLimit: { maxCost: limits.maxCost, ignoreIntrospection: true },
        maxDirectives: { n: 50 },
        // Suggestions help in GraphiQL and reveal nothing the introspectable schema doesn't.
        blockFieldSuggestion: { enabled: false },
      }),
      useContractCodesForInvalidDocuments(),
      useMalformedRequestsAsBadInput(),
      useOperationRecords(app.metrics),
    ],
  });
}

export type GraphQLHandler = ReturnType<typeof createGraphQLHandler>;
