import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { specItems } from './spec-items.ts';
import { problems, renderTraceability, repoRoot, scanTests, traceabilityDoc } from './traceability.ts';

describe('spec traceability', () => {
  const covered = scanTests();

  it('every applicable checklist item is named by a test, or pending with a reason', () => {
    assert.deepEqual(problems(covered), []);
  });

  it(`${traceabilityDoc} is current (npm run gen:traceability)`, async () => {
    const current = readFileSync(resolve(repoRoot, traceabilityDoc), 'utf8');
    assert.equal(current, await renderTraceability(covered));
  });

  it('finds ids in test names only, and only known ones', () => {
    const ids = new Set(specItems.map((i) => i.id));
    assert.equal(ids.size, specItems.length, 'ids are unique');
    for (const id of covered.keys()) assert.ok(ids.has(id), id);
  });
});
