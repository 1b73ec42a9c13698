import { randomBytes } from 'node:crypto';
import type { App } from '../app.js';
import { isRecordMissing, isUniqueViolation } from '../db/errors.js';
import { fail } from '../errors.js';
import type { DirectMessagePolicy, User } from '../generated/prisma/client.js';
import { leaveEveryRoom } from '../rooms/members.js';
import { userUpdated } from './events.js';
import { decoyHash, hashPassword, verifyPassword } from './passwords.js';
import { endSessionsOf, startSession } from './sessions.js';
import type { IdTokenClaims } from './id-tokens.js';
import type { Viewer } from './tokens.js';

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

function validUsername(input: string): string {
  const username = normalizeUsername(input);
  if (!USERNAME.test(username)) {
    throw fail.badInput('Username must be 3–32 characters of a–z, 0–9, "_", "." or "-".', 'username');
  }
  return username;
}

function validPassword(password: string, field: string): string {
  if (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD) {
    throw fail.badInput(`Password must be ${MIN_PASSWORD}–${MAX_PASSWORD} characters long.`, field);
  }
  return password;
}

const usernameTaken = (username: string) => fail.conflict(`The username "${username}" is taken: choose another.`);

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
  const username = validUsername(input.username);
  validPassword(input.password, 'password');
  const displayName = validDisplayName(input.displayName ?? username);
  await app.limits.signUp(clientAddress);
  const passwordHash = await hashPassword(input.password);
  let user: User;
  try {
    user = await app.prisma.user.create({ data: { username, displayName, passwordHash } });
  } catch (error) {
    if (isUniqueViolation(error)) throw usernameTaken(username);
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
  // Verify against a decoy when there is no such user (or it has no password): same answer, same time.
  const matches = await verifyPassword(user?.passwordHash ?? (await decoyHash()), password);
  if (!user?.passwordHash || !matches) throw fail.badCredentials();
  await attempt.succeeded();
  return { user, token: await startSession(app, user.id, userAgent) };
}

/**
 * Signs in with an ID token of the configured identity provider. The account is the one of the
 * token's (issuer, sub), made at the first sign-in with a username derived from preferred_username or
 * the email's local part (a suffix makes it unique); it is never joined to an existing account, even
 * one with the same email or name.
 */
export async function logInWithIdToken(app: App, idToken: string, clientAddress: string, userAgent: string | null): Promise<AuthResult> {
  if (!app.idTokens) throw fail.unauthenticated('This server has no identity provider: sign in with a username and password.');
  const claims = await app.idTokens.verify(idToken);
  const key = { issuer_subject: { issuer: claims.issuer, subject: claims.subject } };
  const known = await app.prisma.identity.findUnique({ where: key, include: { user: true } });
  const user = known?.user ?? (await createIdentityUser(app, claims, clientAddress));
  return { user, token: await startSession(app, user.id, userAgent) };
}

/** Attempts at a free username before giving up (each after the first adds a random suffix). */
const USERNAME_ATTEMPTS = 5;

