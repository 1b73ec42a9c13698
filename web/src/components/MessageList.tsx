import { useEffect, useLayoutEffect, useRef, type ReactNode } from 'react';
import { timeOf } from '../format';
import type { ChatMessage } from '../hooks/useMessages';
import { Attachments } from './Attachments';
import { MessageControls } from './MessageControls';

interface Props {
  /** The room's messages but thread replies: those show in the thread panel. */
  messages: readonly ChatMessage[];
  viewerId: string;
  hasOlder: boolean;
  loadingOlder: boolean;
  onLoadOlder: () => void;
  /** Told whether the newest message is on screen (read markers follow it). */
  onNewestVisible: (visible: boolean) => void;
  /** Opens the thread a message starts (or would start). */
  onOpenThread: (rootId: string) => void;
  /** A message this viewer edited, deleted or reacted to, in its new state. */
  onChanged: (message: ChatMessage) => void;
}

/** Within this many pixels of the bottom, new messages keep the list scrolled to the bottom. */
const STICKY_PX = 48;

export function MessageList({ messages, viewerId, hasOlder, loadingOlder, onLoadOlder, onNewestVisible, onOpenThread, onChanged }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const end = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const newestSeq = messages.at(-1)?.seq ?? 0;

  useLayoutEffect(() => {
    const element = scroller.current;
    if (element && atBottom.current) element.scrollTop = element.scrollHeight;
  }, [newestSeq]);

  useEffect(() => {
    const element = end.current;
    if (!element) return;
    const observer = new IntersectionObserver(([entry]) => onNewestVisible(entry?.isIntersecting ?? false), { root: scroller.current });
    observer.observe(element);
    return () => observer.disconnect();
  }, [onNewestVisible]);

  return (
    <div
      className="messages"
      ref={scroller}
      onScroll={(event) => {
        const element = event.currentTarget;
        atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < STICKY_PX;
      }}
    >
      {hasOlder && (
        <button type="button" className="older" onClick={onLoadOlder} disabled={loadingOlder}>
          Load older
        </button>
      )}
      <ol role="log" aria-label="Messages">
        {messages.map((message) => (
          <MessageItem key={message.seq} message={message} viewerId={viewerId} onChanged={onChanged}>
            {/* A deleted message starts no thread, but keeps the one it has. */}
            {(message.thread || message.deletedAt === null) && <ThreadLink message={message} onOpen={() => onOpenThread(message.id)} />}
          </MessageItem>
        ))}
      </ol>
      <div ref={end} className="end" />
    </div>
  );
}

interface ItemProps {
  message: ChatMessage;
  viewerId: string;
  /** Given, the message offers reactions, and edit and delete to its author (see MessageControls). */
  onChanged?: (message: ChatMessage) => void;
  children?: ReactNode;
}

/** One message: who, when, what (edited or not), its files, what one can do to it; children add what the list offers on it. */
export function MessageItem({ message, viewerId, onChanged, children }: ItemProps) {
  return (
    <li data-seq={message.seq} className={message.author?.id === viewerId ? 'message mine' : 'message'}>
      <span className="author">{message.author?.displayName ?? 'Deleted account'}</span>
      <time dateTime={message.createdAt}>{timeOf(message.createdAt)}</time>
      {message.editedAt && message.deletedAt === null && <span className="muted edited">(edited)</span>}
      {message.deletedAt !== null ? (
        <p className="body deleted">Message deleted</p>
      ) : (
        // Null for a message of attachments or a payload alone.
        message.body !== null && <p className="body">{message.body}</p>
      )}
      <Attachments messageId={message.id} attachments={message.attachments} />
      {onChanged && <MessageControls message={message} viewerId={viewerId} onChanged={onChanged} />}
      {children}
    </li>
  );
}

/** "N replies" and who replied, opening the thread; "Reply in thread" on a message without one. */
function ThreadLink({ message, onOpen }: { message: ChatMessage; onOpen: () => void }) {
  const { thread } = message;
  return (
    <div className="thread-link">
      <button type="button" onClick={onOpen}>
        {thread ? replyCountText(thread.replyCount) : 'Reply in thread'}
      </button>
      {thread && <ThreadSummaryText thread={thread} />}
    </div>
  );
}

export function replyCountText(count: number): string {
  return count === 1 ? '1 reply' : `${count} replies`;
}

/** Who replied and when the last reply came. */
export function ThreadSummaryText({ thread }: { thread: NonNullable<ChatMessage['thread']> }) {
  const names = thread.participants.map((user) => user.displayName).join(', ');
  return (
    <span className="muted">
      {names && `${names} · `}last reply <time dateTime={thread.lastReplyAt}>{timeOf(thread.lastReplyAt)}</time>
    </span>
  );
}
