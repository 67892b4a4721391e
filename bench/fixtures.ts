// Objects the ServiceBinding benchmarks create, the same in each so their figures compare.

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
