import { randomBytes } from 'node:crypto';
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { fail } from './errors.js';

/** The node types whose global IDs clients pass back as arguments. */
export type NodeType = 'User' | 'Room' | 'Message' | 'Session';

export const globalId = (type: NodeType, id: string): string => encodeGlobalID(type, id);

/** Decodes a global ID argument, failing with BAD_USER_INPUT when it is malformed or of another type. */
export function parseId(type: NodeType, value: string, argument: string): string {
  let decoded: { typename: string; id: string };
  try {
    decoded = decodeGlobalID(value);
  } catch {
    throw fail.badInput(`"${argument}" is not a valid ${type} ID.`, argument);
  }
  if (decoded.typename !== type || decoded.id === '') {
    throw fail.badInput(`"${argument}" is not a valid ${type} ID.`, argument);
  }
  return decoded.id;
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
