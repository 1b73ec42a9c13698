import type { Limits } from '../config.js';
import { fail } from '../errors.js';
import type { JsonObject } from './checker.js';

const MAX_EMOJI = 32;
const MAX_CLIENT_MESSAGE_ID = 64;

/** Length in code points, so an emoji counts as one character. */
const length = (text: string) => [...text].length;

/**
 * A message body: trimmed, 1 to limits.maxMessageLength characters. (Text PostgreSQL cannot store,
 * such as U+0000, is refused with every other argument: see input-text.ts.)
 */
export function validBody(limits: Limits, body: string): string {
  const trimmed = body.trim();
  if (length(trimmed) === 0 || length(trimmed) > limits.maxMessageLength) {
    throw fail.badInput(`A message body must be 1–${limits.maxMessageLength} characters (after trimming).`, 'body');
  }
  return trimmed;
}

/**
 * A payload: a plain JSON object of at most limits.maxPayloadBytes bytes serialized, nested at most
 * limits.maxPayloadDepth levels. Measured with an explicit stack, stopping at the first limit passed:
 * a payload nested thousands deep would overflow the call stack of anything recursive (JSON.stringify).
 */
export function validPayload(limits: Limits, payload: unknown): JsonObject {
  if (!isObject(payload)) throw fail.badInput('A message payload must be a JSON object.', 'payload');
  let bytes = 0;
  const stack: { value: unknown; depth: number }[] = [{ value: payload, depth: 1 }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { value, depth } = item;
    if (Array.isArray(value) || isObject(value)) {
      if (depth > limits.maxPayloadDepth) {
        throw fail.badInput(`A message payload must nest at most ${limits.maxPayloadDepth} levels of objects and arrays.`, 'payload');
      }
      const entries = Array.isArray(value) ? value.map((element: unknown) => [null, element] as const) : Object.entries(value);
      // Brackets, and a comma between entries.
      bytes += 2 + Math.max(0, entries.length - 1);
      for (const [key, element] of entries) {
        // "key": (JSON.stringify skips undefined members; JSON input has none.)
        if (key !== null) bytes += jsonBytes(key) + 1;
        stack.push({ value: element, depth: depth + 1 });
      }
    } else {
      bytes += jsonBytes(value);
    }
    if (bytes > limits.maxPayloadBytes) {
      throw fail.badInput(`A message payload must be at most ${limits.maxPayloadBytes} bytes as JSON.`, 'payload');
    }
  }
  return payload as JsonObject;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Bytes of a string, number, boolean or null serialized as JSON. */
const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? 'null');

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
