/** A payload as sendMessage stores it: a plain JSON object. */
export type JsonObject = { [key: string]: unknown };

export interface MessageContext {
  roomId: string;
  authorId: string;
}

/**
 * Decides which structured payloads the server accepts: the hook for custom message formats
 * (polls, cards, attachments...). The server has already checked that the payload is a plain
 * JSON object within config.limits.maxPayloadBytes and maxPayloadDepth, and holds no text PostgreSQL
 * cannot store.
 */
export interface MessageChecker {
  /** Null when the payload is acceptable, else a sentence telling the sender what to fix. */
  checkPayload(payload: JsonObject, message: MessageContext): Promise<string | null> | string | null;
}

/** The default: any plain JSON object within the size and depth limits. */
export const acceptAnyPayload: MessageChecker = { checkPayload: () => null };
