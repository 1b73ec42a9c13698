import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * How each custom scalar reaches a client: DateTime as its ISO string, JSON as a JSON value (the type lives in
 * web/src/scalars.ts; the path is relative to the generated file that imports it); File, an upload's input, as a
 * WHATWG File.
 */
const scalars = (scalarsModule: string) => ({
  DateTime: 'string',
  JSON: `${scalarsModule}#JsonValue`,
  ID: 'string',
  File: 'File',
});

/** Where the web client's typed documents go; `npm run build:web` generates this target alone. */
export const webOutput = 'web/src/gql/';

// Two typed clients of schema.graphql: the test suite and the web client.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  ignoreNoDocuments: true,
  emitLegacyCommonJSImports: false,
  generates: {
    'test/generated/': {
      documents: ['test/**/*.ts', '!test/generated/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { scalars: scalars('../../web/src/scalars.js'), useTypeImports: true, enumsAsTypes: true },
    },
    [webOutput]: {
      documents: ['web/src/**/*.{ts,tsx}', '!web/src/gql/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { scalars: scalars('../scalars.js'), useTypeImports: true, enumsAsTypes: true },
    },
  },
};

export default config;
