// The install bundle: every object a cluster needs to run Bindery, in an order that a sequential
// server-side apply gets right on an empty cluster (see `applyInstallBundle`). Rendered to config/
// by cli-gen-crds.ts and by `bindery manifests`.
//
// RBAC is split by purpose, so an operator can read each grant and see why it is there:
//   bindery-aggregate   aggregated (RA-2) from every ClusterRole labelled servicebinding.io/controller,
//                       bound cluster-wide to the controller's ServiceAccount (RA-3)
//   bindery-workloads   the opt-in (WR-1/WR-2) of the built-in workload kinds
//   bindery-manager     what the manager itself needs, nothing for any other kind
//   bindery-osb-*       (osb: true only) the OSB platform's controllers, its Provisioned Service
//                       kind for the aggregated role, and edit/view for namespace users (@bindery/osb)
//   bindery-leader-election / bindery-webhook-cert   namespaced: the Lease, and (self-managed) the CA Secret

import type { KubeObject } from '@bindery/kube';
import { osbCRDs, osbClusterRoles, osbRoleNames, userInfoWebhookPaths } from '@bindery/osb';
import { clusterWorkloadResourceMappingCRD, serviceBindingCRD } from '../apis/crds.ts';
import { secretAccessModes } from '../resolver/secret-metadata.ts';
import type { SecretAccess } from '../resolver/secret-metadata.ts';
import {
  defaultWebhookConfigurationNames,
  interceptorPath,
  managedRulesAnnotation,
  triggerPath,
  validateMappingPath,
  validateServiceBindingPath,
  webhookNames,
} from '../webhooks/constants.ts';

/** The release the bundle installs; equal to packages/servicebinding/package.json's version (tested). */
export const binderyVersion = '0.1.0';

/** Where a release image is published; `image` overrides it (docs/install.md: it is not built here). */
export const defaultImage = `ghcr.io/bindery/bindery:${binderyVersion}`;

export type CertMode = 'cert-manager' | 'self-managed';

export interface InstallOptions {
  /** Where the controller runs. Default `bindery-system`. */
  namespace?: string;
  /** The controller image. Default `defaultImage`. */
  image?: string;
  /**
   * Who issues the webhook serving certificate. `cert-manager` (default): an Issuer and a Certificate,
   * the CA injected by cert-manager's cainjector. `self-managed`: the manager generates a CA, keeps it
   * in a Secret the bundle creates empty, and writes `caBundle` into the webhook configurations itself.
   */
  certMode?: CertMode;
  /** Controller replicas: every replica serves webhooks, the Lease holder reconciles. Default 2. */
  replicas?: number;
  /**
   * `metadata` (default): get/list/watch on Secrets cluster-wide, read as metadata only, for the
   * missing-Secret check and the rollout opt-in. `none`: no verb on Secrets anywhere (in
   * self-managed cert mode, only the one CA Secret of its own namespace, by name), and the manager
   * runs with `--secret-access=none`. See `SecretAccess`.
   */
  secretAccess?: SecretAccess;
  /** Variable names no binding may set (`bindery manager --deny-env`; docs/security.md). Default none. */
  deniedEnvNames?: readonly string[];
  /**
   * Also the OSB platform (@bindery/osb, docs/osb.md): its CRDs, its ClusterRoles, and the manager
   * run with `--osb`. Off by default: it reads broker and parameter Secrets and writes credential
   * Secrets, which the ServiceBinding runtime alone never does. Needs `secretAccess: metadata`.
   */
  osb?: boolean;
}

