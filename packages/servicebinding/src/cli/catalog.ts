// `bindery catalog`: the classes and plans of the current cluster, as `svcat marketplace` listed them.

import { KubeClient } from '@bindery/kube';
import { formatMarketplace, listMarketplace } from '@bindery/osb';
import type { CatalogArgs } from './commands.ts';
import type { MainIO } from './main.ts';

export async function runCatalog(args: CatalogArgs, io: Pick<MainIO, 'stdout' | 'signal'>): Promise<number> {
  const client = KubeClient.fromKubeConfig({
    ...(args.kubeconfig !== undefined && { kubeconfig: args.kubeconfig }),
    ...(args.context !== undefined && { context: args.context }),
    userAgent: 'bindery-catalog',
  });
  try {
    const classes = await listMarketplace(client, {
      ...(args.namespace !== undefined && { namespace: args.namespace }),
      allNamespaces: args.allNamespaces,
      signal: io.signal,
    });
    io.stdout(args.output === 'json' ? `${JSON.stringify(classes, null, 2)}\n` : formatMarketplace(classes));
    return 0;
  } finally {
    await client.close();
  }
}
