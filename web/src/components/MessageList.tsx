import { useEffect, useLayoutEffect, useRef } from 'react';
import type { ChatMessage } from '../hooks/useMessages';

interface Props {
  messages: readonly ChatMessage[];
  viewerId: string;
  hasOlder: boolean;
  loadingOlder: boolean;
  onLoadOlder: () => void;
  /** Told whether the newest message is on screen (read markers follow it). */
  onNewestVisible: (visible: boolean) => void;
}

/** Within this many pixels of the bottom, new messages keep the list scrolled to the bottom. */
const STICKY_PX = 48;

export function MessageList({ messages, viewerId, hasOlder, loadingOlder, onLoadOlder, onNewestVisible }: Props) {
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
          <li key={message.seq} data-seq={message.seq} className={message.author?.id === viewerId ? 'message mine' : 'message'}>
            <span className="author">{message.author?.displayName ?? 'Deleted account'}</span>
            <time dateTime={message.createdAt}>{timeOf(message.createdAt)}</time>
            {message.body === null ? <p className="body deleted">Message deleted</p> : <p className="body">{message.body}</p>}
          </li>
        ))}
      </ol>
      <div ref={end} className="end" />
    </div>
  );
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const timeOf = (iso: string) => timeFormat.format(new Date(iso));
