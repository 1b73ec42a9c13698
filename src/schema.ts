import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.js';
// Each domain module adds its types and fields to the builder when imported.
import './users/schema.js';
import './users/sessions-schema.js';
import './rooms/types.js';
import './rooms/schema.js';
import './messages/schema.js';
import './files/schema.js';
import './realtime/typing-schema.js';
import './realtime/schema.js';

export const schema = builder.toSchema();

/** The SDL committed as schema.graphql. */
export const printedSchema = (): string => `${printSchema(lexicographicSortSchema(schema))}\n`;
