import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { useClient } from 'urql';
import { errorMessage } from '../errors';
import { graphql } from '../gql';
import type { MarkReadMutation, RoomListEventsSubscription, RoomListQuery } from '../gql/graphql';
import { useEventStream } from './useEventStream';
import { useReconnects } from './useReconnects';

// Inline fields, 30 rooms: within the server's default query cost limit (MAX_COST), which multiplies by `first`
// and charges fragment spreads extra.
const RoomList = graphql(`
  query RoomList {
    rooms(first: 30) {
      edges {
        node {
          id
          kind
          name
          createdAt
          lastSeq
          lastMessage {
            id
            seq
            body
            createdAt
            deletedAt
            author {
              id
              displayName
            }
          }
          myMembership {
            lastReadSeq
            unreadCount
            mentionCount
          }
          members(first: 2) {
            edges {
              node {
                user {
                  id
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
    }
  }
`);

const RoomListEvents = graphql(`
  subscription RoomListEvents {
    myEvents {
      __typename
      ... on MessageAdded {
        message {
          id
          seq
          body
          createdAt
          deletedAt
          author {
            id
            displayName
          }
          room {
            id
          }
        }
      }
    }
  }
`);

/** A room as the list shows it: the viewer's 30 most recently active rooms. */
export type RoomSummary = RoomListQuery['rooms']['edges'][number]['node'];
type ReadMarker = MarkReadMutation['markRead'];
/** What the preview shows of a message edited or deleted. */
type ChangedMessage = Pick<NewMessage, 'id' | 'body' | 'deletedAt'>;
type NewMessage = Extract<RoomListEventsSubscription['myEvents'], { __typename: 'MessageAdded' }>['message'];

/** A room as listed: unreadCount counts the messages up to countedThrough (a seq). */
type ListedRoom = RoomSummary & { countedThrough: number };

type Action =
  | { type: 'snapshot'; rooms: RoomSummary[] }
  | { type: 'message'; message: NewMessage; viewerId: string }
  | { type: 'read'; marker: ReadMarker }
  | { type: 'changed'; message: ChangedMessage };

interface State {
  rooms: ListedRoom[];
}

/**
 * The viewer's rooms, most recent activity first, with unread counts: fetched, then kept live by myEvents.
 * Each copy of a room says up to which seq it is counted, so whatever arrives late (an event a fetch or a
 * read marker already counted, a fetch older than an event) counts nothing twice.
 */
export function useRoomList(viewerId: string) {
  const client = useClient();
  const [state, dispatch] = useReducer(reduce, { rooms: [] });
  const [error, setError] = useState<string | null>(null);
  const known = useRef(state.rooms);
  known.current = state.rooms;
  const fetching = useRef<Promise<void> | null>(null);
  const again = useRef(false);

  // One fetch at a time; asks made meanwhile become one more fetch after it.
  const refresh = useCallback((): Promise<void> => {
    if (fetching.current) {
      again.current = true;
      return fetching.current;
    }
    const run = async (): Promise<void> => {
      do {
        again.current = false;
        const result = await client.query(RoomList, {}).toPromise();
        setError(result.error ? errorMessage(result.error) : null);
        if (result.data) dispatch({ type: 'snapshot', rooms: result.data.rooms.edges.map((edge) => edge.node) });
      } while (again.current);
    };
    fetching.current = run().finally(() => (fetching.current = null));
    return fetching.current;
  }, [client]);

  // Fetched on mount and after every reconnect (events may have been missed while the socket was down).
  const reconnects = useReconnects();
  useEffect(() => void refresh(), [refresh, reconnects]);

  useEventStream(RoomListEvents, {}, (result) => {
    const event = result.data?.myEvents;
    if (!event) return;
    if (event.__typename === 'MessageAdded' && known.current.some((room) => room.id === event.message.room.id)) {
      dispatch({ type: 'message', message: event.message, viewerId });
    } else {
      // Joined, left, removed, renamed, deleted, mentioned (counted by the server), or a message in a room not listed yet.
      void refresh();
    }
  }, () => void refresh());

  const applyRead = useCallback((marker: ReadMarker) => dispatch({ type: 'read', marker }), []);
  // myEvents does not carry edits and deletions: the open room hands them over.
  const applyChanged = useCallback((message: ChangedMessage) => dispatch({ type: 'changed', message }), []);
  return { rooms: state.rooms, error, refresh, applyRead, applyChanged };
}

function reduce(state: State, action: Action): State {
  switch (action.type) {
    case 'snapshot': {
      const local = new Map(state.rooms.map((room) => [room.id, room]));
      const rooms = action.rooms.map((room): ListedRoom => {
        const mine = local.get(room.id);
        if (!mine || mine.countedThrough <= room.lastSeq) return { ...room, countedThrough: room.lastSeq };
        // This snapshot is older than what events (or a read marker) already told: keep their counts.
        const newer = mine.lastSeq > room.lastSeq ? mine : room;
        return { ...room, lastSeq: newer.lastSeq, lastMessage: newer.lastMessage, myMembership: mine.myMembership, countedThrough: mine.countedThrough };
      });
      return { rooms: byActivity(rooms) };
    }
    case 'message': {
      const { message, viewerId } = action;
      const rooms = state.rooms.map((room) => (room.id === message.room.id ? withMessage(room, message, viewerId) : room));
      return { rooms: byActivity(rooms) };
    }
    case 'read': {
      const { marker } = action;
      const rooms = state.rooms.map((room) =>
        room.id === marker.room.id && (room.myMembership?.lastReadSeq ?? 0) <= marker.lastReadSeq
          ? {
              ...room,
              myMembership: { lastReadSeq: marker.lastReadSeq, unreadCount: marker.unreadCount, mentionCount: marker.mentionCount },
              countedThrough: Math.max(room.countedThrough, marker.room.lastSeq),
            }
          : room,
      );
      return { rooms };
    }
    case 'changed': {
      const { id, body, deletedAt } = action.message;
      const rooms = state.rooms.map((room) =>
        room.lastMessage?.id === id ? { ...room, lastMessage: { ...room.lastMessage, body, deletedAt } } : room,
      );
      return { rooms };
    }
  }
}

function withMessage(room: ListedRoom, message: NewMessage, viewerId: string): ListedRoom {
  const next = message.seq > room.lastSeq ? { ...room, lastSeq: message.seq, lastMessage: message } : room;
  const membership = room.myMembership;
  if (message.seq <= room.countedThrough || !membership) return next;
  const unread = message.author?.id !== viewerId && message.seq > membership.lastReadSeq;
  return {
    ...next,
    countedThrough: message.seq,
    myMembership: unread ? { ...membership, unreadCount: membership.unreadCount + 1 } : membership,
  };
}

const activity = (room: RoomSummary) => room.lastMessage?.createdAt ?? room.createdAt;
const byActivity = (rooms: ListedRoom[]) => [...rooms].sort((a, b) => activity(b).localeCompare(activity(a)));
