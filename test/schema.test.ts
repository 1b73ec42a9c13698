import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { buildSchema, findBreakingChanges } from 'graphql';
import { printedSchema } from '../src/schema.js';

const committed = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');

describe('schema', () => {
  it('schema.graphql is generated from the current code (run `npm run schema:print`)', () => {
    assert.equal(committed, printedSchema());
  });

  it('keeps every part of the API contract', () => {
    const contract = buildSchema(readFileSync(new URL('../../shared/api/contract.graphql', import.meta.url), 'utf8'));
    const breaks = findBreakingChanges(contract, buildSchema(committed)).map((change) => change.description);
    assert.deepEqual(breaks, []);
  });
});
