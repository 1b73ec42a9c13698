import { useRef, useState } from 'react';
import { graphql } from '../gql';
import type { ChatMessage, ThreadSummary } from './useMessages';
import { useEventStream } from './useEventStream';

const RoomActivity = graphql(`
  subscription RoomActivity($roomId: ID!) {
    roomEvents(roomId: $roomId) {
      __typename
      ... on TypingChanged {
        typing
        user {
          id
          displayName
        }
      }
      ... on ThreadUpdated {
        rootId
        reply {
          ...ChatMessage
        }
        thread {
          ...ThreadSummary
        }
      }
    }
  }
`);

/** What the room's header depends on: its members and settings. */
const roomChanges = new Set(['MemberJoined', 'MemberLeft', 'RoomUpdated']);

export interface ThreadUpdate {
  rootId: string;
  /** The reply added or deleted. */
  reply: ChatMessage;
  thread: ThreadSummary | null;
}

interface Handlers {
  /** Members came or went, or the room was edited. */
  onRoomChanged: () => void;
  /** A reply was added to a thread or deleted from it. */
  onThreadUpdated: (update: ThreadUpdate) => void;
}

/**
 * Follows roomEvents for what the message stream does not carry: who else is typing (display names), changes
 * to members and settings, and thread summaries as replies come and go (live only: after a gap the replies
 * messageAdded replays carry their thread's summary).
 */
export function useRoomEvents(roomId: string, viewerId: string, handlers: Handlers): string[] {
  const [typing, setTyping] = useState<ReadonlyMap<string, string>>(new Map());
  const latest = useRef(handlers);
  latest.current = handlers;
  useEventStream(RoomActivity, { roomId }, (result) => {
    const event = result.data?.roomEvents;
    if (!event) return;
    if (roomChanges.has(event.__typename)) return latest.current.onRoomChanged();
    if (event.__typename === 'ThreadUpdated') return latest.current.onThreadUpdated(event);
    if (event.__typename !== 'TypingChanged' || event.user.id === viewerId) return;
    setTyping((previous) => {
      const next = new Map(previous);
      if (event.typing) next.set(event.user.id, event.user.displayName);
      else next.delete(event.user.id);
      return next;
    });
  });
  return [...typing.values()];
}
