import { Prisma } from '../generated/prisma/client.js';

/**
 * True when error is a unique-constraint violation, optionally on a constraint whose name or fields
 * mention `hint`: P2002 from the query builder, or P2010 wrapping the driver's error for raw SQL.
 * Through driver adapters the constraint sits under meta.driverAdapterError.cause.constraint, not meta.target.
 * Also the driver's own error (23505), for statements run past Prisma (Database.queryRows).
 */
export function isUniqueViolation(error: unknown, hint?: string): boolean {
  const postgres = postgresError(error);
  if (postgres) return postgres.code === '23505' && (!hint || (postgres.constraint ?? '').includes(hint));
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false;
  const meta = JSON.stringify(error.meta ?? {});
  const unique = error.code === 'P2002' || (error.code === 'P2010' && meta.includes('"kind":"UniqueConstraintViolation"'));
  return unique && (!hint || meta.includes(hint));
}

/** True when error is Prisma's "record to update or delete does not exist" (P2025). */
export function isRecordMissing(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2025';
}

/**
 * True when PostgreSQL aborted the statement to break a deadlock (or a serialization failure): the
 * driver adapter reports both as TransactionWriteConflict (P2034, or P2010 wrapping it for raw SQL);
 * the driver's own error carries their SQLSTATEs, 40P01 and 40001.
 */
export function isDeadlock(error: unknown): boolean {
  const postgres = postgresError(error);
  if (postgres) return postgres.code === '40P01' || postgres.code === '40001';
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false;
  return error.code === 'P2034' || (error.code === 'P2010' && JSON.stringify(error.meta ?? {}).includes('"kind":"TransactionWriteConflict"'));
}

/**
 * PostgreSQL's error as the driver raises it past Prisma: pg's DatabaseError, or PGlite's as it
 * crosses from its thread (a plain Error with the same fields). Both carry the SQLSTATE in `code`
 * beside a `severity`.
 */
function postgresError(error: unknown): { code: string; constraint?: string } | null {
  if (!(error instanceof Error)) return null;
  const { code, severity, constraint } = error as Error & Record<string, unknown>;
  if (typeof code !== 'string' || typeof severity !== 'string') return null;
  return { code, constraint: typeof constraint === 'string' ? constraint : undefined };
}
