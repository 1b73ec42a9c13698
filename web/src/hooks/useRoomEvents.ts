import { useRef, useState } from 'react';
import { graphql } from '../gql';
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
    }
  }
`);

/** What the room's header depends on: its members and settings. */
const roomChanges = new Set(['MemberJoined', 'MemberLeft', 'RoomUpdated']);

/**
 * Follows roomEvents for what the message stream does not carry: who else is typing (display names), and
 * calls onRoomChanged when members come and go or the room is edited.
 */
export function useRoomEvents(roomId: string, viewerId: string, onRoomChanged: () => void): string[] {
  const [typing, setTyping] = useState<ReadonlyMap<string, string>>(new Map());
  const changed = useRef(onRoomChanged);
  changed.current = onRoomChanged;
  useEventStream(RoomActivity, { roomId }, (result) => {
    const event = result.data?.roomEvents;
    if (!event) return;
    if (roomChanges.has(event.__typename)) return changed.current();
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
