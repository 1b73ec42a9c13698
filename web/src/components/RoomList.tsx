import type { RoomSummary } from '../hooks/useRoomList';
import { PresenceDot } from '../presence';
import { roomPath } from '../route';
import { directPeer, roomTitle } from '../rooms';

interface Props {
  rooms: readonly RoomSummary[];
  /** Why the list could not be fetched, if it could not. */
  error: string | null;
  viewerId: string;
  openRoomId: string | null;
  onOpen: (roomId: string) => void;
}

/** The viewer's rooms, most recent first, each with its unread count and unread mentions. */
export function RoomList({ rooms, error, viewerId, openRoomId, onOpen }: Props) {
  return (
    <nav className="rooms">
      <h2>Rooms</h2>
      {error && <p role="alert">{error}</p>}
      {rooms.length === 0 && !error && <p className="muted">No rooms yet.</p>}
      <ul aria-label="Rooms">
        {rooms.map((room) => {
          const unread = room.myMembership?.unreadCount ?? 0;
          const mentions = room.myMembership?.mentionCount ?? 0;
          const peer = directPeer(room, viewerId);
          return (
            <li key={room.id}>
              <a
                href={roomPath(room.id)}
                aria-current={room.id === openRoomId ? 'page' : undefined}
                onClick={(event) => {
                  event.preventDefault();
                  onOpen(room.id);
                }}
              >
                {peer ? <PresenceDot user={peer} /> : <span className="hash">#</span>}
                <span className="name">{roomTitle(room, viewerId)}</span>
                {(unread > 0 || mentions > 0) && (
                  <span className="counts">
                    {mentions > 0 && (
                      <span className="mention-badge" aria-label={`${mentions} unread ${mentions === 1 ? 'mention' : 'mentions'} of you`}>
                        @{mentions}
                      </span>
                    )}
                    {unread > 0 && (
                      <span className="badge" aria-label={`${unread} unread`}>
                        {unread}
                      </span>
                    )}
                  </span>
                )}
                {room.lastMessage && (
                  <span className="preview">
                    {room.lastMessage.author?.displayName ?? 'Someone'}: {room.lastMessage.deletedAt ? 'deleted' : (room.lastMessage.body ?? '(no text)')}
                  </span>
                )}
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
