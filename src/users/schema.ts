import { builder } from '../builder.js';
import { signedInViewer, viewerId } from '../context.js';
import { checkPrismaCursors, parseId } from '../ids.js';
import * as blocks from './blocks.js';
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

export const DirectMessagePolicy = builder.enumType('DirectMessagePolicy', {
  description: 'Who may open a direct room with a user (an existing one stays open, unless one of the two blocks the other).',
  values: {
    EVERYONE: { description: 'Anyone who has not been blocked.' },
    SHARED_ROOMS: { description: 'Only users who share a room with them.' },
    NOBODY: { description: 'No one.' },
  } as const,
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
    directMessages: t.field({
      type: DirectMessagePolicy,
      nullable: true,
      description: 'Who may open a direct room with this user: shown to the user themselves only, null for anyone else.',
      select: { directMessages: true },
      extensions: { viewerDependent: true },
      resolve: (user, _args, context) => (user.id === context.viewer?.id ? user.directMessages : null),
    }),
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
  blockedUsers: t.prismaConnection(
    {
      type: 'User',
      cursor: 'username',
      maxSize: 100,
      defaultSize: 20,
      authScopes: { authenticated: true },
      description: 'The users the viewer has blocked, by username.',
      resolve: (query, _root, args, context) => {
        checkPrismaCursors(args, 1);
        return context.app.prisma.user.findMany({ ...query, where: { blockedBy: { some: { blockerId: viewerId(context) } } } });
      },
    },
    { name: 'BlockedUserConnection' },
    { name: 'BlockedUserEdge' },
  ),
}));

builder.mutationFields((t) => ({
  signUp: t.field({
    type: AuthPayload,
    args: { input: t.arg({ type: SignUpInput, required: true }) },
    resolve: (_root, args, context) => users.signUp(context.app, args.input, context.clientAddress, context.userAgent),
  }),
  logIn: t.field({
    type: AuthPayload,
    args: { input: t.arg({ type: LogInInput, required: true }) },
    resolve: (_root, args, context) => users.logIn(context.app, args.input, context.clientAddress, context.userAgent),
  }),
  logInWithIdToken: t.field({
    type: AuthPayload,
    description:
      "Signs in with an OpenID Connect ID token of the server's identity provider (OIDC_ISSUER, for the client OIDC_CLIENT_ID). The first sign-in of an (issuer, sub) makes its account. A token that does not verify (signature, issuer, audience, expiry) is UNAUTHENTICATED, saying why.",
    args: { idToken: t.arg.string({ required: true }) },
    resolve: (_root, args, context) => users.logInWithIdToken(context.app, args.idToken, context.clientAddress, context.userAgent),
  }),
  updateProfile: t.prismaField({
    type: 'User',
    authScopes: { authenticated: true },
    description: "Changes the viewer's display name and/or who may open direct rooms with them; what is null or absent is kept.",
    args: {
      displayName: t.arg.string({ description: "Shown with the viewer's messages; the members of their rooms receive a UserUpdated event." }),
      directMessages: t.arg({ type: DirectMessagePolicy }),
    },
    resolve: async (query, _root, args, context) => {
      const user = await users.updateProfile(context.app, viewerId(context), args);
      return context.app.prisma.user.findUniqueOrThrow({ ...query, where: { id: user.id } });
    },
  }),
  changePassword: t.prismaField({
    type: 'User',
    authScopes: { authenticated: true },
    description:
      "Replaces the viewer's password and ends every other session of theirs (this one goes on). A wrong currentPassword is BAD_USER_INPUT and counts toward the log-in throttle, as a failed logIn does.",
    args: { currentPassword: t.arg.string({ required: true }), newPassword: t.arg.string({ required: true }) },
    resolve: async (query, _root, args, context) => {
      const user = await users.changePassword(context.app, signedInViewer(context), args, context.clientAddress);
      return context.app.prisma.user.findUniqueOrThrow({ ...query, where: { id: user.id } });
    },
  }),
  deleteAccount: t.boolean({
    authScopes: { authenticated: true },
    description:
      "Deletes the viewer's account, once confirmed by their password (a wrong one is BAD_USER_INPUT and counts toward the log-in throttle) or, for an account of the identity provider, by an ID token of theirs issued in the last 5 minutes: every session ends, the viewer leaves every group room (an OWNER's room passes to its successor) and their direct rooms are deleted (the other member receives RoomDeleted). Messages in group rooms stay, with a null author. Always true.",
    args: { password: t.arg.string(), idToken: t.arg.string() },
    resolve: async (_root, args, context) => {
      await users.deleteAccount(context.app, signedInViewer(context), args, context.clientAddress);
      return true;
    },
  }),
  blockUser: t.prismaField({
    type: 'User',
    authScopes: { authenticated: true },
    description:
      "Blocks a user: no direct messages between the two of you, either way, and their messages in shared group rooms are marked (Message.authorBlockedByMe). They are not told. Blocking twice is the same as once.",
    args: { userId: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, context) => {
      const userId = parseId('User', args.userId, 'userId');
      await blocks.blockUser(context.app, viewerId(context), userId);
      return context.app.prisma.user.findUniqueOrThrow({ ...query, where: { id: userId } });
    },
  }),
  unblockUser: t.prismaField({
    type: 'User',
    authScopes: { authenticated: true },
    description: 'Lifts a block of blockUser; a user who is not blocked stays so.',
    args: { userId: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, context) => {
      const userId = parseId('User', args.userId, 'userId');
      await blocks.unblockUser(context.app, viewerId(context), userId);
      return context.app.prisma.user.findUniqueOrThrow({ ...query, where: { id: userId } });
    },
  }),
  changeUsername: t.prismaField({
    type: 'User',
    authScopes: { authenticated: true },
    description:
      "Renames the viewer, with sign-up's rules (CONFLICT when taken). Members of the viewer's rooms receive a UserUpdated event.",
    args: { username: t.arg.string({ required: true }) },
    resolve: async (query, _root, args, context) => {
      const user = await users.changeUsername(context.app, viewerId(context), args);
      return context.app.prisma.user.findUniqueOrThrow({ ...query, where: { id: user.id } });
    },
  }),
}));
