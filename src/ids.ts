import { randomBytes } from 'node:crypto';
import { parsePrismaCursor } from '@pothos/plugin-prisma';
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { fail } from './errors.js';
import { unstorable } from './input-text.js';

/** The node types whose global IDs clients pass back as arguments. */
export type NodeType = 'User' | 'Room' | 'Message' | 'Session' | 'Attachment';

export const globalId = (type: NodeType, id: string): string => encodeGlobalID(type, id);

/** Longer than any id Parley makes (a UUID is 36 characters): such an id cannot be one of ours. */
const MAX_ID_LENGTH = 100;

/**
 * Decodes a global ID argument, failing with BAD_USER_INPUT when it is malformed: not base64 of
 * "Type:id", or an id with control characters (U+0000 would fail in SQL) or longer than any of ours.
 * A well-formed id of nothing is not an error here: it finds nothing (null, or NOT_FOUND).
 */
export function decodeId(value: string, argument: string, type?: NodeType): { typename: string; id: string } {
  let decoded: { typename: string; id: string } | null = null;
  try {
    decoded = decodeGlobalID(value);
  } catch {
    // Reported below.
  }
  if (!decoded || decoded.id.length > MAX_ID_LENGTH || /\p{Cc}/u.test(decoded.id)) {
    throw fail.badInput(`"${argument}" is not a valid ${type ? `${type} ` : ''}ID.`, argument);
  }
  return decoded;
}

/** Decodes a global ID argument of one type, failing with BAD_USER_INPUT when it is malformed or of another type. */
export function parseId(type: NodeType, value: string, argument: string): string {
  const decoded = decodeId(value, argument, type);
  if (decoded.typename !== type) throw fail.badInput(`"${argument}" is not a valid ${type} ID.`, argument);
  return decoded.id;
}

/**
 * Refuses an `after`/`before` of a Prisma connection (t.prismaConnection, t.relatedConnection) that is
 * not `columns` storable strings (one, or a tuple of them): pothos decodes a cursor's values without
 * checking them against the cursor's columns (all of them text here), and Prisma would fail on them.
 */
export function checkPrismaCursors(args: { after?: string | null; before?: string | null }, columns: number): void {
  for (const argument of ['after', 'before'] as const) {
    const cursor = args[argument];
    if (cursor == null) continue;
    let parts: unknown[] = [];
    try {
      const parsed: unknown = parsePrismaCursor(cursor);
      parts = columns === 1 ? [parsed] : Array.isArray(parsed) ? parsed : [];
    } catch {
      // Reported below.
    }
    if (parts.length !== columns || !parts.every((part) => typeof part === 'string' && unstorable(part) === null)) {
      throw fail.badInput(`"${argument}" is not a cursor from this list: pass an edge's cursor back unchanged.`, argument);
    }
  }
}

const RANDOM_BLOCK = 4096;
let randomPool = Buffer.alloc(0);
let randomOffset = 0;

/** A UUID version 7 (time-ordered), as Prisma's `@default(uuid(7))` makes, for rows written in SQL. */
export function uuidv7(): string {
  // Random bytes come in blocks: one call into the system's generator per 400 ids, not one each.
  if (randomOffset + 10 > randomPool.length) {
    randomPool = randomBytes(RANDOM_BLOCK);
    randomOffset = 0;
  }
  const bytes = Buffer.allocUnsafe(16);
  bytes.writeUIntBE(Date.now(), 0, 6);
  randomPool.copy(bytes, 6, randomOffset, randomOffset + 10);
  randomOffset += 10;
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
