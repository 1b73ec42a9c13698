import { randomUUID } from 'node:crypto';

/** Ids a proxy or client may send (UUIDs, ULIDs, trace ids...): short, printable, nothing a log line could misread. */
const SANE_ID = /^[\w.:+/=-]{1,128}$/;

/** The request's id: X-Request-Id when a proxy or client sent a sane one, a new UUID otherwise. */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE_ID.test(header) ? header : randomUUID();
}
