import { useEffect, useRef, useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../gql';
import type { MarkReadMutation } from '../gql/graphql';

const MarkRead = graphql(`
  mutation MarkRead($roomId: ID!, $seq: Int!) {
    markRead(roomId: $roomId, seq: $seq) {
      lastReadSeq
      unreadCount
      mentionCount
      room {
        id
        lastSeq
      }
    }
  }
`);

/**
 * Marks the room read up to newestSeq once the person can see it (the newest message on screen, the page
 * visible); hands the server's new marker and unread count to onRead.
 */
export function useReadMarker(
  roomId: string,
  newestSeq: number,
  lastReadSeq: number,
  newestOnScreen: boolean,
  onRead: (marker: MarkReadMutation['markRead']) => void,
): void {
  const [, markRead] = useMutation(MarkRead);
  const requested = useRef(0);
  const pageVisible = usePageVisible();
  useEffect(() => {
    if (!newestOnScreen || !pageVisible || newestSeq <= Math.max(lastReadSeq, requested.current)) return;
    requested.current = newestSeq;
    void markRead({ roomId, seq: newestSeq }).then((result) => {
      if (result.data) onRead(result.data.markRead);
    });
  }, [roomId, newestSeq, lastReadSeq, newestOnScreen, pageVisible, markRead, onRead]);
}

function usePageVisible(): boolean {
  const [visible, setVisible] = useState(() => document.visibilityState === 'visible');
  useEffect(() => {
    const update = () => setVisible(document.visibilityState === 'visible');
    document.addEventListener('visibilitychange', update);
    return () => document.removeEventListener('visibilitychange', update);
  }, []);
  return visible;
}
