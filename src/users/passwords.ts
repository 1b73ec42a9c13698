import { hash, verify } from '@node-rs/argon2';

// argon2id (the library's default algorithm) with OWASP's minimum recommended cost.
const options = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

export const hashPassword = (password: string): Promise<string> => hash(password, options);

export const verifyPassword = (passwordHash: string, password: string): Promise<boolean> =>
  verify(passwordHash, password).catch(() => false);

let decoy: Promise<string> | undefined;
/** A real hash to verify against when the user does not exist, so both failures take the same time. */
export const decoyHash = (): Promise<string> => (decoy ??= hashPassword('parley-decoy-password'));
