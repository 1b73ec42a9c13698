import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { errorMessage } from '../errors';
import { graphql } from '../gql';

const CreatePublicRoom = graphql(`
  mutation CreatePublicRoom($input: CreateRoomInput!) {
    createRoom(input: $input) {
      id
    }
  }
`);

/** Creates a public room (anyone may find and join it) and opens it. */
export function NewRoom({ onCreated }: { onCreated: (roomId: string) => void }) {
  const [name, setName] = useState('');
  const [{ fetching, error }, createRoom] = useMutation(CreatePublicRoom);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await createRoom({ input: { name: name.trim(), visibility: 'PUBLIC' } });
    if (result.data) {
      setName('');
      onCreated(result.data.createRoom.id);
    }
  };
  return (
    <form className="panel" onSubmit={(event) => void submit(event)}>
      <h2>New room</h2>
      <div className="row">
        <input aria-label="Room name" placeholder="Room name" required value={name} onChange={(event) => setName(event.target.value)} />
        <button type="submit" disabled={fetching}>
          Create room
        </button>
      </div>
      {error && <p role="alert">{errorMessage(error)}</p>}
    </form>
  );
}