/** Object names; the manager (`bindery manager`) uses the same ones. */
export const installNames = {
  namespace: 'bindery-system',
  serviceAccount: 'bindery-controller',
  deployment: 'bindery-controller',
  podDisruptionBudget: 'bindery-controller',
  aggregateClusterRole: 'bindery-aggregate',
  workloadsClusterRole: 'bindery-workloads',
  managerClusterRole: 'bindery-manager',
  leaderElectionRole: 'bindery-leader-election',
  webhookCertRole: 'bindery-webhook-cert',
  lease: 'bindery-controller-leader',
  webhookService: 'bindery-webhook',
  metricsService: 'bindery-metrics',
  /** cert-manager writes it (`Certificate`), or the manager does (self-managed). */
  webhookCertSecret: 'bindery-webhook-cert',
  issuer: 'bindery-selfsigned',
  certificate: 'bindery-webhook-cert',
  // The webhooks package's defaults: it programs the rules of these configurations.
  interceptorConfiguration: defaultWebhookConfigurationNames.interceptor,
  triggerConfiguration: defaultWebhookConfigurationNames.trigger,
  validationConfiguration: defaultWebhookConfigurationNames.validation,
  // osb: true only: records the requesting user in spec.userInfo of instances and credential bindings.
  osbUserInfoConfiguration: 'bindery-osb-userinfo',
} as const;

/** The manager's ports: webhooks (HTTPS), `/metrics`, `/healthz` + `/readyz`. */
export const installPorts = { webhook: 9443, metrics: 8080, health: 8081 } as const;

/** Where cert-manager's Secret is mounted (controller-runtime's default, which the RI uses too). */
export const certDir = '/tmp/k8s-webhook-server/serving-certs';

/** The RBAC aggregation label (RA-2) and the RI's legacy one, kept so roles written for the RI still apply. */
export const controllerLabel = 'servicebinding.io/controller';
export const legacyControllerLabel = 'service.binding/controller';

/**
 * On the webhook configurations whose `rules` the manager rewrites at run time (server-side apply,
 * field manager `bindery-webhooks`): the webhooks package's marker, and Argo CD told to diff
 * server-side, so the fields the bundle leaves out (`rules`, `caBundle`) never show as drift.
 */
export const dynamicWebhookAnnotations: Readonly<Record<string, string>> = {
  [managedRulesAnnotation]: 'true',
  'argocd.argoproj.io/compare-options': 'ServerSideDiff=true',
};

const selectorLabels = { 'app.kubernetes.io/name': 'bindery', 'app.kubernetes.io/component': 'controller' };
const commonLabels = {
  'app.kubernetes.io/name': 'bindery',
  'app.kubernetes.io/part-of': 'bindery',
  'app.kubernetes.io/version': binderyVersion,
};

const rbac = 'rbac.authorization.k8s.io/v1';

interface Resolved {
  namespace: string;
  image: string;
  certMode: CertMode;
  replicas: number;
  secretAccess: SecretAccess;
  deniedEnvNames: readonly string[];
  osb: boolean;
}

function resolve(options: InstallOptions): Resolved {
  const namespace = options.namespace ?? installNames.namespace;
  // A namespace is a DNS-1123 label; it also becomes part of the webhook Service's DNS name.
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    throw new Error(`namespace ${JSON.stringify(namespace)} is not a DNS-1123 label`);
  }
  const replicas = options.replicas ?? 2;
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new Error(`replicas must be a positive integer, got ${String(replicas)}`);
  }
  const image = options.image ?? defaultImage;
  if (image.trim() === '' || /\s/.test(image)) throw new Error(`image ${JSON.stringify(image)} is not valid`);
  const certMode = options.certMode ?? 'cert-manager';
  if (certMode !== 'cert-manager' && certMode !== 'self-managed') {
    throw new Error(`certMode must be cert-manager or self-managed, got ${JSON.stringify(certMode)}`);
  }
  const secretAccess = options.secretAccess ?? 'metadata';
  if (!secretAccessModes.includes(secretAccess)) {
    throw new Error(`secretAccess must be metadata or none, got ${JSON.stringify(secretAccess)}`);
  }
  const deniedEnvNames = options.deniedEnvNames ?? [];
  for (const name of deniedEnvNames) {
    if (name === '' || name.includes('=') || name.includes(',') || /\s/.test(name)) {
      throw new Error(`deniedEnvNames: ${JSON.stringify(name)} is not a variable name`);
    }
  }
  const osb = options.osb ?? false;
  if (osb && secretAccess === 'none') {
    throw new Error(
      'osb needs Secrets (broker credentials, credential bindings): not with secretAccess none',
    );
  }
  return { namespace, image, certMode, replicas, secretAccess, deniedEnvNames, osb };
}

