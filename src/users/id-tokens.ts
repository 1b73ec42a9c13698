import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { OidcSettings } from '../config.js';
import { fail } from '../errors.js';

/** Who an OpenID Connect ID token says signed in, once verified. */
export interface IdTokenClaims {
  issuer: string;
  subject: string;
  /** Unix seconds (iat). */
  issuedAt: number;
  preferredUsername: string | null;
  email: string | null;
  name: string | null;
}

export interface IdTokenVerifier {
  /** Verifies an ID token of the configured issuer for the configured client; UNAUTHENTICATED, saying why, when it is not valid. */
  verify(idToken: string): Promise<IdTokenClaims>;
}

/** Allowed difference between our clock and the issuer's, for exp, nbf and iat. */
const CLOCK_SKEW_SECONDS = 60;
/** Asymmetric algorithms only: an ID token signed with a shared secret (HS256) or unsigned (none) is refused. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/**
 * ID tokens of one issuer for one client. The issuer's keys are found through its discovery document
 * (`<issuer>/.well-known/openid-configuration`, fetched once, again after a failure); jose caches them
 * and fetches them again when a token names an unknown `kid` (at most once per OIDC_KEYS_REFRESH).
 */
export function createIdTokenVerifier(settings: OidcSettings): IdTokenVerifier {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const discover = async (): Promise<JWTVerifyGetKey> => {
    const response = await fetch(`${settings.issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`discovery answered HTTP ${response.status}`);
    const { jwks_uri: jwksUri } = (await response.json()) as { jwks_uri?: unknown };
    if (typeof jwksUri !== 'string') throw new Error('the discovery document has no jwks_uri');
    // The cooldown bounds how often tokens with made-up kids can make us fetch the issuer's keys.
    return createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: settings.keysRefreshMs });
  };
  const issuerKeys = () =>
    (keys ??= discover().catch((error: unknown) => {
      keys = undefined;
      throw error;
    }));

  return {
    async verify(idToken) {
      let getKey: JWTVerifyGetKey;
      try {
        getKey = await issuerKeys();
      } catch {
        throw unreachable();
      }
      try {
        const { payload } = await jwtVerify(idToken, getKey, {
          issuer: settings.issuer,
          audience: settings.clientId,
          clockTolerance: CLOCK_SKEW_SECONDS,
          algorithms: ALGORITHMS,
          requiredClaims: ['sub', 'exp', 'iat'],
        });
        const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);
        return {
          issuer: settings.issuer,
          subject: payload.sub!,
          issuedAt: payload.iat!,
          preferredUsername: text(payload.preferred_username),
          email: text(payload.email),
          name: text(payload.name),
        };
      } catch (error) {
        // Anything but jose's verdict on the token is a failure to reach the issuer's keys.
        if (!(error instanceof joseErrors.JOSEError)) throw unreachable();
        throw fail.unauthenticated(`The ID token was refused: ${whyRefused(error)}`);
      }
    },
  };
}

const unreachable = () => fail.unavailable(5, 'The identity provider cannot be reached: try again shortly.');

function whyRefused(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'it has expired.';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'it was issued for another client (aud).';
    if (error.claim === 'iss') return 'it comes from another issuer (iss).';
    if (error.claim === 'nbf') return 'it is not valid yet (nbf).';
    return `its "${error.claim}" claim is ${error.reason === 'missing' ? 'missing' : 'not valid'}.`;
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'its signature does not verify.';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'it is signed with a key the issuer does not publish (kid).';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'it is unsigned or signed with an algorithm this server does not accept.';
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) return "the issuer's keys could not be read.";
  return 'it is not a well-formed signed JWT.';
}
