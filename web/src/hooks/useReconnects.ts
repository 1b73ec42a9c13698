import { useEffect, useState } from 'react';
import { useApi } from '../api-context';

/** Counts the socket's reconnections: what was live before may have missed events, so resume or refetch. */
export function useReconnects(): number {
  const { socket } = useApi();
  const [count, setCount] = useState(0);
  useEffect(
    () =>
      socket?.on('connected', (_socket, _payload, wasRetry) => {
        if (wasRetry) setCount((previous) => previous + 1);
      }),
    [socket],
  );
  return count;
}
