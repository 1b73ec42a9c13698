import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { Limits } from '../config.js';

/**
 * The shape limits of a GraphQL document (MAX_QUERY_DEPTH, MAX_ALIASES, MAX_TOKENS, MAX_COST), checked
 * as yoga parses and validates it, for HTTP and graphql-ws alike. Request sizes are bounded before a
 * document is read: MAX_BODY_BYTES in server/http.ts, MAX_WS_PAYLOAD_BYTES by the ws server.
 */
export function documentLimits(limits: Limits) {
  return EnvelopArmorPlugin({
    maxDepth: { n: limits.maxQueryDepth, ignoreIntrospection: true },
    maxAliases: { n: limits.maxAliases },
    maxTokens: { n: limits.maxTokens },
    costLimit: { maxCost: limits.maxCost, ignoreIntrospection: true },
    maxDirectives: { n: 50 },
    // Suggestions help in GraphiQL and reveal nothing the introspectable schema doesn't.
    blockFieldSuggestion: { enabled: false },
  });
}
