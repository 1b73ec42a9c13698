/**
 * Reads a `timestamp` column's text (Prisma's DateTime: UTC, stored without a zone) as UTC, as Prisma
 * does. The drivers' own parsers read it in the process's time zone (pg) or as a local date-time (PGlite).
 */
export const parseUtcTimestamp = (text: string): Date => new Date(`${text.replace(' ', 'T')}Z`);

/** PostgreSQL's type id of `timestamp` (without time zone). */
export const TIMESTAMP_OID = 1114;
