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

export function createTokenService(secret: Uint8Array, ttlSeconds: number): TokenService {
  return {
    issue: (userId) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
        .sign(secret),
    verify: async (token) => {
      try {
        const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'] });
        if (!payload.sub || typeof payload.exp !== 'number') throw fail.unauthenticated('The token is not valid: log in again.');
        return { id: payload.sub, expiresAt: payload.exp };
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) throw fail.tokenExpired();
        throw fail.unauthenticated('The token is not valid: log in again.');
      }
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
