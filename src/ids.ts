import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { fail } from './errors.js';

/** The node types whose global IDs clients pass back as arguments. */
export type NodeType = 'User' | 'Room' | 'Message';

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
