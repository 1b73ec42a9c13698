import type { App } from '../app.js';
import { isUniqueViolation } from '../db/errors.js';
import { fail } from '../errors.js';
import type { User } from '../generated/prisma/client.js';
import { decoyHash, hashPassword, verifyPassword } from './passwords.js';
import { startSession } from './sessions.js';

const USERNAME = /^[a-z0-9_.-]{3,32}$/;
const MIN_PASSWORD = 8;
// argon2 hashes whatever it is given: cap the work a client can ask for.
const MAX_PASSWORD = 256;
const MAX_DISPLAY_NAME = 64;

export interface AuthResult {
  token: string;
  user: User;
}

/** Usernames are compared case-insensitively, so they are stored lower-case. */
const normalizeUsername = (username: string) => username.trim().toLowerCase();

function validDisplayName(displayName: string): string {
  const name = displayName.trim();
  // No control characters: display names are shown in UIs and logs.
  if (name.length === 0 || name.length > MAX_DISPLAY_NAME || /\p{Cc}/u.test(name)) {
    throw fail.badInput(`Display name must be 1–${MAX_DISPLAY_NAME} printable characters.`, 'displayName');
  }
  return name;
}

export async function signUp(
  app: App,
  input: { username: string; password: string; displayName?: string | null },
  clientAddress: string,
  userAgent: string | null,
): Promise<AuthResult> {
  const username = normalizeUsername(input.username);
  if (!USERNAME.test(username)) {
    throw fail.badInput('Username must be 3–32 characters of a–z, 0–9, "_", "." or "-".', 'username');
  }
  if (input.password.length < MIN_PASSWORD || input.password.length > MAX_PASSWORD) {
    throw fail.badInput(`Password must be ${MIN_PASSWORD}–${MAX_PASSWORD} characters long.`, 'password');
  }
  const displayName = validDisplayName(input.displayName ?? username);
  await app.limits.signUp(clientAddress);
  const passwordHash = await hashPassword(input.password);
  let user: User;
  try {
    user = await app.prisma.user.create({ data: { username, displayName, passwordHash } });
  } catch (error) {
    if (isUniqueViolation(error)) throw fail.conflict(`The username "${username}" is taken: choose another.`);
    throw error;
  }
  return { user, token: await startSession(app, user.id, userAgent) };
}

/** Failed attempts are limited per username and per address (limits/rates.ts), the same whether or not the account exists. */
export async function logIn(
  app: App,
  input: { username: string; password: string },
  clientAddress: string,
  userAgent: string | null,
): Promise<AuthResult> {
  const username = normalizeUsername(input.username);
  const attempt = await app.limits.logInAttempt(username, clientAddress);
  const user = await app.prisma.user.findUnique({ where: { username } });
  const password = input.password.slice(0, MAX_PASSWORD + 1);
  // Verify against a decoy when there is no such user: same answer, same time.
  const matches = await verifyPassword(user?.passwordHash ?? (await decoyHash()), password);
  if (!user || !matches) throw fail.badCredentials();
  await attempt.succeeded();
  return { user, token: await startSession(app, user.id, userAgent) };
}

export async function updateProfile(app: App, userId: string, input: { displayName: string }): Promise<User> {
  const displayName = validDisplayName(input.displayName);
  const user = await app.prisma.user.update({ where: { id: userId }, data: { displayName } }).catch(() => null);
  if (!user) throw fail.unauthenticated('Your account no longer exists.');
  return user;
}
