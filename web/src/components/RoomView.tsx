import { useCallback, useEffect, useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../gql';
import type { MarkReadMutation } from '../gql/graphql';
import { useMessages, type ChatMessage } from '../hooks/useMessages';
import { useReadMarker } from '../hooks/useReadMarker';
import { useReconnects } from '../hooks/useReconnects';
import { useRoomEvents, type ThreadUpdate } from '../hooks/useRoomEvents';
import { useThread } from '../hooks/useThread';
import { PresenceDot } from '../presence';
import { roomTitle } from '../rooms';
import type { ChatViewer } from './Chat';
import { Composer } from './Composer';
import { MessageList } from './MessageList';
import { ThreadPanel } from './ThreadPanel';

const RoomDetails = graphql(`
  query RoomDetails($roomId: ID!) {
    room(id: $roomId) {
      id
      kind
      name
      topic
      memberCount
      members(first: 100) {
        edges {
          node {
            role
            user {
              id
              username
              displayName
              presence {
                status
              }
            }
          }
        }
      }
    }
  }
`);

interface Props {
  roomId: string;
  viewer: ChatViewer;
  lastReadSeq: number;
  onRead: (marker: MarkReadMutation['markRead']) => void;
  /** A message of this room edited, deleted or re-reacted: the room list's preview may show it. */
  onMessageChanged: (message: ChatMessage) => void;
}

/**
 * One room: who is in it, its messages (history and live), who is typing, and the composer; beside it the
 * open thread. Thread replies show in their thread only. Edits, deletions and reactions, this viewer's
 * and others' (MessageUpdated), change the message where it shows.
 */
export function RoomView({ roomId, viewer, lastReadSeq, onRead, onMessageChanged: onListed }: Props) {
  const [{ data }, refetchDetails] = useQuery({ query: RoomDetails, variables: { roomId } });
  // Members and their presence may have changed while the socket was down.
  const reconnects = useReconnects();
  useEffect(() => {
    if (reconnects > 0) refetchDetails();
  }, [reconnects, refetchDetails]);
  const { messages, loaded, hasOlder, loadingOlder, loadOlder, addSent, applyThread, applyChanged, error } = useMessages(roomId);
  const [threadRootId, setThreadRootId] = useState<string | null>(null);
  const thread = useThread(threadRootId, messages);
  const { applyUpdate, applyChanged: applyChangedReply } = thread;
  const onThreadUpdated = useCallback(
    (update: ThreadUpdate) => {
      applyThread(update.rootId, update.thread);
      applyUpdate(update);
    },
    [applyThread, applyUpdate],
  );
  const onMessageChanged = useCallback(
    (message: ChatMessage) => {
      applyChanged(message);
      applyChangedReply(message);
      onListed(message);
    },
    [applyChanged, applyChangedReply, onListed],
  );
  const typing = useRoomEvents(roomId, viewer.id, { onRoomChanged: () => refetchDetails(), onThreadUpdated, onMessageChanged });
  const roots = useMemo(() => messages.filter((message) => !message.replyTo), [messages]);
  const threadRoot = threadRootId === null ? undefined : roots.find((message) => message.id === threadRootId);
  const [newestOnScreen, setNewestOnScreen] = useState(false);
  useReadMarker(roomId, messages.at(-1)?.seq ?? 0, lastReadSeq, newestOnScreen, onRead);

  const room = data?.room;
  const members = room?.members.edges.map((edge) => edge.node) ?? [];
  return (
    <>
      <main className="room">
        <header className="room-header">
          <h1>{room ? roomTitle(room, viewer.id) : '…'}</h1>
          {room?.topic && <p className="topic">{room.topic}</p>}
          <ul aria-label="Members" className="members">
            {members.map((member) => (
              <li key={member.user.id}>
                <PresenceDot user={member.user} />
                {member.user.displayName}
              </li>
            ))}
          </ul>
        </header>
        {error && <p role="alert">{error}</p>}
        {loaded && roots.length === 0 && <p className="muted empty-room">No messages yet: say hello.</p>}
        <MessageList
          messages={roots}
          viewerId={viewer.id}
          hasOlder={hasOlder}
          loadingOlder={loadingOlder}
          onLoadOlder={loadOlder}
          onNewestVisible={setNewestOnScreen}
          onOpenThread={setThreadRootId}
          onChanged={onMessageChanged}
        />
        <p className="typing" aria-live="polite">
          {typingText(typing)}
        </p>
        <Composer roomId={roomId} label="Message" onSent={addSent} />
      </main>
      {threadRoot && (
        <ThreadPanel roomId={roomId} viewerId={viewer.id} root={threadRoot} thread={thread} onSent={addSent} onChanged={onMessageChanged} onClose={() => setThreadRootId(null)} />
      )}
    </>
  );
}

function typingText(names: string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}
