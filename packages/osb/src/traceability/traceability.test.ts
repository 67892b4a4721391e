import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { platformRules } from './platform-rules.ts';
import { osbDoc, renderOsbDoc, repoRoot, scanTests, untested } from './traceability.ts';

describe('OSB platform-rule traceability', () => {
  const covered = scanTests();

  it('every rule has a test that names it', () => {
    assert.deepEqual(untested(covered), []);
  });

  it('rule ids are unique', () => {
    assert.equal(new Set(platformRules.map((r) => r.id)).size, platformRules.length);
  });

  it('docs/osb.md carries the current table (npm run gen:osb-traceability)', async () => {
    const current = readFileSync(resolve(repoRoot, osbDoc), 'utf8');
    assert.equal(current, await renderOsbDoc(covered), 'run npm run gen:osb-traceability');
  });
});
