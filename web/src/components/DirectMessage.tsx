import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql';
import { SearchPanel } from './SearchPanel';

const FindPeople = graphql(`
  query FindPeople($search: String!) {
    users(search: $search, first: 10) {
      edges {
        node {
          id
          username
          displayName
        }
      }
    }
  }
`);

const OpenDirectRoom = graphql(`
  mutation OpenDirectRoom($userId: ID!) {
    openDirectRoom(userId: $userId) {
      id
    }
  }
`);

/** Finds people by name and opens the direct room with one of them. */
export function DirectMessage({ viewerId, onOpened }: { viewerId: string; onOpened: (roomId: string) => void }) {
  const [search, setSearch] = useState('');
  const term = search.trim();
  const [{ data }] = useQuery({ query: FindPeople, variables: { search: term }, pause: term === '' });
  const [{ error }, openDirectRoom] = useMutation(OpenDirectRoom);
  const open = async (userId: string) => {
    const result = await openDirectRoom({ userId });
    if (!result.data) return;
    setSearch('');
    onOpened(result.data.openDirectRoom.id);
  };
  const people = term === '' ? [] : (data?.users.edges.map((edge) => edge.node).filter((user) => user.id !== viewerId) ?? []);
  return (
    <SearchPanel title="Direct messages" searchLabel="Find people" search={search} onSearch={setSearch} resultsLabel="People" error={error}>
      {people.map((user) => (
        <li key={user.id}>
          <span className="name">{user.displayName}</span>
          <span className="muted">@{user.username}</span>
          <button type="button" onClick={() => void open(user.id)} aria-label={`Chat with ${user.username}`}>
            Chat
          </button>
        </li>
      ))}
    </SearchPanel>
  );
}
