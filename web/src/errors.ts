import type { CombinedError } from 'urql';

/** What to tell the person: the server's message (it is written for them), else the network's. */
export function errorMessage(error: CombinedError): string {
  return error.graphQLErrors[0]?.message ?? (error.networkError ? 'The server cannot be reached. Try again in a moment.' : error.message);
}