/**
 * The bundle, in apply order: Namespace, CRDs, ServiceAccount and RBAC, certificates, Services,
 * Deployment, PodDisruptionBudget, and the webhook configurations last. It holds no object of its
 * own CRDs, so one `kubectl apply` installs it on an empty cluster (kubectl resolves every object's
 * kind before applying any: servicebinding/runtime#159). The default ClusterWorkloadResourceMapping
 * is created by the controller when it starts leading (`ensureDefaultMappings`), or applied from
 * config/servicebinding-workloadresourcemappings.yaml.
 */
export function renderInstallBundle(options: InstallOptions = {}): KubeObject[] {
  const o = resolve(options);
  return [
    namespace(o),
    serviceBindingCRD(),
    clusterWorkloadResourceMappingCRD(),
    ...(o.osb ? osbCRDs() : []),
    serviceAccount(o),
    aggregateClusterRole(),
    workloadsClusterRole(),
    managerClusterRole(o),
    clusterRoleBinding(o, installNames.aggregateClusterRole),
    clusterRoleBinding(o, installNames.managerClusterRole),
    ...(o.osb ? [...osbClusterRoles(), clusterRoleBinding(o, osbRoleNames.manager)] : []),
    leaderElectionRole(o),
    roleBinding(o, installNames.leaderElectionRole),
    ...(o.certMode === 'cert-manager'
      ? [issuer(o), certificate(o)]
      : [webhookCertSecret(o), webhookCertRole(o), roleBinding(o, installNames.webhookCertRole)]),
    webhookService(o),
    metricsService(o),
    deployment(o),
    // One replica cannot keep one available through a drain; the budget would only block the drain.
    ...(o.replicas > 1 ? [podDisruptionBudget(o)] : []),
    interceptorConfiguration(o),
    triggerConfiguration(o),
    validationConfiguration(o),
    ...(o.osb ? [osbUserInfoConfiguration(o)] : []),
  ];
}

function meta(name: string, ns?: string, extra: Record<string, unknown> = {}): KubeObject['metadata'] {
  return { name, ...(ns !== undefined && { namespace: ns }), labels: { ...commonLabels }, ...extra };
}

function namespace(o: Resolved): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: o.namespace,
      labels: {
        ...commonLabels,
        // The controller's pods meet the restricted Pod Security Standard; nothing else runs here.
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/warn': 'restricted',
      },
    },
  };
}

function serviceAccount(o: Resolved): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: meta(installNames.serviceAccount, o.namespace),
  };
}

/**
 * RA-2: filled by the control plane from every ClusterRole labelled `servicebinding.io/controller:
 * "true"` (Provisioned Service kinds, PR-1/PR-2, and workload kinds, WR-1/WR-2). No `rules` here: the
 * aggregation controller owns them, and an applied `rules: []` would fight it on every re-apply.
 */
function aggregateClusterRole(): KubeObject {
  return {
    apiVersion: rbac,
    kind: 'ClusterRole',
    metadata: meta(installNames.aggregateClusterRole),
    aggregationRule: {
      clusterRoleSelectors: [
        { matchLabels: { [controllerLabel]: 'true' } },
        { matchLabels: { [legacyControllerLabel]: 'true' } },
      ],
    },
  };
}

/** The workload kinds Kubernetes ships, opted in to projection (WR-1, with WR-2's verbs). */
export const builtInWorkloadRules: ReadonlyArray<{ apiGroups: string[]; resources: string[] }> = [
  { apiGroups: [''], resources: ['replicationcontrollers'] },
  { apiGroups: ['apps'], resources: ['daemonsets', 'deployments', 'replicasets', 'statefulsets'] },
  { apiGroups: ['batch'], resources: ['cronjobs', 'jobs'] },
];

