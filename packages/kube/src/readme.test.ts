// The example of README.md, verbatim: tsc type-checks it, and the last test checks that the
// README still shows this code.
import { KubeClient, SharedInformerFactory } from '@bindery/kube';

/** The names of a namespace's ConfigMaps, read from a watch-fed cache as a controller reads them. */
export async function configMapNames(namespace: string): Promise<string[]> {
  const client = KubeClient.fromKubeConfig(); // $KUBECONFIG, in-cluster, or ~/.kube/config
  const stop = new AbortController();
  try {
    const informers = new SharedInformerFactory({ client });
    const configMaps = informers.informerFor({ type: { apiVersion: 'v1', kind: 'ConfigMap' } });
    informers.start(stop.signal); // lists, then watches until stopped
    await configMaps.waitForSync(AbortSignal.timeout(30_000));
    return configMaps.lister.list({ namespace }).map((cm) => cm.metadata.name ?? '');
  } finally {
    stop.abort();
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