async function createIdentityUser(app: App, claims: IdTokenClaims, clientAddress: string): Promise<User> {
  await app.limits.signUp(clientAddress);
  const base = usernameFrom(claims.preferredUsername ?? claims.email?.split('@')[0] ?? 'user');
  const displayName = validDisplayNameOr(claims.name, base);
  for (let attempt = 0; attempt < USERNAME_ATTEMPTS; attempt++) {
    const username = attempt === 0 ? base : `${base.slice(0, 32 - 5)}_${randomBytes(2).toString('hex')}`;
    try {
      return await app.prisma.user.create({
        data: { username, displayName, identities: { create: { issuer: claims.issuer, subject: claims.subject } } },
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      // The same person signing in twice at once: the other sign-in made the account.
      const made = await app.prisma.identity.findUnique({
        where: { issuer_subject: { issuer: claims.issuer, subject: claims.subject } },
        include: { user: true },
      });
      if (made) return made.user;
    }
  }
  throw fail.conflict('No free username could be found for this account: try again.');
}

/** A username of sign-up's alphabet and length from a provider's name for the user. */
function usernameFrom(name: string): string {
  const cleaned = normalizeUsername(name).replace(/[^a-z0-9_.-]+/g, '_').slice(0, 32);
  return cleaned.length >= 3 ? cleaned : `${cleaned}_user`;
}

function validDisplayNameOr(name: string | null, fallback: string): string {
  try {
    return validDisplayName(name ?? fallback);
  } catch {
    return fallback;
  }
}

/** Changes what is given (null or absent keeps it); a new display name is announced with UserUpdated. */
export async function updateProfile(
  app: App,
  userId: string,
  input: { displayName?: string | null; directMessages?: DirectMessagePolicy | null },
): Promise<User> {
  if (input.displayName == null && input.directMessages == null) {
    throw fail.badInput('Give displayName, directMessages, or both.', 'displayName');
  }
  const displayName = input.displayName == null ? undefined : validDisplayName(input.displayName);
  const directMessages = input.directMessages ?? undefined;
  const user = await app.prisma.user.update({ where: { id: userId }, data: { displayName, directMessages } }).catch(() => null);
  if (!user) throw fail.unauthenticated('Your account no longer exists.');
  if (displayName !== undefined) await app.bus.publishAll(await userUpdated(app.prisma, userId));
  return user;
}

/** BAD_USER_INPUT unless password is the user's; each check counts as a log-in attempt of the account (limits/rates.ts). */
async function requirePassword(app: App, user: User, password: string, field: string, clientAddress: string): Promise<void> {
  if (!user.passwordHash) throw fail.badInput('This account has no password: it signs in with its identity provider.', field);
  const attempt = await app.limits.logInAttempt(user.username, clientAddress);
  if (!(await verifyPassword(user.passwordHash, password.slice(0, MAX_PASSWORD + 1)))) {
    throw fail.badInput('Wrong password.', field);
  }
  await attempt.succeeded();
}

/**
 * Checks the current password (a wrong one counts toward the log-in throttle of the account and the
 * address, as a failed logIn does), stores the new one and ends every other session of the viewer.
 */
export async function changePassword(
  app: App,
  viewer: Viewer,
  input: { currentPassword: string; newPassword: string },
  clientAddress: string,
): Promise<User> {
  const newPassword = validPassword(input.newPassword, 'newPassword');
  await app.limits.act('accountChanges', viewer.id);
  const user = await app.prisma.user.findUnique({ where: { id: viewer.id } });
  if (!user) throw fail.unauthenticated('Your account no longer exists.');
  await requirePassword(app, user, input.currentPassword, 'currentPassword', clientAddress);
  const updated = await app.prisma.user.update({ where: { id: user.id }, data: { passwordHash: await hashPassword(newPassword) } });
  await endSessionsOf(app, user.id, viewer.sessionId);
  return updated;
}

/**
 * Deletes the viewer's account once their password is confirmed (a wrong one counts toward the
 * log-in throttle): they leave every room (direct rooms are deleted), every session ends, and the
 * user row goes with their sessions, memberships, bans, blocks and reactions. Their messages in
 * group rooms stay, with no author (Message.author is null).
 */
export async function deleteAccount(
  app: App,
  viewer: Viewer,
  input: { password?: string | null; idToken?: string | null },
  clientAddress: string,
): Promise<void> {
  if ((input.password == null) === (input.idToken == null)) {
    throw fail.badInput('Confirm with your password, or with a fresh ID token of your identity provider (one of the two).', 'password');
  }
  await app.limits.act('accountChanges', viewer.id);
  const user = await app.prisma.user.findUnique({ where: { id: viewer.id } });
  if (!user) throw fail.unauthenticated('Your account no longer exists.');
  if (input.password != null) await requirePassword(app, user, input.password, 'password', clientAddress);
  else await requireFreshIdToken(app, user.id, input.idToken!);
  await leaveEveryRoom(app, user.id);
  const sessions = await app.prisma.session.findMany({ where: { userId: user.id }, select: { id: true } });
  await app.prisma.user.delete({ where: { id: user.id } });
  await app.sessions.ended(sessions.map((session) => session.id));
}

/** An ID token proves a deletion only when just issued: a token lying around since the last sign-in does not. */
const FRESH_ID_TOKEN_SECONDS = 5 * 60;

/** The ID token must verify, be one of the user's identities, and have been issued in the last few minutes. */
async function requireFreshIdToken(app: App, userId: string, idToken: string): Promise<void> {
  if (!app.idTokens) throw fail.badInput('This server has no identity provider: confirm with your password.', 'idToken');
  const claims = await app.idTokens.verify(idToken);
  const identity = await app.prisma.identity.findUnique({ where: { issuer_subject: { issuer: claims.issuer, subject: claims.subject } } });
  if (identity?.userId !== userId) throw fail.forbidden('That ID token is not of this account.');
  if (claims.issuedAt < Date.now() / 1000 - FRESH_ID_TOKEN_SECONDS) {
    throw fail.badInput(`The ID token must be at most ${FRESH_ID_TOKEN_SECONDS / 60} minutes old: sign in at your provider again.`, 'idToken');
  }
}

/** Renames the viewer, with sign-up's rules; the members of their rooms hear a UserUpdated. */
export async function changeUsername(app: App, userId: string, input: { username: string }): Promise<User> {
  const username = validUsername(input.username);
  await app.limits.act('accountChanges', userId);
  let user: User;
  try {
    user = await app.prisma.user.update({ where: { id: userId }, data: { username } });
  } catch (error) {
    if (isUniqueViolation(error)) throw usernameTaken(username);
    if (isRecordMissing(error)) throw fail.unauthenticated('Your account no longer exists.');
    throw error;
  }
  await app.bus.publishAll(await userUpdated(app.prisma, userId));
  return user;
}
