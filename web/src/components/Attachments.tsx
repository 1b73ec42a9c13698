import { useCallback, useState, type MouseEvent } from 'react';
import { useClient } from 'urql';
import { formatBytes } from '../format';
import { graphql } from '../gql';
import type { ChatAttachmentFragment } from '../gql/graphql';

graphql(`
  fragment ChatAttachment on Attachment {
    id
    name
    contentType
    size
    width
    height
    url
  }
`);

const AttachmentUrls = graphql(`
  query AttachmentUrls($messageId: ID!) {
    node(id: $messageId) {
      ... on Message {
        id
        attachments {
          id
          url
        }
      }
    }
  }
`);

/**
 * A message's files: images inline at their size (known, so the list does not jump as they load), other
 * files as download links. The URLs are signed, so <img> and links need no token; they expire
 * (FILE_URL_TTL), so a page left open outlives them: see useFreshUrls.
 */
export function Attachments({ messageId, attachments }: { messageId: string; attachments: readonly ChatAttachmentFragment[] }) {
  const { urlOf, onBroken, onFollow } = useFreshUrls(messageId);
  if (attachments.length === 0) return null;
  return (
    <ul className="attachments" aria-label="Attachments">
      {attachments.map((attachment) => (
        <li key={attachment.id}>
          {attachment.contentType.startsWith('image/') && attachment.width && attachment.height ? (
            <a href={urlOf(attachment)} target="_blank" rel="noreferrer" onClick={(event) => onFollow(event, attachment)}>
              <img
                src={urlOf(attachment)}
                alt={attachment.name}
                width={attachment.width}
                height={attachment.height}
                onError={() => onBroken(attachment)}
              />
            </a>
          ) : (
            <a href={urlOf(attachment)} download={attachment.name} onClick={(event) => onFollow(event, attachment)}>
              {attachment.name}
            </a>
          )}
          <span className="muted"> {formatBytes(attachment.size)}</span>
        </li>
      ))}
    </ul>
  );
}

type Attachment = Pick<ChatAttachmentFragment, 'id' | 'url'>;

/**
 * The message's attachment URLs, renewed when one has expired: an image that fails to load, or a link
 * followed past its expiry (a link's failure cannot be seen), reads the message's URLs again and uses
 * the new one. A renewed URL that fails before its own expiry stays broken
 * (the file is gone, say) rather than asking again and again.
 */
function useFreshUrls(messageId: string) {
  const client = useClient();
  // By attachment id: the URL the message came with and the one read since.
  const [renewed, setRenewed] = useState<ReadonlyMap<string, { original: string; fresh: string }>>(new Map());

  const urlOf = useCallback(
    (attachment: Attachment) => {
      const renewal = renewed.get(attachment.id);
      return renewal?.original === attachment.url ? renewal.fresh : attachment.url;
    },
    [renewed],
  );

  /** Resolves with the attachment's fresh URL, or null when there is none to be had. */
  const renew = useCallback(
    async (attachment: Attachment): Promise<string | null> => {
      const failed = urlOf(attachment);
      if (failed !== attachment.url && !expired(failed)) return null;
      const result = await client.query(AttachmentUrls, { messageId }).toPromise();
      const node = result.data?.node;
      const fresh = node && 'attachments' in node ? node.attachments.find((candidate) => candidate.id === attachment.id)?.url : undefined;
      if (!fresh) return null;
      setRenewed((previous) => new Map(previous).set(attachment.id, { original: attachment.url, fresh }));
      return fresh;
    },
    [client, messageId, urlOf],
  );

  const onBroken = useCallback((attachment: Attachment) => void renew(attachment), [renew]);

  const onFollow = useCallback(
    (event: MouseEvent<HTMLAnchorElement>, attachment: Attachment) => {
      const link = event.currentTarget;
      if (!expired(link.href)) return;
      event.preventDefault();
      void renew(attachment).then((fresh) => {
        if (!fresh) return;
        link.href = fresh;
        link.click();
      });
    },
    [renew],
  );

  return { urlOf, onBroken, onFollow };
}

/** Whether a signed URL's expiry (its expires parameter, in Unix seconds) has passed by this clock. */
function expired(url: string): boolean {
  const expires = Number(new URL(url, window.location.href).searchParams.get('expires'));
  return Number.isFinite(expires) && expires > 0 && expires * 1000 <= Date.now();
}
