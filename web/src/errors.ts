import type { CombinedError } from 'urql';
import { formatBytes } from './format';

/** What to tell the person: the server's message (it is written for them), else the network's. */
export function errorMessage(error: CombinedError): string {
  return error.graphQLErrors[0]?.message ?? (error.networkError ? 'The server cannot be reached. Try again in a moment.' : error.message);
}

/**
 * Why a file was not uploaded, naming it: too large (PAYLOAD_TOO_LARGE, from the file's limit or the
 * request's), or refused as input (its type not accepted, empty: the server's message says which).
 */
export function uploadErrorMessage(error: CombinedError, file: File): string {
  const code = error.graphQLErrors[0]?.extensions.code;
  if (code === 'PAYLOAD_TOO_LARGE') return `“${file.name}” is too large to send (${formatBytes(file.size)}).`;
  if (code === 'BAD_USER_INPUT') return `“${file.name}” cannot be sent: ${errorMessage(error)}`;
  return errorMessage(error);
}
