import { builder } from '../builder.js';
import { signedInViewer, viewerId } from '../context.js';
import { checkPrismaCursors, globalId, parseId } from '../ids.js';
import * as sessions from './sessions.js';

/** Not a Node: a session is found only among the viewer's own (Query.sessions), never by id. */
builder.prismaObject('Session', {
  description: 'A signed-in device or browser: each token belongs to one. Ending it refuses its token everywhere.',
  fields: (t) => ({
    id: t.id({ resolve: (session) => globalId('Session', session.id) }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the sign-up or log-in that started it happened.' }),
    lastSeenAt: t.expose('lastSeenAt', {
      type: 'DateTime',
      description: 'When its token was last used, to within a few minutes.',
    }),
    userAgent: t.exposeString('userAgent', { nullable: true, description: 'The User-Agent of the client that started it, if it sent one.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When its token expires (TOKEN_TTL after it started).' }),
    current: t.boolean({
      description: 'Whether this is the session of the token this request was made with.',
      extensions: { viewerDependent: true },
      resolve: (session, _args, context) => session.id === context.viewer?.sessionId,
    }),
  }),
});

builder.queryFields((t) => ({
  sessions: t.prismaConnection(
    {
      type: 'Session',
      cursor: 'id',
      maxSize: 100,
      defaultSize: 20,
      authScopes: { authenticated: true },
      description: "The viewer's live sessions, most recently started first.",
      resolve: (query, _root, args, context) => {
        checkPrismaCursors(args, 1);
        return context.app.prisma.session.findMany({
          ...query,
          where: { userId: viewerId(context), expiresAt: { gt: new Date() } },
          orderBy: { id: 'desc' },
        });
      },
    },
    { name: 'SessionConnection' },
    { name: 'SessionEdge' },
  ),
}));

builder.mutationFields((t) => ({
  logOut: t.boolean({
    authScopes: { authenticated: true },
    description: "Ends the session of the token used for this request: it is refused from now on, and its WebSockets close (4403). Always true.",
    resolve: async (_root, _args, context) => {
      await sessions.logOut(context.app, signedInViewer(context));
      return true;
    },
  }),
  logOutEverywhere: t.int({
    authScopes: { authenticated: true },
    description: "Ends every session of the viewer but the current one (or that one too, with includingThisOne). Returns how many ended.",
    args: { includingThisOne: t.arg.boolean({ required: true, defaultValue: false }) },
    resolve: (_root, args, context) => sessions.logOutEverywhere(context.app, signedInViewer(context), args.includingThisOne),
  }),
  endSession: t.boolean({
    authScopes: { authenticated: true },
    description: "Ends one of the viewer's sessions (see Query.sessions); NOT_FOUND when the viewer has no such session. Always true.",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      await sessions.endSession(context.app, signedInViewer(context), parseId('Session', args.id, 'id'));
      return true;
    },
  }),
}));
