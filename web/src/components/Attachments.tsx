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

/**
 * A message's files: images inline at their size (known, so the list does not jump as they load), other
 * files as download links. The URLs are signed, so <img> and links need no token.
 */
export function Attachments({ attachments }: { attachments: readonly ChatAttachmentFragment[] }) {
  if (attachments.length === 0) return null;
  return (
    <ul className="attachments" aria-label="Attachments">
      {attachments.map((attachment) => (
        <li key={attachment.id}>
          {attachment.contentType.startsWith('image/') && attachment.width && attachment.height ? (
            <a href={attachment.url} target="_blank" rel="noreferrer">
              <img src={attachment.url} alt={attachment.name} width={attachment.width} height={attachment.height} />
            </a>
          ) : (
            <a href={attachment.url} download={attachment.name}>
              {attachment.name}
            </a>
          )}
          <span className="muted"> {formatBytes(attachment.size)}</span>
        </li>
      ))}
    </ul>
  );
}
