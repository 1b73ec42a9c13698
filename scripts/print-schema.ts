// Writes schema.graphql from the Pothos code (npm run schema:print). A test fails when it is stale.
import { writeFileSync } from 'node:fs';
import { printedSchema } from '../src/schema.js';

writeFileSync(new URL('../schema.graphql', import.meta.url), printedSchema());
console.log('wrote schema.graphql');
