import type { App } from '../app.js';
import { fail } from '../errors.js';
import type { Viewer } from './tokens.js';

/** Longer User-Agent headers are cut: the value is only shown back to the user in their session list. */
const MAX_USER_AGENT = 256;

/**
 * Starts a session for the user (sign-up, log-in) and returns its token. The user's expired sessions
 * are deleted on the way: nothing else ever reads them.
 */
export async function startSession(app: App, userId: string, userAgent: string | null): Promise<string> {
  const now = Date.now();
  await app.prisma.session.deleteMany({ where: { userId, expiresAt: { lte: new Date(now) } } });
  const session = await app.prisma.session.create({
    data: {
      userId,
      userAgent: userAgent?.slice(0, MAX_USER_AGENT) || null,
      expiresAt: new Date(now + app.config.tokenTtlSeconds * 1000),
    },
  });
  app.sessions.started(session.id, userId);
  return app.tokens.issue(session);
}

/** Ends the session of the token the viewer called with. */
export async function logOut(app: App, viewer: Viewer): Promise<void> {
  await app.prisma.session.deleteMany({ where: { id: viewer.sessionId } });
  await app.sessions.ended([viewer.sessionId]);
}

/** Ends every session of the viewer but the current one, or that one too; returns how many ended. */
export async function logOutEverywhere(app: App, viewer: Viewer, includingThisOne: boolean): Promise<number> {
  await app.limits.act('accountChanges', viewer.id);
  return endSessionsOf(app, viewer.id, includingThisOne ? null : viewer.sessionId);
}

/** Ends one of the viewer's sessions; NOT_FOUND when the viewer has no such session. */
export async function endSession(app: App, viewer: Viewer, sessionId: string): Promise<void> {
  await app.limits.act('accountChanges', viewer.id);
  const { count } = await app.prisma.session.deleteMany({ where: { id: sessionId, userId: viewer.id } });
  if (count === 0) throw fail.notFound('The session');
  await app.sessions.ended([sessionId]);
}

/** Ends the user's sessions except `keep` (null: all of them); returns how many ended. */
export async function endSessionsOf(app: App, userId: string, keep: string | null): Promise<number> {
  const where = { userId, ...(keep ? { id: { not: keep } } : {}) };
  const ids = (await app.prisma.session.findMany({ where, select: { id: true } })).map((session) => session.id);
  if (ids.length === 0) return 0;
  await app.prisma.session.deleteMany({ where: { id: { in: ids } } });
  await app.sessions.ended(ids);
  return ids.length;
}
