import { useCallback, useEffect } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../gql';
import type { ViewerQuery } from '../gql/graphql';
import { useRoomList } from '../hooks/useRoomList';
import { PresenceProvider } from '../presence';
import { useOpenRoom } from '../route';
import { DirectMessage } from './DirectMessage';
import { MessageSearch } from './MessageSearch';
import { NewRoom } from './NewRoom';
import { PublicRooms } from './PublicRooms';
import { RoomList } from './RoomList';
import { RoomView } from './RoomView';

const Viewer = graphql(`
  query Viewer {
    me {
      id
      username
      displayName
    }
  }
`);

export type ChatViewer = NonNullable<ViewerQuery['me']>;

/** The signed-in client: who we are, then rooms beside the open one. */
export function Chat({ onLogOut }: { onLogOut: () => void }) {
  const [{ data, error }] = useQuery({ query: Viewer });
  const signedOut = data !== undefined && data.me === null;
  useEffect(() => {
    if (signedOut) onLogOut();
  }, [signedOut, onLogOut]);
  if (!data?.me) return <p className="status">{error ? 'The server cannot be reached. Reload to try again.' : 'Loading…'}</p>;
  return (
    <PresenceProvider viewerId={data.me.id}>
      <ChatLayout viewer={data.me} onLogOut={onLogOut} />
    </PresenceProvider>
  );
}

function ChatLayout({ viewer, onLogOut }: { viewer: ChatViewer; onLogOut: () => void }) {
  const { rooms, error: roomsError, refresh, applyRead, applyChanged } = useRoomList(viewer.id);
  const [openRoomId, openRoom] = useOpenRoom();
  const openRoomSummary = rooms.find((room) => room.id === openRoomId);
  // A room just created, joined or opened: list it before showing it.
  const enter = useCallback((roomId: string) => void refresh().then(() => openRoom(roomId)), [refresh, openRoom]);

  return (
    <div className="chat">
      <aside className="sidebar">
        <header className="me">
          <div>
            <strong>{viewer.displayName}</strong>
            <span className="muted">@{viewer.username}</span>
          </div>
          <button type="button" onClick={onLogOut}>
            Log out
          </button>
        </header>
        <RoomList rooms={rooms} error={roomsError} viewerId={viewer.id} openRoomId={openRoomId} onOpen={openRoom} />
        <MessageSearch onOpen={openRoom} />
        <NewRoom onCreated={enter} />
        <PublicRooms onEntered={enter} />
        <DirectMessage viewerId={viewer.id} onOpened={enter} />
        <footer>
          <a href="/graphql" target="_blank" rel="noreferrer">
            GraphiQL
          </a>{' '}
          explores the API behind this client.
        </footer>
      </aside>
      {openRoomId ? (
        <RoomView
          key={openRoomId}
          roomId={openRoomId}
          viewer={viewer}
          lastReadSeq={openRoomSummary?.myMembership?.lastReadSeq ?? 0}
          onRead={applyRead}
          onMessageChanged={applyChanged}
        />
      ) : (
        <main className="room empty">
          <p>Open a room on the left, create one, join a public one, or start a direct conversation.</p>
        </main>
      )}
    </div>
  );
}
