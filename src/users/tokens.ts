import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { fail } from '../errors.js';
import type { SessionCache } from './session-cache.js';

/** The signed-in user, as proven by a token. */
export interface Viewer {
  id: string;
  /** The session the token belongs to (users/sessions.ts). */
  sessionId: string;
  /** Unix seconds at which the token stops being valid. */
  expiresAt: number;
}

export interface TokenService {
  /** A token of the session, valid until the session expires. */
  issue(session: { id: string; userId: string; expiresAt: Date }): Promise<string>;
  /** Verifies a token; throws UNAUTHENTICATED when it is invalid or expired or its session has ended. */
  verify(token: string): Promise<Viewer>;
}

/** Verified tokens remembered at most; past that the oldest is forgotten (and verified again if it comes back). */
const REMEMBERED_TOKENS = 10_000;

export function createTokenService(secret: Uint8Array, sessions: SessionCache): TokenService {
  // A token's signature check has one answer for its whole life, and a client sends the same token
  // with every request: each is verified once, and only its expiry and session are checked again
  // (both in memory).
  const verified = new Map<string, Viewer>();
  const verifySignature = async (token: string): Promise<Viewer> => {
    let claims: { sub?: string; exp?: number; sid?: unknown };
    try {
      claims = (await jwtVerify(token, secret, { algorithms: ['HS256'] })).payload;
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw fail.tokenExpired();
      throw fail.unauthenticated('The token is not valid: log in again.');
    }
    if (!claims.sub || typeof claims.exp !== 'number') throw fail.unauthenticated('The token is not valid: log in again.');
    // Tokens issued before sessions existed name none: nothing could end them, so they are refused.
    if (typeof claims.sid !== 'string') throw fail.sessionEnded();
    return { id: claims.sub, sessionId: claims.sid, expiresAt: claims.exp };
  };
  return {
    issue: (session) =>
      new SignJWT({ sid: session.id })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(session.userId)
        .setIssuedAt()
        .setExpirationTime(Math.floor(session.expiresAt.getTime() / 1000))
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
      const live = sessions.isLive(viewer.sessionId, viewer.id);
      if (!(typeof live === 'boolean' ? live : await live)) {
        verified.delete(token);
        throw fail.sessionEnded();
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
