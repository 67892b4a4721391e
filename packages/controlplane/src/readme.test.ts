// The example of README.md, verbatim: tsc type-checks it, and the last test checks that the
// README still shows this code.
import { ControlPlane } from '@bindery/controlplane';

/** Starts a control plane, creates a namespace in it, and stops it again. */
export async function withNamespace(name: string): Promise<void> {
  await using controlPlane = new ControlPlane(); // stopped when the block ends
  await controlPlane.start();
  const client = controlPlane.client(); // a KubeClient as cluster admin
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await controlPlane.writeKubeconfig('.bindery/kubeconfig'); // for kubectl, while it runs
}

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';

it('README.md shows the example of this file verbatim', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const self = readFileSync(new URL(import.meta.url), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  assert.equal(blocks.length, 1, 'one example');
  for (const block of blocks)
    assert.ok(self.includes(block), `README.md shows code that is not here:\n${block}`);
});
