import { useRef, useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { errorMessage } from '../errors';
import { graphql } from '../gql';
import type { ChatMessage } from '../hooks/useMessages';
import { useTypingSignal } from '../hooks/useTypingSignal';
import { useUploads } from '../hooks/useUploads';

const SendMessage = graphql(`
  mutation SendMessage($input: SendMessageInput!) {
    sendMessage(input: $input) {
      ...ChatMessage
    }
  }
`);

interface Props {
  roomId: string;
  /** The thread's root, for a reply in a thread. */
  replyToId?: string;
  /** The message box's label ("Message", "Reply"); the buttons are named after it. */
  label: string;
  onSent: (message: ChatMessage) => void;
}

/**
 * The message box, with files to attach. A send carries a clientMessageId, so sending it again after a
 * failure stores it once. A message of files alone is sent with their names as its body (the API takes it
 * without one), so previews and search show it by them.
 */
export function Composer({ roomId, replyToId, label, onSent }: Props) {
  const [text, setText] = useState('');
  // The send that failed, if any: sending the same message again reuses its clientMessageId.
  const unsent = useRef<{ key: string; clientMessageId: string } | null>(null);
  const [{ fetching, error }, sendMessage] = useMutation(SendMessage);
  const typing = useTypingSignal(roomId);
  const files = useUploads(roomId);
  const ready = files.uploads.flatMap((upload) => (upload.attachment ? [{ key: upload.key, attachment: upload.attachment }] : []));
  const canSend = !fetching && !files.uploading && (text.trim() !== '' || ready.length > 0);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!canSend) return;
    const attachmentIds = ready.map(({ attachment }) => attachment.id);
    const body = text.trim() || ready.map(({ attachment }) => attachment.name).join(', ');
    const key = JSON.stringify([body, attachmentIds]);
    const clientMessageId = unsent.current?.key === key ? unsent.current.clientMessageId : newClientMessageId();
    unsent.current = { key, clientMessageId };
    // The box is free for the next message at once; a send that fails puts its text back, if the box is empty.
    const typed = text;
    setText('');
    const result = await sendMessage({ input: { roomId, body, clientMessageId, replyToId, attachmentIds } });
    if (!result.data) return setText((current) => (current === '' ? typed : current));
    unsent.current = null;
    files.remove(ready.map((upload) => upload.key));
    typing.onSent();
    onSent(result.data.sendMessage);
  };

  return (
    <form className="composer" onSubmit={(event) => void submit(event)}>
      {error && <p role="alert">{errorMessage(error)}</p>}
      {files.error && <p role="alert">{files.error}</p>}
      {files.uploads.length > 0 && (
        <ul className="uploads" aria-label={`Files for the ${label.toLowerCase()}`}>
          {files.uploads.map((upload) => (
            <li key={upload.key}>
              {upload.name}
              {upload.attachment ? (
                <button type="button" aria-label={`Remove ${upload.name}`} onClick={() => files.remove([upload.key])}>
                  ×
                </button>
              ) : (
                <span className="muted"> uploading…</span>
              )}
            </li>
          ))}
        </ul>
      )}
      <label className="attach">
        Attach
        <input
          type="file"
          multiple
          aria-label={`Attach files to the ${label.toLowerCase()}`}
          onChange={(event) => {
            files.add([...(event.target.files ?? [])]);
            // The same file may be picked again.
            event.target.value = '';
          }}
        />
      </label>
      <input
        aria-label={label}
        placeholder={replyToId ? 'Reply in the thread' : 'Write a message'}
        autoComplete="off"
        value={text}
        onChange={(event) => {
          setText(event.target.value);
          typing.onText(event.target.value);
        }}
      />
      <button type="submit" disabled={!canSend}>
        {replyToId ? 'Send reply' : 'Send'}
      </button>
    </form>
  );
}

/** Random enough to be unique per send; getRandomValues works on plain http, unlike randomUUID. */
function newClientMessageId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
