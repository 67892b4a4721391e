// Objects the benchmarks create, the same in each so their figures compare.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane } from '@bindery/controlplane';
import { KubeClient } from '@bindery/kube';
import type { KubeObject, TypeRef } from '@bindery/kube';

export const deploymentType: TypeRef = { apiVersion: 'apps/v1', kind: 'Deployment' };

/** A one-container Deployment of typical size: a port, an env var, requests, an emptyDir mount. */
export function benchDeployment(
  name: string,
  namespace: string,
  labels: Record<string, string>,
  selector: Record<string, string> = labels,
): KubeObject {
  return {
    ...deploymentType,
    metadata: { name, namespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'registry.example.com/app:1.0',
              ports: [{ containerPort: 8080 }],
              env: [{ name: 'LOG_LEVEL', value: 'info' }],
              resources: { requests: { cpu: '100m', memory: '128Mi' } },
              volumeMounts: [{ name: 'cache', mountPath: '/cache' }],
            },
          ],
          volumes: [{ name: 'cache', emptyDir: {} }],
        },
      },
    },
  };
}

/**
 * Creates `namespace` and `count` ConfigMaps in it (`cm-<i>`, two small data keys, one of 50 `app`
 * labels), 100 at a time: what the informer and reconcile benchmarks list and watch.
 */
export async function seedConfigMaps(client: KubeClient, namespace: string, count: number): Promise<void> {
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  const seeded = Date.now();
  const data = { 'app.properties': 'a=1\nb=2\nc=3\n', mode: 'bench' };
  for (let i = 0; i < count; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, (_, j) =>
        client.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `cm-${i + j}`, namespace, labels: { app: `app-${(i + j) % 50}` } },
          data,
        }),
      ),
    );
  }
  console.log(`seeded ${count} ConfigMaps in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);
}

/**
 * A control plane with `count` ConfigMaps seeded in `namespace` (`seedConfigMaps`), for `body`, which
 * gets an admin kubeconfig file for its child processes; everything is stopped and removed after.
 */
export async function withSeededControlPlane(
  namespace: string,
  count: number,
  body: (kubeconfigPath: string) => void | Promise<void>,
): Promise<void> {
  const cp = new ControlPlane();
  await cp.start();
  const dir = await mkdtemp(join(tmpdir(), 'bindery-bench-'));
  const client = new KubeClient({ kubeConfig: cp.kubeConfig() });
  try {
    const kubeconfigPath = join(dir, 'kubeconfig');
    await cp.writeKubeconfig(kubeconfigPath);
    await seedConfigMaps(client, namespace, count);
    await body(kubeconfigPath);
  } finally {
    await client.close();
    await cp.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
