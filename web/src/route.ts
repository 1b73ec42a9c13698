import { useCallback, useSyncExternalStore } from 'react';

/** The client's one route: /rooms/<id> opens a room, so a reload or a shared link keeps it open. */
const ROOM_PATH = /^\/rooms\/([^/]+)$/;

const NAVIGATED = 'parley:navigated';

function subscribe(onChange: () => void) {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATED, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATED, onChange);
  };
}

function currentRoomId(): string | null {
  const match = ROOM_PATH.exec(window.location.pathname);
  return match?.[1] ? decodeURIComponent(match[1]) : null;
}

export function roomPath(roomId: string): string {
  return `/rooms/${encodeURIComponent(roomId)}`;
}

/** The open room's ID from the address bar, and a function that opens another one (null: none). */
export function useOpenRoom(): [string | null, (roomId: string | null) => void] {
  const roomId = useSyncExternalStore(subscribe, currentRoomId);
  const open = useCallback((next: string | null) => {
    const path = next ? roomPath(next) : '/';
    if (window.location.pathname !== path) window.history.pushState(null, '', path);
    window.dispatchEvent(new Event(NAVIGATED));
  }, []);
  return [roomId, open];
}
