// The manager's workload: its Services, Deployment (with the manager's command line) and
// PodDisruptionBudget.

import type { KubeObject } from '@bindery/kube';
import type { SecretAccess } from '../resolver/secret-metadata.ts';
import { certDir, commonLabels, installNames, installPorts, meta, selectorLabels } from './names.ts';
import type { CertMode, Resolved } from './options.ts';

export function webhookService(o: Resolved): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(installNames.webhookService, o.namespace),
    spec: {
      selector: selectorLabels,
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 'webhook-server' }],
    },
  };
}

export function metricsService(o: Resolved): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(installNames.metricsService, o.namespace),
    spec: {
      selector: selectorLabels,
      ports: [{ name: 'metrics', port: installPorts.metrics, protocol: 'TCP', targetPort: 'metrics' }],
    },
  };
}

/** The manager's command line (after the image's entrypoint, `bindery`). */
export function managerArgs(
  certMode: CertMode,
  options: { secretAccess?: SecretAccess; deniedEnvNames?: readonly string[]; osb?: boolean } = {},
): string[] {
  const { secretAccess = 'metadata', deniedEnvNames = [], osb = false } = options;
  return [
    'manager',
    '--leader-elect',
    `--leader-election-id=${installNames.lease}`,
    `--metrics-bind-address=:${installPorts.metrics}`,
    `--health-probe-bind-address=:${installPorts.health}`,
    `--webhook-port=${installPorts.webhook}`,
    `--cert-mode=${certMode}`,
    certMode === 'cert-manager' ? `--cert-dir=${certDir}` : `--cert-secret=${installNames.webhookCertSecret}`,
    ...(secretAccess === 'metadata' ? [] : [`--secret-access=${secretAccess}`]),
    ...(deniedEnvNames.length === 0 ? [] : [`--deny-env=${deniedEnvNames.join(',')}`]),
    ...(osb ? ['--osb'] : []),
  ];
}

export function deployment(o: Resolved): KubeObject {
  const certManager = o.certMode === 'cert-manager';
  const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(installNames.deployment, o.namespace),
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: selectorLabels },
      // Never below the desired count during a rollout: the interceptor webhook fails closed.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: {
          labels: { ...commonLabels, ...selectorLabels },
          annotations: { 'kubectl.kubernetes.io/default-container': 'manager' },
        },
        spec: {
          serviceAccountName: installNames.serviceAccount,
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          // Replicas on different nodes where possible, so one node going away leaves a webhook up.
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    labelSelector: { matchLabels: selectorLabels },
                    topologyKey: 'kubernetes.io/hostname',
                  },
                },
              ],
            },
          },
          containers: [
            {
              name: 'manager',
              image: o.image,
              imagePullPolicy: 'IfNotPresent',
              args: managerArgs(o.certMode, {
                secretAccess: o.secretAccess,
                deniedEnvNames: o.deniedEnvNames,
                osb: o.osb,
              }),
              env: [
                // The Lease's namespace and this replica's identity in the election.
                fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
                fieldEnv('POD_NAME', 'metadata.name'),
                { name: 'NODE_ENV', value: 'production' },
                // Heap settings for the memory limit below (docs/benchmarks.md, "Where the manager's
                // memory goes"): V8 sizes its heap from the container's limit and would let garbage
                // grow to all of it; a 1 MiB young generation, two malloc arenas and glibc giving
                // freed memory back keep RSS near what the caches hold. The image's entrypoint adds
                // --optimize-for-size, which NODE_OPTIONS may not carry.
                { name: 'NODE_OPTIONS', value: '--max-old-space-size=256 --max-semi-space-size=1' },
                { name: 'MALLOC_ARENA_MAX', value: '2' },
                { name: 'MALLOC_TRIM_THRESHOLD_', value: '131072' },
                { name: 'MALLOC_MMAP_THRESHOLD_', value: '131072' },
              ],
              ports: [
                { name: 'webhook-server', containerPort: installPorts.webhook, protocol: 'TCP' },
                { name: 'metrics', containerPort: installPorts.metrics, protocol: 'TCP' },
                { name: 'health', containerPort: installPorts.health, protocol: 'TCP' },
              ],
              livenessProbe: {
                httpGet: { path: '/healthz', port: 'health' },
                initialDelaySeconds: 15,
                periodSeconds: 20,
              },
              readinessProbe: {
                httpGet: { path: '/readyz', port: 'health' },
                initialDelaySeconds: 5,
                periodSeconds: 10,
              },
              resources: {
                requests: { cpu: '50m', memory: '128Mi' },
                limits: { cpu: '1', memory: '512Mi' },
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'tmp', mountPath: '/tmp' },
                ...(certManager ? [{ name: 'cert', mountPath: certDir, readOnly: true }] : []),
              ],
            },
          ],
          volumes: [
            // The root filesystem is read-only; Node and its libraries may still want a scratch /tmp.
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
            ...(certManager
              ? [{ name: 'cert', secret: { secretName: installNames.webhookCertSecret } }]
              : []),
          ],
        },
      },
    },
  };
}

export function podDisruptionBudget(o: Resolved): KubeObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(installNames.podDisruptionBudget, o.namespace),
    spec: { minAvailable: 1, selector: { matchLabels: selectorLabels } },
  };
}
