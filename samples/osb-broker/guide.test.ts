// docs/osb-broker.md quotes this sample: every TypeScript block in it must still appear, verbatim,
// in one of the sample's files, so the page cannot drift from tested code. Indentation is not
// compared (the formatter may dedent a quoted block).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';

const read = (path: string): string => readFileSync(new URL(path, import.meta.url), 'utf8');
const dedent = (text: string): string => text.replace(/^[ \t]+/gm, '');

it('every code block of docs/osb-broker.md is in samples/osb-broker', () => {
  const guide = read('../../docs/osb-broker.md');
  const sources = ['broker.ts', 'main.ts', 'broker.test.ts'].map((f) => ({ file: f, text: dedent(read(f)) }));
  const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  assert.ok(blocks.length >= 5, `expected the page's code blocks, found ${blocks.length}`);
  for (const block of blocks) {
    assert.ok(
      sources.some((s) => s.text.includes(dedent(block))),
      `a code block of docs/osb-broker.md is in none of ${sources.map((s) => s.file).join(', ')}:\n${block}`,
    );
  }
});
