import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed download URLs: /files/<id>?expires=<unix seconds>&signature=<HMAC-SHA256 of "id.expires">,
 * keyed with the JWT secret so every instance accepts the others' URLs. Whoever holds the URL may
 * download the file until it expires (so <img src> works without headers).
 */
export function signedFileUrl(secret: Uint8Array, id: string, ttlSeconds: number, now = Date.now()): string {
  const expires = Math.floor(now / 1000) + ttlSeconds;
  return `/files/${id}?expires=${expires}&signature=${sign(secret, id, expires)}`;
}

/** 'valid', 'expired' (signed by this server, too late) or 'invalid' (not signed by it, or for another file). */
export function checkFileUrl(secret: Uint8Array, id: string, query: URLSearchParams, now = Date.now()): 'valid' | 'expired' | 'invalid' {
  const expires = Number(query.get('expires'));
  const signature = Buffer.from(query.get('signature') ?? '', 'base64url');
  if (!Number.isSafeInteger(expires)) return 'invalid';
  const expected = Buffer.from(sign(secret, id, expires), 'base64url');
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return 'invalid';
  return expires * 1000 < now ? 'expired' : 'valid';
}

const sign = (secret: Uint8Array, id: string, expires: number) =>
  createHmac('sha256', secret).update(`${id}.${expires}`).digest('base64url');
