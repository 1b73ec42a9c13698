import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { useClient } from 'urql';
import { errorMessage } from '../errors';
import { graphql } from '../gql';
import type { ChatMessageFragment, ThreadSummaryFragment } from '../gql/graphql';
import { useEventStream } from './useEventStream';
import { useReconnects } from './useReconnects';

// Fields inline rather than in nested fragments: each fragment level multiplies the document's cost
// (graphql-armor's cost limit, MAX_COST), and pages of these are the client's costliest reads.
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
    replyTo {
      id
    }
    attachments {
      id
      name
      contentType
      size
      width
      height
      url
    }
    thread {
      replyCount
      lastReplyAt
      participants {
        id
        displayName
      }
    }
  }
`);

graphql(`
  fragment ThreadSummary on Thread {
    replyCount
    lastReplyAt
    participants {
      id
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
export type ThreadSummary = ThreadSummaryFragment;

interface State {
  /** Every message seen, by seq: a message that comes twice (replay, page overlap, own send) is kept once. */
  bySeq: ReadonlyMap<number, ChatMessage>;
  olderCursor: string | null;
  hasOlder: boolean;
  loaded: boolean;
}

type Action =
  | { type: 'page'; messages: ChatMessage[]; hasOlder: boolean; olderCursor: string | null }
  | { type: 'message'; message: ChatMessage }
  | { type: 'thread'; rootId: string; thread: ThreadSummary | null };

/**
 * A room's messages in seq order: the newest page of history, older pages on demand, then live from
 * messageAdded with afterSeq = the newest seq seen, taken up again the same way after a reconnect or a
 * stream the server ended: no gap, no duplicate. Thread replies are among them (they are in the room's
 * history); each brings its root's thread summary, and applyThread takes a ThreadUpdated's.
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

  /** A root's thread summary as a ThreadUpdated event tells it. */
  const applyThread = useCallback((rootId: string, thread: ThreadSummary | null) => dispatch({ type: 'thread', rootId, thread }), []);

  return { messages, loaded: state.loaded, hasOlder: state.hasOlder, loadingOlder, loadOlder, addSent, applyThread, error };
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
      const { message } = action;
      if (state.bySeq.has(message.seq)) return state;
      const bySeq = new Map(state.bySeq).set(message.seq, message);
      // A reply read after its root carries the root's newer summary (the replay after a gap included).
      const root = message.replyTo ? rootOf(bySeq, message) : undefined;
      return { ...state, bySeq: root ? withThread(bySeq, root, message.thread) : bySeq };
    }
    case 'thread': {
      const root = [...state.bySeq.values()].find((message) => message.id === action.rootId);
      return root ? { ...state, bySeq: withThread(state.bySeq, root, action.thread) } : state;
    }
  }
}

/** The first message of a reply's chain, when the whole chain is loaded. */
function rootOf(bySeq: ReadonlyMap<number, ChatMessage>, reply: ChatMessage): ChatMessage | undefined {
  const byId = new Map([...bySeq.values()].map((message) => [message.id, message]));
  let message: ChatMessage | undefined = reply;
  while (message?.replyTo) message = byId.get(message.replyTo.id);
  return message;
}

/**
 * The messages with root's thread summary replaced, unless the one given is older than the one shown: the
 * two streams (messageAdded, roomEvents) may interleave, and a thread's replyCount never goes down.
 */
function withThread(bySeq: ReadonlyMap<number, ChatMessage>, root: ChatMessage, thread: ThreadSummary | null | undefined) {
  if (thread === undefined || (thread && root.thread && thread.replyCount < root.thread.replyCount)) return bySeq;
  return new Map(bySeq).set(root.seq, { ...root, thread });
}
