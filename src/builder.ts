import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { Context } from './context.js';
import { fail } from './errors.js';
import { decodeId } from './ids.js';
import { inputTextPlugin } from './input-text.js';
import { nodeIdsPlugin } from './node-ids.js';
import type PrismaTypes from './generated/pothos-types.js';
import { getDatamodel } from './generated/pothos-types.js';

/** The one Pothos builder: every domain module adds its types and fields to it. */
export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: {
    authenticated: boolean;
    /** The viewer is a member of the room with this id. */
    member: string;
  };
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
    ID: { Input: string; Output: string };
    /** An upload of a multipart request (files/schema.ts); input only. */
    File: { Input: File; Output: never };
  };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
}>({
  // Fields are non-null unless they say otherwise, as in the API contract.
  defaultFieldNullability: false,
  // inputText first: its argument check runs before every other plugin's wrapper and the resolver.
  plugins: [inputTextPlugin, ScopeAuthPlugin, PrismaPlugin, RelayPlugin, nodeIdsPlugin],
  scopeAuth: {
    authScopes: (context) => ({
      authenticated: context.viewer !== null,
      member: (roomId) => context.loaders.isMember.load(roomId),
    }),
    // Anonymous callers are told to sign in; signed-in ones that lack a scope are told no.
    unauthorizedError: (_parent, context) => (context.viewer ? fail.forbidden() : fail.unauthenticated()),
  },
  prisma: {
    client: (context) => context.app.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // node(id) answers null alike for an id that names nothing and for a node the viewer may not
    // see, so it tells no one what exists: anonymous callers see no node, Room's findUnique skips
    // rooms the viewer may not see, and a message counts only in a room the viewer is a member of
    // (its type's `member` scope, checked here so the answer is null rather than FORBIDDEN).
    nodeQueryOptions: {
      description: 'The node with this global ID; null when there is none or the viewer may not see it.',
      resolve: async (_root, args, context, _info, resolveNode) => {
        if (!context.viewer) return null;
        const node = await resolveNode(args.id);
        const roomId = args.id.typename === 'Message' ? (node as { roomId: string } | null)?.roomId : undefined;
        return roomId === undefined || (await context.loaders.isMember.load(roomId)) ? node : null;
      },
    },
    nodesQueryOptions: false,
    edgesFieldOptions: { nullable: false },
    // node(id:) decodes as every ID argument does: malformed ids are BAD_USER_INPUT before any query.
    decodeGlobalID: (globalID) => decodeId(globalID, 'id'),
    nodeFieldOptions: { nullable: false },
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);

builder.queryType({});
builder.mutationType({});

