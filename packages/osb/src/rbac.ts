// The ClusterRoles of the OSB platform, for an install bundle to ship and bind: what its controllers
// need; the servicebinding.io aggregation role that lets a ServiceBinding runtime read
// ServiceCredentialBindings as Provisioned Services; and edit/view roles aggregated into the
// built-in `edit`/`view` so namespace users can ask for services.
import type { KubeObject } from '@bindery/kube';
import { group, resources as r } from './apis/group.ts';

export const osbRoleNames = {
  manager: 'bindery-osb-manager',
  provisionedServices: 'bindery-osb-provisioned-services',
  edit: 'bindery-osb-edit',
  view: 'bindery-osb-view',
} as const;

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const read = ['get', 'list', 'watch'];
const rule = (resources: readonly string[], verbs: readonly string[], apiGroups = [group]): Rule => ({
  apiGroups,
  resources: [...resources],
  verbs: [...verbs],
});
const sub = (resources: readonly string[], subresource: string) =>
  resources.map((x) => `${x}/${subresource}`);

const reconciled = [
  r.clusterServiceBrokers,
  r.serviceBrokers,
  r.serviceInstances,
  r.serviceCredentialBindings,
];
const catalog = [r.clusterServiceClasses, r.clusterServicePlans, r.serviceClasses, r.servicePlans];

function clusterRole(name: string, rules: Rule[], labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: {
      name,
      labels: { 'app.kubernetes.io/name': 'bindery', 'app.kubernetes.io/component': 'osb', ...labels },
    },
    rules,
  };
}

/** The role the OSB controllers run with (bind it to the manager's ServiceAccount). */
export function osbManagerClusterRole(): KubeObject {
  return clusterRole(osbRoleNames.manager, [
    // Brokers, instances and credential bindings: reconciled (finalizers by patch), never created.
    rule(reconciled, [...read, 'update', 'patch']),
    rule(sub(reconciled, 'status'), ['get', 'update', 'patch']),
    rule(sub(reconciled, 'finalizers'), ['update']),
    // Classes and plans are made from catalogs, marked removed, and deleted once unused.
    rule(catalog, [...read, 'create', 'update', 'patch', 'delete']),
    rule(sub(catalog, 'status'), ['get', 'update', 'patch']),
    // Broker auth and parametersFrom are read by name; a credential binding's Secret is written and
    // watched (metadata only) so that a deleted one is written again.
    rule(['secrets'], [...read, 'create', 'update', 'delete'], ['']),
    // context.clusterid (kube-system's uid) and the namespace annotations sent in the context.
    rule(['namespaces'], ['get'], ['']),
    rule(['events'], ['create', 'patch'], ['events.k8s.io']),
  ]);
}

/**
 * Aggregated into the ServiceBinding runtime's role (servicebinding.io RBAC aggregation): a
 * ServiceBinding may name a ServiceCredentialBinding in `spec.service`, and the runtime must read it.
 */
export function osbProvisionedServiceClusterRole(): KubeObject {
  return clusterRole(osbRoleNames.provisionedServices, [rule([r.serviceCredentialBindings], read)], {
    'servicebinding.io/controller': 'true',
  });
}

/** Namespace users (built-in `edit`/`admin`): ask for instances and bindings; read the catalog. */
export function osbEditClusterRole(): KubeObject {
  return clusterRole(
    osbRoleNames.edit,
    [
      rule(
        [r.serviceInstances, r.serviceCredentialBindings],
        [...read, 'create', 'update', 'patch', 'delete'],
      ),
      rule(
        [r.serviceBrokers, r.serviceClasses, r.servicePlans, r.clusterServiceClasses, r.clusterServicePlans],
        read,
      ),
    ],
    {
      'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
      'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
    },
  );
}

/** Built-in `view`: every OSB kind, read only (status, no Secrets). */
export function osbViewClusterRole(): KubeObject {
  return clusterRole(osbRoleNames.view, [rule([...reconciled, ...catalog], read)], {
    'rbac.authorization.k8s.io/aggregate-to-view': 'true',
  });
}

export function osbClusterRoles(): KubeObject[] {
  return [
    osbManagerClusterRole(),
    osbProvisionedServiceClusterRole(),
    osbEditClusterRole(),
    osbViewClusterRole(),
  ];
}
