import type { Limits } from '../config.js';
import { fail } from '../errors.js';
import type { JsonObject } from './checker.js';

const MAX_EMOJI = 32;
const MAX_CLIENT_MESSAGE_ID = 64;

/** Length in code points, so an emoji counts as one character. */
const length = (text: string) => [...text].length;

// PostgreSQL text and jsonb cannot hold U+0000: refuse it as input instead of failing in the database.
const hasNul = (text: string) => text.includes('\u0000');

/** A message body: trimmed, 1 to limits.maxMessageLength characters. */
export function validBody(limits: Limits, body: string): string {
  const trimmed = body.trim();
  if (length(trimmed) === 0 || length(trimmed) > limits.maxMessageLength) {
    throw fail.badInput(`A message body must be 1–${limits.maxMessageLength} characters (after trimming).`, 'body');
  }
  if (hasNul(trimmed)) throw fail.badInput('A message body must not contain the character U+0000.', 'body');
  return trimmed;
}

/** A payload: a plain JSON object of at most limits.maxPayloadBytes bytes serialized. */
export function validPayload(limits: Limits, payload: unknown): JsonObject {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw fail.badInput('A message payload must be a JSON object.', 'payload');
  }
  let nul = false;
  const serialized = JSON.stringify(payload, (key, value: unknown) => {
    nul ||= hasNul(key) || (typeof value === 'string' && hasNul(value));
    return value;
  });
  if (nul) throw fail.badInput('A message payload must not contain the character U+0000.', 'payload');
  if (Buffer.byteLength(serialized) > limits.maxPayloadBytes) {
    throw fail.badInput(`A message payload must be at most ${limits.maxPayloadBytes} bytes as JSON.`, 'payload');
  }
  return payload as JsonObject;
}

/** An emoji (or short code such as ":tada:"): 1–32 characters, no spaces or control characters. */
export function validEmoji(emoji: string): string {
  if (length(emoji) === 0 || length(emoji) > MAX_EMOJI || /[\p{Cc}\s]/u.test(emoji)) {
    throw fail.badInput(`An emoji must be 1–${MAX_EMOJI} characters without spaces.`, 'emoji');
  }
  return emoji;
}

/** The sender's idempotency key: 1–64 characters, no control characters. */
export function validClientMessageId(clientMessageId: string): string {
  if (length(clientMessageId) === 0 || length(clientMessageId) > MAX_CLIENT_MESSAGE_ID || /\p{Cc}/u.test(clientMessageId)) {
    throw fail.badInput(
      `A clientMessageId must be 1–${MAX_CLIENT_MESSAGE_ID} characters without control characters.`,
      'clientMessageId',
    );
  }
  return clientMessageId;
}

export function validReadSeq(seq: number): number {
  if (seq < 0) throw fail.badInput('seq must be 0 or more: the seq of the newest message read.', 'seq');
  return seq;
}
