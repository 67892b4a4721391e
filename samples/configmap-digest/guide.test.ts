// docs/guide.md quotes this sample: every TypeScript block in it must still appear,
// verbatim, in one of the sample's files, so the guide cannot drift from tested code.
// Indentation is not compared: the formatter dedents a quoted block that is a whole
// statement (a `before()` hook inside a `describe()`, say).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';

const read = (path: string): string => readFileSync(new URL(path, import.meta.url), 'utf8');
const dedent = (text: string): string => text.replace(/^[ \t]+/gm, '');

it('every code block of docs/guide.md is in samples/configmap-digest', () => {
  const guide = read('../../docs/guide.md');
  const sources = ['controller.ts', 'main.ts', 'controller.test.ts', 'controller.e2e.test.ts'].map((f) => ({
    file: f,
    text: dedent(read(f)),
  }));
  const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  assert.ok(blocks.length >= 8, `expected the guide's code blocks, found ${blocks.length}`);
  for (const block of blocks) {
    assert.ok(
      sources.some((s) => s.text.includes(dedent(block))),
      `a code block of docs/guide.md is in none of ${sources.map((s) => s.file).join(', ')}:\n${block}`,
    );
  }
});
