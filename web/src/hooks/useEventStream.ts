import { useEffect, useRef, useState } from 'react';
import { useClient, type AnyVariables, type CombinedError, type OperationResult, type TypedDocumentNode } from 'urql';

/** Codes with which the server ends a stream that may simply be taken up again (slow reader, outage). */
const resumableCodes = new Set<unknown>(['RATE_LIMITED', 'UNAVAILABLE', 'INTERNAL_SERVER_ERROR']);
const RESUME_DELAY_MS = 1000;

const isResumable = (error: CombinedError) =>
  error.networkError !== undefined || error.graphQLErrors.some((graphQLError) => resumableCodes.has(graphQLError.extensions.code));

/**
 * Runs a subscription while the component is mounted and hands every result to onResult, in order (a reducer
 * dispatch, typically: nothing is coalesced away as with render-time state). `variables` null pauses it.
 * A stream the server ends with a resumable error is subscribed again a moment later, after onResume (which
 * may change the variables, e.g. to resume from the last item seen); other errors go to onResult.
 */
export function useEventStream<Data, Variables extends AnyVariables>(
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables | null,
  onResult: (result: OperationResult<Data, Variables>) => void,
  onResume?: () => void,
): void {
  const client = useClient();
  const handlers = useRef({ onResult, onResume });
  handlers.current = { onResult, onResume };
  const key = variables === null ? null : JSON.stringify(variables);
  const latestVariables = useRef(variables);
  latestVariables.current = variables;
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const current = latestVariables.current;
    if (key === null || current === null) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const { unsubscribe } = client.subscription(document, current).subscribe((result) => {
      if (!result.error || !isResumable(result.error)) return handlers.current.onResult(result);
      timer = setTimeout(() => {
        handlers.current.onResume?.();
        setAttempt((previous) => previous + 1);
      }, RESUME_DELAY_MS);
    });
    return () => {
      clearTimeout(timer);
      unsubscribe();
    };
  }, [client, document, key, attempt]);
}