function workloadsClusterRole(): KubeObject {
  return {
    apiVersion: rbac,
    kind: 'ClusterRole',
    metadata: {
      ...meta(installNames.workloadsClusterRole),
      labels: { ...commonLabels, [controllerLabel]: 'true' },
    },
    rules: builtInWorkloadRules.map((r) => ({
      apiGroups: [...r.apiGroups],
      resources: [...r.resources],
      verbs: ['get', 'list', 'watch', 'update', 'patch'],
    })),
  };
}

function managerClusterRole(o: Resolved): KubeObject {
  return {
    apiVersion: rbac,
    kind: 'ClusterRole',
    metadata: meta(installNames.managerClusterRole),
    rules: [
      // A ServiceBinding is reconciled (finalizer by patch), is itself a Provisioned Service, and is
      // annotated by a non-leader replica's trigger webhook; it is never created or deleted.
      {
        apiGroups: ['servicebinding.io'],
        resources: ['servicebindings'],
        verbs: ['get', 'list', 'watch', 'update', 'patch'],
      },
      {
        apiGroups: ['servicebinding.io'],
        resources: ['servicebindings/status'],
        verbs: ['get', 'update', 'patch'],
      },
      // kubebuilder's convention for a controller holding a finalizer; only admission plugins such as
      // OwnerReferencesPermissionEnforcement (on in OpenShift) check it.
      { apiGroups: ['servicebinding.io'], resources: ['servicebindings/finalizers'], verbs: ['update'] },
      // Read to project; `create` for the default mappings the leader creates when absent (never
      // updated nor deleted: an operator's edit wins). `create` cannot be limited by name.
      {
        apiGroups: ['servicebinding.io'],
        resources: ['clusterworkloadresourcemappings'],
        verbs: ['get', 'list', 'watch', 'create'],
      },
      // Metadata only (PartialObjectMetadata): whether a directly referenced Secret exists, and its
      // resourceVersion for rollouts. No Secret data is read: bindings are projected by reference.
      // RBAC cannot grant "metadata only", hence get/list/watch — and no verb that writes. Without
      // those two features (secretAccess none) there is no grant at all.
      ...(o.secretAccess === 'metadata'
        ? [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }]
        : []),
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
      // The leader keeps the interceptor's and trigger's rules in step with the bindings (server-side
      // apply), and (self-managed) the manager writes caBundle. Only Bindery's own configurations;
      // list/watch there work with a metadata.name field selector. No `create`: the bundle ships them.
      {
        apiGroups: ['admissionregistration.k8s.io'],
        resources: ['mutatingwebhookconfigurations'],
        resourceNames: [
          installNames.interceptorConfiguration,
          // Self-managed certificates: the manager writes the caBundle of the OSB userInfo webhook too.
          ...(o.osb ? [installNames.osbUserInfoConfiguration] : []),
        ],
        verbs: ['get', 'list', 'watch', 'update', 'patch'],
      },
      {
        apiGroups: ['admissionregistration.k8s.io'],
        resources: ['validatingwebhookconfigurations'],
        resourceNames: [installNames.triggerConfiguration, installNames.validationConfiguration],
        verbs: ['get', 'list', 'watch', 'update', 'patch'],
      },
      // Admission webhooks bypass RBAC: a kind joins the webhook rules only if the controller may
      // itself update (interceptor) or get (trigger) it.
      { apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews'], verbs: ['create'] },
    ],
  };
}

/** RA-3 (and the manager role): bound cluster-wide, since bindings may live in any namespace. */
function clusterRoleBinding(o: Resolved, role: string): KubeObject {
  return {
    apiVersion: rbac,
    kind: 'ClusterRoleBinding',
    metadata: meta(role),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'ServiceAccount', name: installNames.serviceAccount, namespace: o.namespace }],
  };
}

