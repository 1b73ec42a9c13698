import { builder } from '../builder.js';
import { viewerId } from '../context.js';
import { checkPrismaCursors, parseId } from '../ids.js';
import * as users from './service.js';

export const PresenceStatus = builder.enumType('PresenceStatus', { values: ['ONLINE', 'OFFLINE'] as const });

export interface PresenceShape {
  status: 'ONLINE' | 'OFFLINE';
  lastSeenAt: Date | string | null;
}

export const Presence = builder.objectRef<PresenceShape>('Presence').implement({
  fields: (t) => ({
    status: t.expose('status', { type: PresenceStatus }),
    lastSeenAt: t.expose('lastSeenAt', {
      type: 'DateTime',
      nullable: true,
      description: "When the user's last connection closed; null while online or never seen.",
    }),
  }),
});

/** What a viewer who shares no room with a user learns of their presence: nothing. */
const hiddenPresence: PresenceShape = { status: 'OFFLINE', lastSeenAt: null };

export const User = builder.prismaNode('User', {
  id: { field: 'id' },
  // node(id) of an unknown id is null rather than an error.
  nullable: true,
  fields: (t) => ({
    username: t.exposeString('username'),
    displayName: t.exposeString('displayName'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    presence: t.field({
      type: Presence,
      description:
        'Real only to the user and to users who share a room with them; to anyone else always OFFLINE with a null lastSeenAt (as for a user never seen), which reveals nothing.',
      // Differs per viewer: subscriptions selecting it don't share results between viewers.
      extensions: { viewerDependent: true },
      select: { lastSeenAt: true },
      resolve: async (user, _args, context) => {
        const [visible, online] = await Promise.all([
          context.loaders.sharesRoom.load(user.id),
          context.loaders.online.load(user.id),
        ]);
        if (!visible) return hiddenPresence;
        return online
          ? { status: 'ONLINE' as const, lastSeenAt: null }
          : { status: 'OFFLINE' as const, lastSeenAt: user.lastSeenAt };
      },
    }),
  }),
});

const AuthPayload = builder.objectRef<users.AuthResult>('AuthPayload').implement({
  fields: (t) => ({
    token: t.exposeString('token'),
    user: t.field({
      type: User,
      resolve: (result, _args, context) => {
        // The user who just signed in is the viewer of what follows, though the request came without a token.
        context.loaders.sharesRoom.prime(result.user.id, true);
        return result.user;
      },
    }),
  }),
});

const SignUpInput = builder.inputType('SignUpInput', {
  fields: (t) => ({
    username: t.string({ required: true }),
    password: t.string({ required: true }),
    displayName: t.string(),
  }),
});

const LogInInput = builder.inputType('LogInInput', {
  fields: (t) => ({
    username: t.string({ required: true }),
    password: t.string({ required: true }),
  }),
});

builder.queryFields((t) => ({
  me: t.prismaField({
    type: 'User',
    nullable: true,
    description: 'The signed-in user; null when anonymous.',
    resolve: (query, _root, _args, context) =>
      context.viewer ? context.app.prisma.user.findUnique({ ...query, where: { id: context.viewer.id } }) : null,
  }),
  user: t.prismaField({
    type: 'User',
    nullable: true,
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) =>
      context.app.prisma.user.findUnique({ ...query, where: { id: parseId('User', args.id, 'id') } }),
  }),
  users: t.prismaConnection({
    type: 'User',
    cursor: 'username',
    maxSize: 100,
    defaultSize: 20,
    authScopes: { authenticated: true },
    description: 'Users whose username or display name contains search, by username.',
    args: { search: t.arg.string() },
    resolve: (query, _root, args, context) => {
      checkPrismaCursors(args, 1);
      const search = args.search?.trim();
      return context.app.prisma.user.findMany({
        ...query,
        where: search
          ? {
              OR: [
                { username: { contains: search, mode: 'insensitive' } },
                { displayName: { contains: search, mode: 'insensitive' } },
              ],
            }
          : {},
      });
    },
  }, { name: 'UserConnection' }, { name: 'UserEdge' }),
}));

builder.mutationFields((t) => ({
  signUp: t.field({
    type: AuthPayload,
    args: { input: t.arg({ type: SignUpInput, required: true }) },
    resolve: (_root, args, context) => users.signUp(context.app, args.input, context.clientAddress),
  }),
  logIn: t.field({
    type: AuthPayload,
    args: { input: t.arg({ type: LogInInput, required: true }) },
    resolve: (_root, args, context) => users.logIn(context.app, args.input, context.clientAddress),
  }),
  updateProfile: t.prismaField({
    type: 'User',
    authScopes: { authenticated: true },
    args: { displayName: t.arg.string({ required: true }) },
    resolve: async (query, _root, args, context) => {
      const user = await users.updateProfile(context.app, viewerId(context), args);
      return context.app.prisma.user.findUniqueOrThrow({ ...query, where: { id: user.id } });
    },
  }),
}));
