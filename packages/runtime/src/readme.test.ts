// The example of README.md, verbatim: tsc type-checks it, and the last test checks that the
// README still shows this code.
import { KubeClient } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { Controller, Manager, ResourceReconciler, SyncReconciler } from '@bindery/runtime';

/** Logs how many keys each ConfigMap has, on every change, until `signal` aborts. */
export async function runKeyCounter(signal: AbortSignal): Promise<void> {
  const countKeys = new SyncReconciler<KubeObject & { data?: Record<string, string> }>({
    sync: (ctx, cm) => ctx.log.info({ keys: Object.keys(cm.data ?? {}).length }, 'counted'),
  });
  const type = { apiVersion: 'v1', kind: 'ConfigMap' };
  const client = KubeClient.fromKubeConfig();
  const manager = new Manager({ client, name: 'key-counter' });
  // A ConfigMap has no status: the reconciler only reads.
  const reconciler = new ResourceReconciler({
    name: 'KeyCounter',
    type,
    reconciler: countKeys,
    skipStatusUpdate: true,
  });
  manager.add(new Controller({ name: 'key-counter', for: type, reconciler }));
  try {
    await manager.start(signal);
  } finally {
    await client.close();
  }
}

import { it } from 'node:test';
import { assertReadmeShowsExample } from '@bindery/controlplane';

it('README.md shows the example of this file verbatim', () => assertReadmeShowsExample(import.meta.url));
