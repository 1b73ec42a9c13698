import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import type { GraphQLErrorJson } from './server.js';

export interface EventStreamMessage<Data> {
  event: string;
  data?: { data?: Data | null; errors?: GraphQLErrorJson[] };
}

/** A subscription over HTTP (server-sent events), read message by message as a client would. */
export async function openEventStream<Data, Variables>(
  url: string,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
  token?: string,
) {
  const abort = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    signal: abort.signal,
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  return {
    response,
    /** The next message (a keep-alive comment is skipped); undefined when the stream has ended. */
    async next(): Promise<EventStreamMessage<Data> | undefined> {
      for (;;) {
        const end = buffered.indexOf('\n\n');
        if (end >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const fields = new Map<string, string>();
          for (const line of block.split('\n')) {
            const colon = line.indexOf(':');
            if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
          }
          if (!fields.has('event')) continue;
          const data = fields.get('data');
          return { event: fields.get('event')!, data: data ? JSON.parse(data) : undefined };
        }
        const chunk = await reader.read();
        if (chunk.done) return undefined;
        buffered += chunk.value;
      }
    },
    close: () => abort.abort(),
  };
}
