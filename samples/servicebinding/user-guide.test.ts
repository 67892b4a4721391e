// docs/user-guide.md quotes these samples: every YAML (and TypeScript) block in it must still
// appear, verbatim, in one of the sample files, so the guide cannot drift from what samples.e2e.test.ts applies.
// Indentation is not compared: a quoted fragment from inside a document is dedented.

import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const dedent = (text: string): string => text.replace(/^[ \t]+/gm, '');

it('every YAML block of docs/user-guide.md is in samples/servicebinding', async () => {
  const guide = await readFile(join(here, '..', '..', 'docs', 'user-guide.md'), 'utf8');
  const files = (await readdir(here, { recursive: true })).filter((f) => f.endsWith('.yaml')).sort();
  const sources = await Promise.all(
    files.map(async (file) => ({ file, text: dedent(await readFile(join(here, file), 'utf8')) })),
  );
  const blocks = [...guide.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  assert.ok(blocks.length >= 10, `expected the guide's YAML blocks, found ${blocks.length}`);
  for (const block of blocks) {
    assert.ok(
      sources.some((s) => s.text.includes(dedent(block))),
      `a YAML block of docs/user-guide.md is in none of ${files.join(', ')}:\n${block}`,
    );
  }
});

it('every TypeScript block of docs/user-guide.md is in samples/servicebinding, which tsc checks', async () => {
  const guide = await readFile(join(here, '..', '..', 'docs', 'user-guide.md'), 'utf8');
  const files = (await readdir(here)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).sort();
  const sources = await Promise.all(
    files.map(async (file) => dedent(await readFile(join(here, file), 'utf8'))),
  );
  const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  assert.ok(blocks.length >= 1, 'expected the projection hook example');
  for (const block of blocks) {
    assert.ok(
      sources.some((text) => text.includes(dedent(block))),
      `a TypeScript block of docs/user-guide.md is in none of ${files.join(', ')}:\n${block}`,
    );
  }
});
