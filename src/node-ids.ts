import SchemaBuilder, { BasePlugin, completeValue, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { GraphQLFieldResolver } from 'graphql';

/** What plugin-relay keeps of a node type's `id` option in the type's config. */
interface NodeOptions {
  id?: { resolve?: GraphQLFieldResolver<unknown, unknown> };
}

/**
 * A node's `id` field answers at once. plugin-relay resolves it in an async function, so every node
 * of a result answered with a promise and graphql-js completed each node asynchronously: 200
 * promises for a page of 100 messages with their authors. The same id (encodeGlobalID of the type
 * and the node's own id, as plugin-relay encodes it: the builder sets no encodeGlobalID), and the
 * other plugins still wrap the resolver.
 */
class NodeIdsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    if (fieldConfig.name !== 'id') return fieldConfig;
    const typeConfig = this.buildCache.getTypeConfig(fieldConfig.parentType);
    const idOf = typeConfig.kind === 'Object' ? (typeConfig.pothosOptions as NodeOptions).id?.resolve : undefined;
    if (!idOf) return fieldConfig;
    return {
      ...fieldConfig,
      resolve: (parent, args, context, info) =>
        completeValue(idOf(parent, args, context, info), (id) => encodeGlobalID(typeConfig.name, String(id))),
    };
  }
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      nodeIds: NodeIdsPlugin<Types>;
    }
  }
}

export const nodeIdsPlugin = 'nodeIds';
SchemaBuilder.registerPlugin(nodeIdsPlugin, NodeIdsPlugin);
