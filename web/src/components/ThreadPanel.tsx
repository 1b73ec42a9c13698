import type { ChatMessage } from '../hooks/useMessages';
import type { useThread } from '../hooks/useThread';
import { Composer } from './Composer';
import { MessageItem, replyCountText, ThreadSummaryText } from './MessageList';

interface Props {
  roomId: string;
  viewerId: string;
  /** The thread's first message, as the room shows it (its summary kept current there). */
  root: ChatMessage;
  thread: ReturnType<typeof useThread>;
  onSent: (reply: ChatMessage) => void;
  onClose: () => void;
}

/** A thread beside its room: the root, its replies (live), and a box to reply in it. */
export function ThreadPanel({ roomId, viewerId, root, thread, onSent, onClose }: Props) {
  return (
    <aside className="thread" aria-label="Thread">
      <header className="thread-header">
        <h2>Thread</h2>
        <button type="button" onClick={onClose} aria-label="Close thread">
          ×
        </button>
      </header>
      <div className="messages">
        <ol aria-label="Thread root">
          <MessageItem message={root} viewerId={viewerId}>
            {root.thread && (
              <p className="thread-link">
                <strong>{replyCountText(root.thread.replyCount)}</strong> <ThreadSummaryText thread={root.thread} />
              </p>
            )}
          </MessageItem>
        </ol>
        {thread.error && <p role="alert">{thread.error}</p>}
        <ol role="log" aria-label="Replies">
          {thread.replies.map((reply) => (
            <MessageItem key={reply.seq} message={reply} viewerId={viewerId} />
          ))}
        </ol>
        {thread.hasMore && (
          <button type="button" className="older" onClick={thread.loadMore} disabled={thread.loadingMore}>
            Load more replies
          </button>
        )}
      </div>
      <Composer roomId={roomId} replyToId={root.id} label="Reply" onSent={onSent} />
    </aside>
  );
}
