import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { DocumentNode } from 'graphql';
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

/** Characters of document text each parse cache keeps at most (typical operations are well under 1,000). */
export const CACHED_DOCUMENT_CHARS = 8_000_000;
/** Documents each parse cache keeps at most (yoga's own default). */
export const CACHED_DOCUMENTS = 1024;

/**
 * yoga's parse caches (documents, and parse errors), bounded by the text they keep as well as by their
 * number: with yoga's defaults a client could park 1,024 documents of MAX_BODY_BYTES each (padded with a
 * comment, which is no token) in each cache for an hour.
 */
export function parseCaches() {
  return { documentCache: new TextBoundedCache<DocumentNode>(), errorCache: new TextBoundedCache<unknown>() };
}

/** Least recently used first out, keyed by document text. */
export class TextBoundedCache<V> {
  private readonly entries = new Map<string, V>();
  private chars = 0;

  /** Documents kept, and their characters in total. */
  held(): { documents: number; chars: number } {
    return { documents: this.entries.size, chars: this.chars };
  }

  get(text: string): V | undefined {
    const value = this.entries.get(text);
    if (value !== undefined) {
      this.entries.delete(text);
      this.entries.set(text, value);
    }
    return value;
  }

  set(text: string, value: V): void {
    if (text.length > CACHED_DOCUMENT_CHARS / 64) return;
    if (this.entries.delete(text)) this.chars -= text.length;
    this.entries.set(text, value);
    this.chars += text.length;
    for (const oldest of this.entries.keys()) {
      if (this.chars <= CACHED_DOCUMENT_CHARS && this.entries.size <= CACHED_DOCUMENTS) break;
      this.entries.delete(oldest);
      this.chars -= oldest.length;
    }
  }
}
