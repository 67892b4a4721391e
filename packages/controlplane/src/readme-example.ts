// Each package's README shows one TypeScript example, kept in its `readme.test.ts` so tsc
// type-checks it; this is the check that the README still shows exactly that code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

/** Asserts that `../README.md` (next to `src/`) has one ```ts block and that `moduleUrl`'s file holds it verbatim. */
export function assertReadmeShowsExample(moduleUrl: string): void {
  const readme = readFileSync(new URL('../README.md', moduleUrl), 'utf8');
  const self = readFileSync(new URL(moduleUrl), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  assert.equal(blocks.length, 1, 'one example');
  for (const block of blocks)
    assert.ok(self.includes(block), `README.md shows code that is not here:\n${block}`);
}
