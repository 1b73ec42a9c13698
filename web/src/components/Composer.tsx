import { useRef, useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { errorMessage } from '../errors';
import { graphql } from '../gql';
import type { ChatMessage } from '../hooks/useMessages';
import { useTypingSignal } from '../hooks/useTypingSignal';

const SendMessage = graphql(`
  mutation SendMessage($input: SendMessageInput!) {
    sendMessage(input: $input) {
      ...ChatMessage
    }
  }
`);

/** The message box. A send carries a clientMessageId, so sending it again after a failure stores it once. */
export function Composer({ roomId, onSent }: { roomId: string; onSent: (message: ChatMessage) => void }) {
  const [text, setText] = useState('');
  // The send that failed, if any: sending the same text again reuses its clientMessageId.
  const unsent = useRef<{ body: string; clientMessageId: string } | null>(null);
  const [{ fetching, error }, sendMessage] = useMutation(SendMessage);
  const typing = useTypingSignal(roomId);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const body = text.trim();
    if (body === '' || fetching) return;
    const clientMessageId = unsent.current?.body === body ? unsent.current.clientMessageId : newClientMessageId();
    unsent.current = { body, clientMessageId };
    // The box is free for the next message at once; a send that fails puts its text back, if the box is empty.
    setText('');
    const result = await sendMessage({ input: { roomId, body, clientMessageId } });
    if (!result.data) return setText((current) => (current === '' ? body : current));
    unsent.current = null;
    typing.onSent();
    onSent(result.data.sendMessage);
  };

  return (
    <form className="composer" onSubmit={(event) => void submit(event)}>
      {error && <p role="alert">{errorMessage(error)}</p>}
      <input
        aria-label="Message"
        placeholder="Write a message"
        autoComplete="off"
        value={text}
        onChange={(event) => {
          setText(event.target.value);
          typing.onText(event.target.value);
        }}
      />
      <button type="submit" disabled={fetching || text.trim() === ''}>
        Send
      </button>
    </form>
  );
}

/** Random enough to be unique per send; getRandomValues works on plain http, unlike randomUUID. */
function newClientMessageId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
