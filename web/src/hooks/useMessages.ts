import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { useClient } from 'urql';
import { errorMessage } from '../errors';
import { graphql } from '../gql';
import type { ChatMessageFragment } from '../gql/graphql';
import { useEventStream } from './useEventStream';
import { useReconnects } from './useReconnects';

graphql(`
  fragment ChatMessage on Message {
    id
    seq
    body
    createdAt
    editedAt
    deletedAt
    author {
      id
      username
      displayName
    }
  }
`);

const RoomHistory = graphql(`
  query RoomHistory($roomId: ID!, $before: String) {
    room(id: $roomId) {
      id
      messages(last: 30, before: $before) {
        edges {
          node {
            ...ChatMessage
          }
        }
        pageInfo {
          hasPreviousPage
          startCursor
        }
      }
    }
  }
`);

const RoomMessages = graphql(`
  subscription RoomMessages($roomId: ID!, $afterSeq: Int) {
    messageAdded(roomId: $roomId, afterSeq: $afterSeq) {
      ...ChatMessage
    }
  }
`);

export type ChatMessage = ChatMessageFragment;

interface State {
  /** Every message seen, by seq: a message that comes twice (replay, page overlap, own send) is kept once. */
  bySeq: ReadonlyMap<number, ChatMessage>;
  olderCursor: string | null;
  hasOlder: boolean;
  loaded: boolean;
}

type Action =
  | { type: 'page'; messages: ChatMessage[]; hasOlder: boolean; olderCursor: string | null }
  | { type: 'message'; message: ChatMessage };

/**
 * A room's messages in seq order: the newest page of history, older pages on demand, then live from
 * messageAdded with afterSeq = the newest seq seen, taken up again the same way after a reconnect or a
 * stream the server ended: no gap, no duplicate.
 */
export function useMessages(roomId: string) {
  const client = useClient();
  const [state, dispatch] = useReducer(reduce, { bySeq: new Map(), olderCursor: null, hasOlder: false, loaded: false });
  const [error, setError] = useState<string | null>(null);
  const [resumeFrom, setResumeFrom] = useState<number | null>(null);
  const newest = useRef(0);
  const messages = useMemo(() => [...state.bySeq.values()].sort((a, b) => a.seq - b.seq), [state.bySeq]);
  newest.current = messages.at(-1)?.seq ?? 0;

  // Resolves with the page's newest seq (0 when empty), or null when the room cannot be read.
  const fetchPage = useCallback(
    async (before: string | null): Promise<number | null> => {
      const result = await client.query(RoomHistory, { roomId, before }).toPromise();
      const connection = result.data?.room?.messages;
      if (!connection) {
        setError(result.error ? errorMessage(result.error) : 'This room does not exist, or you are not in it.');
        return null;
      }
      const page = connection.edges.map((edge) => edge.node);
      dispatch({ type: 'page', messages: page, hasOlder: connection.pageInfo.hasPreviousPage, olderCursor: connection.pageInfo.startCursor ?? null });
      return page.at(-1)?.seq ?? 0;
    },
    [client, roomId],
  );

  useEffect(() => {
    void fetchPage(null).then((newestOfPage) => {
      if (newestOfPage !== null) setResumeFrom(newestOfPage);
    });
  }, [fetchPage]);

  // After a reconnect, graphql-ws subscribes again with the afterSeq it had; ask from the newest seen instead.
  const reconnects = useReconnects();
  useEffect(() => {
    if (reconnects > 0) setResumeFrom((previous) => (previous === null ? null : newest.current));
  }, [reconnects]);

  useEventStream(
    RoomMessages,
    resumeFrom === null ? null : { roomId, afterSeq: resumeFrom },
    (result) => {
      if (result.data) dispatch({ type: 'message', message: result.data.messageAdded });
      else if (result.error) setError(errorMessage(result.error));
    },
    () => setResumeFrom(newest.current),
  );

  const [loadingOlder, setLoadingOlder] = useState(false);
  const loadOlder = useCallback(() => {
    if (!state.olderCursor || loadingOlder) return;
    setLoadingOlder(true);
    void fetchPage(state.olderCursor).finally(() => setLoadingOlder(false));
  }, [fetchPage, state.olderCursor, loadingOlder]);

  /** A message this client sent: shown at once, and once only when the stream brings it too. */
  const addSent = useCallback((message: ChatMessage) => dispatch({ type: 'message', message }), []);

  return { messages, loaded: state.loaded, hasOlder: state.hasOlder, loadingOlder, loadOlder, addSent, error };
}

function reduce(state: State, action: Action): State {
  switch (action.type) {
    case 'page': {
      const bySeq = new Map(state.bySeq);
      for (const message of action.messages) if (!bySeq.has(message.seq)) bySeq.set(message.seq, message);
      // The first page is the newest; each older one moves the cursor further back.
      return { bySeq, hasOlder: action.hasOlder, olderCursor: action.olderCursor, loaded: true };
    }
    case 'message': {
      if (state.bySeq.has(action.message.seq)) return state;
      return { ...state, bySeq: new Map(state.bySeq).set(action.message.seq, action.message) };
    }
  }
}
