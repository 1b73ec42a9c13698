import { Prisma } from '../generated/prisma/client.js';

/**
 * True when error is a unique-constraint violation (P2002), optionally on a constraint whose
 * name or fields mention `hint`. Through driver adapters the constraint sits under
 * meta.driverAdapterError.cause.constraint, not meta.target.
 */
export function isUniqueViolation(error: unknown, hint?: string): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false;
  // P2002 from the query builder; P2010 wraps the driver's error for raw SQL.
  const raw = error.code === 'P2010' && JSON.stringify(error.meta ?? {}).includes('"kind":"UniqueConstraintViolation"');
  if (error.code !== 'P2002' && !raw) return false;
  if (!hint) return true;
  return JSON.stringify(error.meta ?? {}).includes(hint);
}

/** True when error is Prisma's "record to update or delete does not exist" (P2025). */
export function isRecordMissing(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2025';
}
