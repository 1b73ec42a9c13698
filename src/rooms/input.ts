import { fail } from '../errors.js';

const MAX_NAME = 100;
const MAX_TOPIC = 500;
const MAX_BAN_REASON = 500;
/** Users one createRoom or addMembers call may add: bounds the work of a single request. */
export const MAX_USERS_PER_CALL = 100;

/** Trimmed text of at most max characters; no control characters, since it is shown in UIs and logs. */
function trimmedText(text: string, max: number, field: string, what: string): string {
  const trimmed = text.trim();
  if (trimmed.length > max || /\p{Cc}/u.test(trimmed)) {
    throw fail.badInput(`${what} must be at most ${max} printable characters, on one line.`, field);
  }
  return trimmed;
}

export function validRoomName(name: string): string {
  const trimmed = trimmedText(name, MAX_NAME, 'name', 'A room name');
  if (trimmed.length === 0) throw fail.badInput('A room name must not be blank.', 'name');
  return trimmed;
}

/** Blank means no topic. */
export const validTopic = (topic: string | null | undefined): string | null =>
  trimmedText(topic ?? '', MAX_TOPIC, 'topic', 'A room topic') || null;

/** Blank means no reason. */
export const validBanReason = (reason: string | null | undefined): string | null =>
  trimmedText(reason ?? '', MAX_BAN_REASON, 'reason', 'A ban reason') || null;

/** The user ids, each once, in the order given; at most MAX_USERS_PER_CALL. */
export function distinctUserIds(userIds: readonly string[], argument: string): string[] {
  const distinct = [...new Set(userIds)];
  if (distinct.length > MAX_USERS_PER_CALL) {
    throw fail.badInput(`Add at most ${MAX_USERS_PER_CALL} users at a time.`, argument);
  }
  return distinct;
}
