// The example of README.md, verbatim: tsc type-checks it, and the last test checks that the
// README still shows this code.
import { KubeClient } from '@bindery/kube';
import { addOsbControllers } from '@bindery/osb';
import { Manager } from '@bindery/runtime';

/** Runs every OSB controller (brokers, catalogs, instances, credential bindings) until `signal` aborts. */
export async function runOsbPlatform(signal: AbortSignal): Promise<void> {
  const client = KubeClient.fromKubeConfig();
  const manager = new Manager({ client, name: 'bindery-osb' });
  addOsbControllers(manager); // the broker clients close when the manager stops
  try {
    await manager.start(signal);
  } finally {
    await client.close();
  }
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
