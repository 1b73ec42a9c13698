import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import { fail } from './errors.js';

/**
 * PostgreSQL text and jsonb hold neither U+0000 nor UTF-16 surrogates without their pair (the driver
 * would store U+FFFD in their place, or the statement fails): such text is refused as input, before
 * it reaches a query.
 */
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What makes text unstorable, or null when it can be stored as is. */
export function unstorable(text: string): string | null {
  if (text.includes('\u0000')) return 'the character U+0000';
  if (UNPAIRED_SURROGATE.test(text)) return 'an unpaired UTF-16 surrogate';
  return null;
}

interface Visit {
  value: unknown;
  key: string | number;
  parent: Visit | null;
  /** The argument, or the input field of an input object argument, it is part of (extensions.field). */
  field: string;
}

/** Path segments shown in an error at most: a deep JSON payload would otherwise make the message as long as itself. */
const SHOWN_SEGMENTS = 6;

function pathOf(visit: Visit): string {
  const segments: (string | number)[] = [];
  for (let at: Visit | null = visit; at; at = at.parent) segments.push(at.key);
  segments.reverse();
  const shown = segments.slice(0, SHOWN_SEGMENTS).map((segment, index) =>
    typeof segment === 'number' ? `[${segment}]` : index === 0 ? segment : `.${segment}`,
  );
  return shown.join('') + (segments.length > SHOWN_SEGMENTS ? '…' : '');
}

/**
 * Refuses arguments holding unstorable text anywhere: strings, input fields, list items, and the
 * keys and values of JSON, however deeply nested (an explicit stack, not recursion).
 */
export function refuseUnstorableArguments(args: Record<string, unknown>): void {
  const stack: Visit[] = Object.entries(args).map(([key, value]) => ({ value, key, parent: null, field: key }));
  for (let visit = stack.pop(); visit; visit = stack.pop()) {
    const { value, field } = visit;
    if (typeof value === 'string') {
      const problem = unstorable(value);
      if (problem) throw fail.badInput(`"${pathOf(visit)}" must not contain ${problem}.`, field);
    } else if (Array.isArray(value)) {
      value.forEach((item: unknown, index) => stack.push({ value: item, key: index, parent: visit, field }));
    } else if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
      for (const [key, item] of Object.entries(value)) {
        const problem = unstorable(key);
        if (problem) throw fail.badInput(`A key in "${pathOf(visit)}" must not contain ${problem}.`, field);
        stack.push({ value: item, key, parent: visit, field: visit.parent ? field : key });
      }
    }
  }
}

type Resolver<Types extends SchemaTypes> = GraphQLFieldResolver<unknown, Types['Context'], object>;

const hasArguments = (fieldConfig: { args: object }) => Object.keys(fieldConfig.args).length > 0;

/**
 * Every field with arguments checks them (refuseUnstorableArguments) before anything else runs: one
 * check for every String, ID and JSON argument and input field, over every transport. (Pothos plans
 * the arguments of a relation field into its parent's query, before this check runs for the field
 * itself: such fields check what they pass to Prisma themselves, as the connections' cursors do.)
 */
class InputTextPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(resolver: Resolver<Types>, fieldConfig: PothosOutputFieldConfig<Types>): Resolver<Types> {
    // A subscription's arguments are checked once, when it starts (wrapSubscribe), not at each event.
    if (fieldConfig.kind === 'Subscription' || !hasArguments(fieldConfig)) return resolver;
    return (parent, args, context, info) => {
      refuseUnstorableArguments(args as Record<string, unknown>);
      return resolver(parent, args, context, info);
    };
  }

  override wrapSubscribe(subscribe: Resolver<Types> | undefined, fieldConfig: PothosOutputFieldConfig<Types>): Resolver<Types> | undefined {
    if (!subscribe || !hasArguments(fieldConfig)) return subscribe;
    return (parent, args, context, info) => {
      refuseUnstorableArguments(args as Record<string, unknown>);
      return subscribe(parent, args, context, info);
    };
  }
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      inputText: InputTextPlugin<Types>;
    }
  }
}

export const inputTextPlugin = 'inputText';
SchemaBuilder.registerPlugin(inputTextPlugin, InputTextPlugin);
