import { useState } from 'react';
import { useQuery } from 'urql';
import { errorMessage } from '../errors';
import { graphql } from '../gql';

const SearchMessages = graphql(`
  query WebSearchMessages($query: String!) {
    searchMessages(query: $query, first: 20) {
      edges {
        node {
          message {
            id
            room {
              id
              name
            }
            author {
              displayName
            }
          }
          snippet {
            text
            highlighted
          }
        }
      }
    }
  }
`);

/**
 * Searches the messages of the viewer's rooms when the form is submitted (not on every keystroke:
 * searches are rate-limited); each hit opens its room.
 */
export function MessageSearch({ onOpen }: { onOpen: (roomId: string) => void }) {
  const [draft, setDraft] = useState('');
  const [query, setQuery] = useState('');
  const [{ data, error }] = useQuery({ query: SearchMessages, variables: { query }, pause: query === '' });
  const hits = data?.searchMessages.edges.map((edge) => edge.node) ?? [];
  return (
    <section className="panel">
      <h2>Search messages</h2>
      <form
        className="row"
        onSubmit={(event) => {
          event.preventDefault();
          setQuery(draft.trim());
        }}
      >
        <input type="search" aria-label="Search messages" placeholder='words, "a phrase", prefix*' value={draft} onChange={(event) => setDraft(event.target.value)} />
        <button type="submit">Search</button>
      </form>
      {query !== '' && data && hits.length === 0 && <p className="muted">Nothing found.</p>}
      <ul aria-label="Messages found" className="results">
        {hits.map(({ message, snippet }) => (
          <li key={message.id}>
            <span className="snippet">
              {snippet.map((part, index) => (part.highlighted ? <mark key={index}>{part.text}</mark> : <span key={index}>{part.text}</span>))}
            </span>
            <span className="muted">
              {message.author?.displayName ?? 'Someone'} in {message.room.name ?? 'a direct message'}
            </span>
            <button type="button" onClick={() => onOpen(message.room.id)} aria-label={`Open ${message.room.name ?? 'the room'}`}>
              Open
            </button>
          </li>
        ))}
      </ul>
      {error && <p role="alert">{errorMessage(error)}</p>}
    </section>
  );
}
