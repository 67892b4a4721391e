// The install bundle: every object a cluster needs to run Bindery, in an order that a sequential
// server-side apply gets right on an empty cluster (see `applyInstallBundle`). Rendered to config/
// by cli-gen-crds.ts and by `bindery manifests`.

import type { KubeObject } from '@bindery/kube';
import { osbCRDs, osbClusterRoles, osbRoleNames } from '@bindery/osb';
import { clusterWorkloadResourceMappingCRD, serviceBindingCRD } from '../apis/crds.ts';
import { certificate, issuer, webhookCertSecret } from './certificates.ts';
import { deployment, metricsService, podDisruptionBudget, webhookService } from './deployment.ts';
import { commonLabels, installNames } from './names.ts';
import { resolve } from './options.ts';
import type { InstallOptions, Resolved } from './options.ts';
import {
  aggregateClusterRole,
  clusterRoleBinding,
  leaderElectionRole,
  managerClusterRole,
  roleBinding,
  serviceAccount,
  webhookCertRole,
  workloadsClusterRole,
} from './rbac.ts';
import {
  interceptorConfiguration,
  osbUserInfoConfiguration,
  triggerConfiguration,
  validationConfiguration,
} from './webhook-configurations.ts';

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
