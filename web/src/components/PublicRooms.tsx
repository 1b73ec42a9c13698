import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql';
import { SearchPanel } from './SearchPanel';

const FindPublicRooms = graphql(`
  query FindPublicRooms($search: String) {
    publicRooms(search: $search, first: 20) {
      edges {
        node {
          id
          name
          topic
          memberCount
          myMembership {
            role
          }
        }
      }
    }
  }
`);

const JoinRoom = graphql(`
  mutation JoinRoom($roomId: ID!) {
    joinRoom(roomId: $roomId) {
      room {
        id
      }
    }
  }
`);

/** Searches public rooms by name; joins one (or opens it when already in). */
export function PublicRooms({ onEntered }: { onEntered: (roomId: string) => void }) {
  const [search, setSearch] = useState('');
  const [{ data }, refetch] = useQuery({ query: FindPublicRooms, variables: { search: search.trim() || null } });
  const [{ error }, joinRoom] = useMutation(JoinRoom);
  const join = async (roomId: string) => {
    const result = await joinRoom({ roomId });
    if (!result.data) return;
    refetch();
    onEntered(result.data.joinRoom.room.id);
  };
  const rooms = data?.publicRooms.edges.map((edge) => edge.node) ?? [];
  return (
    <SearchPanel title="Public rooms" searchLabel="Search public rooms" search={search} onSearch={setSearch} resultsLabel="Public rooms" error={error}>
      {rooms.map((room) => (
        <li key={room.id}>
          <span className="name">{room.name}</span>
          <span className="muted">{room.memberCount === 1 ? '1 member' : `${room.memberCount} members`}</span>
          {room.myMembership ? (
            <button type="button" onClick={() => onEntered(room.id)} aria-label={`Open ${room.name ?? 'room'}`}>
              Open
            </button>
          ) : (
            <button type="button" onClick={() => void join(room.id)} aria-label={`Join ${room.name ?? 'room'}`}>
              Join
            </button>
          )}
        </li>
      ))}
    </SearchPanel>
  );
}
