import { useEffect, useRef } from 'react';
import { useClient, type AnyVariables, type OperationResult, type TypedDocumentNode } from 'urql';

/**
 * Runs a subscription while the component is mounted and hands every result to onResult, in order (a reducer
 * dispatch, typically: nothing is coalesced away as with render-time state). `variables` null pauses it;
 * a new `restartKey` subscribes again (with the variables as they are then).
 */
export function useEventStream<Data, Variables extends AnyVariables>(
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables | null,
  onResult: (result: OperationResult<Data, Variables>) => void,
  restartKey: unknown = null,
): void {
  const client = useClient();
  const handler = useRef(onResult);
  handler.current = onResult;
  const key = variables === null ? null : JSON.stringify(variables);
  const latestVariables = useRef(variables);
  latestVariables.current = variables;
  useEffect(() => {
    const current = latestVariables.current;
    if (key === null || current === null) return;
    const { unsubscribe } = client.subscription(document, current).subscribe((result) => handler.current(result));
    return unsubscribe;
  }, [client, document, key, restartKey]);
}
