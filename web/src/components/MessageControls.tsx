import { useState, type FormEvent } from 'react';
import { useMutation, type CombinedError } from 'urql';
import { errorMessage } from '../errors';
import { graphql } from '../gql';
import type { ChatMessage } from '../hooks/useMessages';

const EditMessage = graphql(`
  mutation EditMessage($messageId: ID!, $body: String!) {
    editMessage(messageId: $messageId, body: $body) {
      ...ChatMessage
    }
  }
`);

const DeleteMessage = graphql(`
  mutation DeleteMessage($messageId: ID!) {
    deleteMessage(messageId: $messageId) {
      ...ChatMessage
    }
  }
`);

const AddReaction = graphql(`
  mutation AddReaction($messageId: ID!, $emoji: String!) {
    addReaction(messageId: $messageId, emoji: $emoji) {
      ...ChatMessage
    }
  }
`);

const RemoveReaction = graphql(`
  mutation RemoveReaction($messageId: ID!, $emoji: String!) {
    removeReaction(messageId: $messageId, emoji: $emoji) {
      ...ChatMessage
    }
  }
`);

/** The reactions offered by "Add reaction"; any other one shown can be toggled too. */
const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉'];

interface Props {
  message: ChatMessage;
  viewerId: string;
  /** The message in its new state, as the mutation returned it (the others see it from MessageUpdated). */
  onChanged: (message: ChatMessage) => void;
}

/**
 * What one can do to a shown message: toggle its reactions, add one; and on one's own, edit or delete it.
 * A deleted message offers nothing.
 */
export function MessageControls({ message, viewerId, onChanged }: Props) {
  const [editing, setEditing] = useState(false);
  const [picking, setPicking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [, editMessage] = useMutation(EditMessage);
  const [, deleteMessage] = useMutation(DeleteMessage);
  const [, addReaction] = useMutation(AddReaction);
  const [, removeReaction] = useMutation(RemoveReaction);
  if (message.deletedAt !== null) return null;
  const mine = message.author?.id === viewerId;

  /** Applies what a mutation returned, or says why it failed; true when it succeeded. */
  const settle = (changed: ChatMessage | undefined, failure: CombinedError | undefined): boolean => {
    if (!changed) {
      setError(failure ? errorMessage(failure) : 'The message could not be changed.');
      return false;
    }
    setError(null);
    onChanged(changed);
    return true;
  };

  const react = async (emoji: string, reactedByMe: boolean) => {
    setPicking(false);
    const variables = { messageId: message.id, emoji };
    if (reactedByMe) {
      const result = await removeReaction(variables);
      settle(result.data?.removeReaction, result.error);
    } else {
      const result = await addReaction(variables);
      settle(result.data?.addReaction, result.error);
    }
  };

  return (
    <div className="message-controls">
      {editing && (
        <EditForm
          body={message.body ?? ''}
          onCancel={() => setEditing(false)}
          onSave={async (body) => {
            const result = await editMessage({ messageId: message.id, body });
            if (settle(result.data?.editMessage, result.error)) setEditing(false);
          }}
        />
      )}
      {message.reactions.length > 0 && (
        <ul className="reactions" aria-label="Reactions">
          {message.reactions.map((reaction) => (
            <li key={reaction.emoji}>
              <button type="button" aria-pressed={reaction.reactedByMe} onClick={() => void react(reaction.emoji, reaction.reactedByMe)}>
                {reaction.emoji} {reaction.count}
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="message-actions">
        <button type="button" aria-expanded={picking} onClick={() => setPicking(!picking)}>
          Add reaction
        </button>
        {mine && !editing && (
          <>
            <button type="button" onClick={() => setEditing(true)}>
              Edit
            </button>
            <button type="button" onClick={async () => {
                const result = await deleteMessage({ messageId: message.id });
                settle(result.data?.deleteMessage, result.error);
              }}
            >
              Delete
            </button>
          </>
        )}
      </div>
      {picking && (
        <div role="group" aria-label="Pick a reaction" className="reaction-picker">
          {QUICK_REACTIONS.map((emoji) => (
            <button
              key={emoji}
              type="button"
              aria-label={`React with ${emoji}`}
              onClick={() => void react(emoji, message.reactions.some((reaction) => reaction.emoji === emoji && reaction.reactedByMe))}
            >
              {emoji}
            </button>
          ))}
        </div>
      )}
      {error && <p role="alert">{error}</p>}
    </div>
  );
}

function EditForm({ body, onSave, onCancel }: { body: string; onSave: (body: string) => Promise<void>; onCancel: () => void }) {
  const [text, setText] = useState(body);
  const [saving, setSaving] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (text.trim() === '' || saving) return;
    setSaving(true);
    await onSave(text.trim()).finally(() => setSaving(false));
  };
  return (
    <form className="edit" onSubmit={submit}>
      <input aria-label="Edit message" value={text} onChange={(event) => setText(event.target.value)} autoFocus />
      <button type="submit" disabled={saving || text.trim() === ''}>
        Save
      </button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}
