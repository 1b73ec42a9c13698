import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { fail } from '../errors.js';

/** The signed-in user, as proven by a token. */
export interface Viewer {
  id: string;
  /** Unix seconds at which the token stops being valid. */
  expiresAt: number;
}

export interface TokenService {
  issue(userId: string): Promise<string>;
  /** Verifies a token; throws UNAUTHENTICATED when it is invalid or expired. */
  verify(token: string): Promise<Viewer>;
}

/** Verified tokens remembered at most; past that the oldest is forgotten (and verified again if it comes back). */
const REMEMBERED_TOKENS = 10_000;

export function createTokenService(secret: Uint8Array, ttlSeconds: number): TokenService {
  // A token's signature check has one answer for its whole life, and a client sends the same token
  // with every request: each is verified once, and only its expiry is checked again.
  const verified = new Map<string, Viewer>();
  const verifySignature = async (token: string): Promise<Viewer> => {
    try {
      const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'] });
      if (!payload.sub || typeof payload.exp !== 'number') throw fail.unauthenticated('The token is not valid: log in again.');
      return { id: payload.sub, expiresAt: payload.exp };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw fail.tokenExpired();
      throw fail.unauthenticated('The token is not valid: log in again.');
    }
  };
  return {
    issue: (userId) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
        .sign(secret),
    verify: async (token) => {
      let viewer = verified.get(token);
      if (!viewer) {
        viewer = await verifySignature(token);
        if (verified.size >= REMEMBERED_TOKENS) verified.delete(verified.keys().next().value!);
        verified.set(token, viewer);
      }
      // As jose judges expiry: expired from the second `exp` names.
      if (viewer.expiresAt <= Math.floor(Date.now() / 1000)) {
        verified.delete(token);
        throw fail.tokenExpired();
      }
      return viewer;
    },
  };
}

/** "Bearer <token>" → token; null when there is no such header. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw fail.unauthenticated('The Authorization header must be "Bearer <token>".');
  return match[1] as string;
}
