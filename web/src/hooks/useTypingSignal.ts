import { useCallback, useEffect, useRef } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../gql';

const SetTyping = graphql(`
  mutation SetTyping($roomId: ID!, $typing: Boolean!) {
    setTyping(roomId: $roomId, typing: $typing)
  }
`);

/** Refresh well within the server's TYPING_TIMEOUT (6 s by default), which ends the indicator by itself. */
const REFRESH_MS = 3000;

/**
 * Tells the room this person is typing: on the first keystroke, again every few seconds while they go on,
 * and that they stopped when the text is cleared or they leave the room. Sending stops it on the server.
 */
export function useTypingSignal(roomId: string) {
  const [, setTyping] = useMutation(SetTyping);
  const lastSent = useRef(0);

  const stop = useCallback(() => {
    if (lastSent.current === 0) return;
    lastSent.current = 0;
    void setTyping({ roomId, typing: false });
  }, [roomId, setTyping]);

  const onText = useCallback(
    (text: string) => {
      if (text.trim() === '') return stop();
      if (Date.now() - lastSent.current < REFRESH_MS) return;
      lastSent.current = Date.now();
      void setTyping({ roomId, typing: true });
    },
    [roomId, setTyping, stop],
  );

  /** After a send, which the server takes as the end of typing. */
  const onSent = useCallback(() => {
    lastSent.current = 0;
  }, []);

  useEffect(() => stop, [stop]);
  return { onText, onSent };
}
