import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { useClient } from 'urql';
import { errorMessage } from '../errors';
import { graphql } from '../gql';
import type { ChatMessage } from './useMessages';
import { useReconnects } from './useReconnects';

// 15 a page: nested deeper than the room's history, a reply costs about twice a room message (MAX_COST).
const ThreadReplies = graphql(`
  query ThreadReplies($rootId: ID!, $after: String) {
    node(id: $rootId) {
      ... on Message {
        id
        thread {
          replies(first: 15, after: $after) {
            edges {
              node {
                ...ChatMessage
              }
            }
            pageInfo {
              hasNextPage
              endCursor
            }
          }
        }
      }
    }
  }
`);

interface State {
  /** Replies read from Thread.replies, and those ThreadUpdated brought (a deletion replaces its reply), by seq. */
  bySeq: ReadonlyMap<number, ChatMessage>;
  /** The newest seq the pages reached; while more pages are left, later replies wait for them. */
  pagedThrough: number;
  nextCursor: string | null;
  hasMore: boolean;
  loaded: boolean;
}

type Action =
  | { type: 'reset' }
  | { type: 'page'; replies: ChatMessage[]; nextCursor: string | null; hasMore: boolean }
  | { type: 'reply'; reply: ChatMessage };

const initial: State = { bySeq: new Map(), pagedThrough: 0, nextCursor: null, hasMore: false, loaded: false };

/**
 * The replies of the thread rooted at rootId (null: none open), in seq order: pages of Thread.replies
 * (oldest first, more on demand), live the replies among the room's messages (roomMessages, from
 * messageAdded) and those of ThreadUpdated events (applyUpdate). Read again after a reconnect, as
 * ThreadUpdated is live only.
 */
export function useThread(rootId: string | null, roomMessages: readonly ChatMessage[]) {
  const client = useClient();
  const [state, dispatch] = useReducer(reduce, initial);
  const [error, setError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  // Counts the reads from the start: a page that arrives after another thread was opened (or after a
  // reconnect started over) is dropped.
  const generation = useRef(0);

  const fetchPage = useCallback(
    async (after: string | null) => {
      if (!rootId) return;
      const asked = generation.current;
      const result = await client.query(ThreadReplies, { rootId, after }).toPromise();
      if (asked !== generation.current) return;
      const node = result.data?.node;
      if (!node || !('thread' in node)) {
        setError(result.error ? errorMessage(result.error) : 'This message is no longer available.');
        return;
      }
      setError(null);
      const connection = node.thread?.replies;
      dispatch({
        type: 'page',
        replies: connection?.edges.map((edge) => edge.node) ?? [],
        nextCursor: connection?.pageInfo.endCursor ?? null,
        hasMore: connection?.pageInfo.hasNextPage ?? false,
      });
    },
    [client, rootId],
  );

  const reconnects = useReconnects();
  useEffect(() => {
    generation.current += 1;
    dispatch({ type: 'reset' });
    void fetchPage(null);
  }, [fetchPage, reconnects]);

  const loadMore = useCallback(() => {
    if (!state.hasMore || loadingMore) return;
    setLoadingMore(true);
    void fetchPage(state.nextCursor).finally(() => setLoadingMore(false));
  }, [fetchPage, state.hasMore, state.nextCursor, loadingMore]);

  const applyUpdate = useCallback(
    (update: { rootId: string; reply: ChatMessage }) => {
      if (update.rootId === rootId) dispatch({ type: 'reply', reply: update.reply });
    },
    [rootId],
  );

  const replies = useMemo(() => {
    if (!rootId) return [];
    const bySeq = new Map(state.bySeq);
    // A room message is a reply of this thread when it answers the root or one of its replies (seq order:
    // parents come first).
    const inThread = new Set([rootId, ...[...bySeq.values()].map((reply) => reply.id)]);
    for (const message of roomMessages) {
      if (!message.replyTo || !inThread.has(message.replyTo.id)) continue;
      inThread.add(message.id);
      if (!bySeq.has(message.seq)) bySeq.set(message.seq, message);
    }
    const all = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    return state.hasMore ? all.filter((reply) => reply.seq <= state.pagedThrough) : all;
  }, [rootId, roomMessages, state.bySeq, state.hasMore, state.pagedThrough]);

  return { replies, loaded: state.loaded, hasMore: state.hasMore, loadingMore, loadMore, applyUpdate, error };
}

function reduce(state: State, action: Action): State {
  switch (action.type) {
    case 'reset':
      return initial;
    case 'page': {
      const bySeq = new Map(state.bySeq);
      for (const reply of action.replies) if (!bySeq.has(reply.seq)) bySeq.set(reply.seq, reply);
      const pagedThrough = Math.max(state.pagedThrough, action.replies.at(-1)?.seq ?? 0);
      return { bySeq, pagedThrough, nextCursor: action.nextCursor, hasMore: action.hasMore, loaded: true };
    }
    case 'reply':
      return { ...state, bySeq: new Map(state.bySeq).set(action.reply.seq, action.reply) };
  }
}
