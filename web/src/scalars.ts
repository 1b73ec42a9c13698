/** How the schema's custom scalars arrive in a client (codegen.ts maps them here). */

/** A JSON value, as the `JSON` scalar carries it (message payloads). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
