import { builder } from '../builder.js';
import { viewerId } from '../context.js';
import { parseId } from '../ids.js';
import { requireMember } from '../rooms/access.js';

builder.mutationField('setTyping', (t) =>
  t.boolean({
    description:
      "Starts, refreshes or stops the viewer's typing indicator in a room (members only); true once done. " +
      'Typing stops by itself after TYPING_TIMEOUT without a refresh, and when the viewer sends a message or goes offline.',
    authScopes: { authenticated: true },
    args: {
      roomId: t.arg.id({ required: true }),
      typing: t.arg.boolean({ required: true }),
    },
    resolve: async (_root, args, context) => {
      const userId = viewerId(context);
      await context.app.limits.act('setTyping', userId);
      const roomId = parseId('Room', args.roomId, 'roomId');
      await requireMember(context.app.prisma, roomId, userId);
      await context.app.typing.set(roomId, userId, args.typing);
      return true;
    },
  }),
);
