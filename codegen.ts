import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for every operation the tests (and examples) send: the test suite is a typed client.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/**/*.ts', '!test/generated/**'],
  ignoreNoDocuments: true,
  emitLegacyCommonJSImports: false,
  generates: {
    'test/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { scalars: { DateTime: 'string', JSON: 'unknown', ID: 'string' }, useTypeImports: true, enumsAsTypes: true },
    },
  },
};

export default config;
