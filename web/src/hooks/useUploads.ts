import { useCallback, useRef, useState } from 'react';
import { useClient } from 'urql';
import { uploadErrorMessage } from '../errors';
import { graphql } from '../gql';
import type { ChatAttachmentFragment } from '../gql/graphql';

// urql sends a mutation whose variables hold a File as a multipart request (the GraphQL multipart
// request spec), which graphql-yoga reads.
const UploadAttachment = graphql(`
  mutation UploadAttachment($roomId: ID!, $file: File!) {
    uploadAttachment(roomId: $roomId, file: $file) {
      ...ChatAttachment
    }
  }
`);

export interface Upload {
  key: number;
  name: string;
  /** Null while it uploads. */
  attachment: ChatAttachmentFragment | null;
}

/** Files picked for the next message: each uploaded to the room at once, sent by id with the message. */
export function useUploads(roomId: string) {
  const client = useClient();
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [error, setError] = useState<string | null>(null);
  const nextKey = useRef(0);

  const add = useCallback(
    (files: readonly File[]) => {
      setError(null);
      for (const file of files) {
        const key = nextKey.current++;
        setUploads((previous) => [...previous, { key, name: file.name, attachment: null }]);
        void client
          .mutation(UploadAttachment, { roomId, file })
          .toPromise()
          .then((result) => {
            const attachment = result.data?.uploadAttachment;
            setUploads((previous) =>
              attachment ? previous.map((upload) => (upload.key === key ? { ...upload, attachment } : upload)) : previous.filter((upload) => upload.key !== key),
            );
            if (!attachment && result.error) setError(uploadErrorMessage(result.error, file));
          });
      }
    },
    [client, roomId],
  );

  /** Takes files off the list, once sent or left out (the server deletes uploads never attached after a day). */
  const remove = useCallback((keys: readonly number[]) => setUploads((previous) => previous.filter((upload) => !keys.includes(upload.key))), []);

  return { uploads, uploading: uploads.some((upload) => upload.attachment === null), add, remove, error };
}