/** The leader-election Lease, in the controller's namespace only. `create` cannot name a resource. */
function leaderElectionRole(o: Resolved): KubeObject {
  return {
    apiVersion: rbac,
    kind: 'Role',
    metadata: meta(installNames.leaderElectionRole, o.namespace),
    rules: [
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: [installNames.lease],
        verbs: ['get', 'update', 'patch'],
      },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    ],
  };
}

function roleBinding(o: Resolved, role: string): KubeObject {
  return {
    apiVersion: rbac,
    kind: 'RoleBinding',
    metadata: meta(role, o.namespace),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
    subjects: [{ kind: 'ServiceAccount', name: installNames.serviceAccount, namespace: o.namespace }],
  };
}

// ---- certificates -------------------------------------------------------------------------------

const serviceHosts = (o: Resolved): string[] => [
  `${installNames.webhookService}.${o.namespace}.svc`,
  `${installNames.webhookService}.${o.namespace}.svc.cluster.local`,
];

/** kubebuilder's layout: a self-signed Issuer signs the serving certificate, which is its own CA. */
function issuer(o: Resolved): KubeObject {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Issuer',
    metadata: meta(installNames.issuer, o.namespace),
    spec: { selfSigned: {} },
  };
}

function certificate(o: Resolved): KubeObject {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: meta(installNames.certificate, o.namespace),
    spec: {
      secretName: installNames.webhookCertSecret,
      dnsNames: serviceHosts(o),
      issuerRef: { kind: 'Issuer', name: installNames.issuer },
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
    },
  };
}

/**
 * Self-managed: created empty so the manager needs no `create` on Secrets (which RBAC cannot limit
 * by name). The manager fills it once (the first replica wins by resourceVersion) and every replica
 * serves from it. No `data` here, so re-applying the bundle never resets the CA.
 */
function webhookCertSecret(o: Resolved): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(installNames.webhookCertSecret, o.namespace),
    type: 'Opaque',
  };
}

/** Self-managed: read and write the one CA/serving-certificate Secret, nothing else. */
function webhookCertRole(o: Resolved): KubeObject {
  return {
    apiVersion: rbac,
    kind: 'Role',
    metadata: meta(installNames.webhookCertRole, o.namespace),
    rules: [
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: [installNames.webhookCertSecret],
        verbs: ['get', 'update', 'patch'],
      },
    ],
  };
}

// ---- workload -----------------------------------------------------------------------------------

function webhookService(o: Resolved): KubeObject {
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

function metricsService(o: Resolved): KubeObject {
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

function deployment(o: Resolved): KubeObject {
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
                // grow to all of it; a 2 MiB young generation and two malloc arenas keep RSS near
                // what the caches hold (220 → 147 MiB at the end of the 1,000-binding convergence).
                { name: 'NODE_OPTIONS', value: '--max-old-space-size=256 --max-semi-space-size=2' },
                { name: 'MALLOC_ARENA_MAX', value: '2' },
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

function podDisruptionBudget(o: Resolved): KubeObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(installNames.podDisruptionBudget, o.namespace),
    spec: { minAvailable: 1, selector: { matchLabels: selectorLabels } },
  };
}

// ---- webhook configurations ---------------------------------------------------------------------

function webhookMeta(o: Resolved, name: string, dynamicRules: boolean): KubeObject['metadata'] {
  const annotations: Record<string, string> = {
    ...(dynamicRules ? dynamicWebhookAnnotations : {}),
    ...(o.certMode === 'cert-manager' && {
      'cert-manager.io/inject-ca-from': `${o.namespace}/${installNames.certificate}`,
    }),
  };
  return { ...meta(name), ...(Object.keys(annotations).length > 0 && { annotations }) };
}

const clientConfig = (o: Resolved, path: string) => ({
  // No caBundle: cert-manager's cainjector or the manager (self-managed) owns it.
  service: { name: installNames.webhookService, namespace: o.namespace, path, port: 443 },
});

/** The workload webhooks never see the controller's own namespace nor kube-system. */
const workloadNamespaceSelector = (o: Resolved) => ({
  matchExpressions: [
    { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', o.namespace] },
  ],
});

/**
 * Projects bindings into workloads on CREATE and UPDATE. No `rules`: the manager adds the kinds that
 * bindings target (and that it may update). Fails closed: a workload admitted without its projection
 * would run unbound.
 */
function interceptorConfiguration(o: Resolved): KubeObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: webhookMeta(o, installNames.interceptorConfiguration, true),
    webhooks: [
      {
        name: webhookNames.interceptor,
        admissionReviewVersions: ['v1'],
        clientConfig: clientConfig(o, interceptorPath),
        failurePolicy: 'Fail',
        matchPolicy: 'Equivalent',
        namespaceSelector: workloadNamespaceSelector(o),
        reinvocationPolicy: 'IfNeeded',
        sideEffects: 'None',
        timeoutSeconds: 10,
      },
    ],
  };
}

