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

import { it } from 'node:test';
import { assertReadmeShowsExample } from '@bindery/controlplane';

it('README.md shows the example of this file verbatim', () => assertReadmeShowsExample(import.meta.url));
