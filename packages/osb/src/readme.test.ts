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

import { it } from 'node:test';
import { assertReadmeShowsExample } from '@bindery/controlplane';

it('README.md shows the example of this file verbatim', () => assertReadmeShowsExample(import.meta.url));