/**
 * Enqueues bindings when a workload or Provisioned Service they track changes. No `rules`: the
 * manager adds them. Ignores failures: it only speeds up what periodic resyncs do anyway.
 */
function triggerConfiguration(o: Resolved): KubeObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: webhookMeta(o, installNames.triggerConfiguration, true),
    webhooks: [
      {
        name: webhookNames.trigger,
        admissionReviewVersions: ['v1'],
        clientConfig: clientConfig(o, triggerPath),
        failurePolicy: 'Ignore',
        matchPolicy: 'Equivalent',
        namespaceSelector: workloadNamespaceSelector(o),
        sideEffects: 'None',
        timeoutSeconds: 5,
      },
    ],
  };
}

/**
 * Validates ServiceBindings and mappings beyond what the CRD schema can (name rules, immutable
 * workload kind, Fixed JSONPaths). Fixed rules, every served version (the schemas are the same).
 */
function validationConfiguration(o: Resolved): KubeObject {
  const rule = (resource: string, scope: 'Namespaced' | 'Cluster') => ({
    apiGroups: ['servicebinding.io'],
    apiVersions: ['*'],
    operations: ['CREATE', 'UPDATE'],
    resources: [resource],
    scope,
  });
  const webhook = (name: string, path: string, r: ReturnType<typeof rule>) => ({
    name,
    admissionReviewVersions: ['v1'],
    clientConfig: clientConfig(o, path),
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    rules: [r],
    sideEffects: 'None',
    timeoutSeconds: 10,
  });
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: webhookMeta(o, installNames.validationConfiguration, false),
    webhooks: [
      webhook(webhookNames.serviceBinding, validateServiceBindingPath, rule('servicebindings', 'Namespaced')),
      webhook(webhookNames.mapping, validateMappingPath, rule('clusterworkloadresourcemappings', 'Cluster')),
    ],
  };
}

/**
 * Records who created or changed a ServiceInstance or ServiceCredentialBinding in `spec.userInfo`,
 * which the OSB controllers send as `X-Broker-API-Originating-Identity`. Fails closed: an object
 * admitted without it could carry any user's identity.
 */
function osbUserInfoConfiguration(o: Resolved): KubeObject {
  const webhook = (name: string, path: string, resource: string) => ({
    name,
    admissionReviewVersions: ['v1'],
    clientConfig: clientConfig(o, path),
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    rules: [
      {
        apiGroups: ['osb.bindery.dev'],
        apiVersions: ['*'],
        operations: ['CREATE', 'UPDATE'],
        resources: [resource],
        scope: 'Namespaced',
      },
    ],
    sideEffects: 'None',
    timeoutSeconds: 10,
  });
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: webhookMeta(o, installNames.osbUserInfoConfiguration, false),
    webhooks: [
      webhook(
        'serviceinstance.userinfo.osb.bindery.dev',
        userInfoWebhookPaths.serviceInstance,
        'serviceinstances',
      ),
      webhook(
        'servicecredentialbinding.userinfo.osb.bindery.dev',
        userInfoWebhookPaths.serviceCredentialBinding,
        'servicecredentialbindings',
      ),
    ],
  };
}
