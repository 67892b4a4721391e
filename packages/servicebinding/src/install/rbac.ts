// The install bundle's RBAC, split by purpose, so an operator can read each grant and see why it is
// there:
//   bindery-aggregate   aggregated (RA-2) from every ClusterRole labelled servicebinding.io/controller,
//                       bound cluster-wide to the controller's ServiceAccount (RA-3)
//   bindery-workloads   the opt-in (WR-1/WR-2) of the built-in workload kinds
//   bindery-manager     what the manager itself needs, nothing for any other kind
//   bindery-osb-*       (osb: true only) the OSB platform's controllers, its Provisioned Service
//                       kind for the aggregated role, and edit/view for namespace users (@bindery/osb)
//   bindery-leader-election / bindery-webhook-cert   namespaced: the Lease, and (self-managed) the CA Secret

import type { KubeObject } from '@bindery/kube';
import { commonLabels, controllerLabel, installNames, legacyControllerLabel, meta } from './names.ts';
import type { Resolved } from './options.ts';

const rbac = 'rbac.authorization.k8s.io/v1';

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}

export function serviceAccount(o: Resolved): KubeObject {
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
export function aggregateClusterRole(): KubeObject {
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

export function workloadsClusterRole(): KubeObject {
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

export function managerClusterRole(o: Resolved): KubeObject {
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
export function clusterRoleBinding(o: Resolved, role: string): KubeObject {
  return {
    apiVersion: rbac,
    kind: 'ClusterRoleBinding',
    metadata: meta(role),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'ServiceAccount', name: installNames.serviceAccount, namespace: o.namespace }],
  };
}

/** A Role in the controller's namespace; `roleBinding` binds it to the ServiceAccount. */
function namespacedRole(o: Resolved, name: string, rules: PolicyRule[]): KubeObject {
  return { apiVersion: rbac, kind: 'Role', metadata: meta(name, o.namespace), rules };
}

/** The leader-election Lease, in the controller's namespace only. `create` cannot name a resource. */
export function leaderElectionRole(o: Resolved): KubeObject {
  return namespacedRole(o, installNames.leaderElectionRole, [
    {
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      resourceNames: [installNames.lease],
      verbs: ['get', 'update', 'patch'],
    },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  ]);
}

export function roleBinding(o: Resolved, role: string): KubeObject {
  return {
    apiVersion: rbac,
    kind: 'RoleBinding',
    metadata: meta(role, o.namespace),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
    subjects: [{ kind: 'ServiceAccount', name: installNames.serviceAccount, namespace: o.namespace }],
  };
}

/** Self-managed: read and write the one CA/serving-certificate Secret, nothing else. */
export function webhookCertRole(o: Resolved): KubeObject {
  return namespacedRole(o, installNames.webhookCertRole, [
    {
      apiGroups: [''],
      resources: ['secrets'],
      resourceNames: [installNames.webhookCertSecret],
      verbs: ['get', 'update', 'patch'],
    },
  ]);
}
