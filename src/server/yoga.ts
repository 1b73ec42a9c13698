import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { createYoga, type YogaInitialContext } from 'graphql-yoga';
import type { App } from '../app.js';
import { createContext, type Context } from '../context.js';
import { schema } from '../schema.js';
import { bearerToken } from '../users/tokens.js';
import type { Viewer } from '../users/tokens.js';
import { createMaskError, useContractCodesForInvalidDocuments } from './errors.js';

/** What a graphql-ws operation brings into yoga's context: the viewer proven at connect, and the client's address. */
export interface SocketContext {
  extra: { viewer: Viewer | null; clientAddress: string };
}

/** What http.ts hands yoga with each request. */
export interface HttpServerContext {
  clientAddress: string;
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
    // Browsers get GraphiQL at /graphql, with subscriptions over graphql-ws on the same path.
    graphiql: { title: 'Parley', subscriptionsProtocol: 'WS' },
    // Internal errors are logged, in full, by maskError; client errors are not worth a log line.
    logging: false,
    maskedErrors: { maskError: createMaskError(app.logger) },
    context: async (initial: YogaInitialContext & Partial<SocketContext & HttpServerContext>) => {
      if (initial.extra) return createContext(app, initial.extra.viewer, initial.extra.clientAddress);
      const viewer = await viewerFromHeader(app, initial.request.headers.get('authorization'));
      return createContext(app, viewer, initial.clientAddress ?? 'unknown');
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
    ],
  });
}

export type GraphQLHandler = ReturnType<typeof createGraphQLHandler>;

async function viewerFromHeader(app: App, header: string | null): Promise<Viewer | null> {
  const token = bearerToken(header);
  return token ? app.tokens.verify(token) : null;
}
