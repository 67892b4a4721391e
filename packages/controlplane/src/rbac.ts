// RBAC for test users: grant cluster-wide rules, and wait until the authorizer enforces them (RBAC
// reaches kube-apiserver's authorizer a moment after it is written, so a controller's first lists
// would fail and back off).

import type { KubeClient, KubeObject } from '@bindery/kube';
import { eventually } from './e2e.ts';

const FIELD_MANAGER = 'bindery-controlplane';

/** A rule of a (Cluster)Role, as `rbac.authorization.k8s.io/v1` writes it. */
export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

export interface GrantOptions {
  /** The ClusterRole's and ClusterRoleBinding's name. */
  name: string;
  rules: PolicyRule[];
  /** Who is granted them: a user name, or groups. */
  user?: string;
  groups?: string[];
}

/** Applies a ClusterRole with `rules` and a ClusterRoleBinding of it to the user or groups. */
export async function grantClusterRole(admin: KubeClient, options: GrantOptions): Promise<void> {
  const rbac = 'rbac.authorization.k8s.io';
  await admin.apply(
    { apiVersion: `${rbac}/v1`, kind: 'ClusterRole', metadata: { name: options.name }, rules: options.rules },
    { fieldManager: FIELD_MANAGER, force: true },
  );
  const subjects = [
    ...(options.user === undefined ? [] : [{ apiGroup: rbac, kind: 'User', name: options.user }]),
    ...(options.groups ?? []).map((name) => ({ apiGroup: rbac, kind: 'Group', name })),
  ];
  await admin.apply(
    {
      apiVersion: `${rbac}/v1`,
      kind: 'ClusterRoleBinding',
      metadata: { name: options.name },
      roleRef: { apiGroup: rbac, kind: 'ClusterRole', name: options.name },
      subjects,
    },
    { fieldManager: FIELD_MANAGER, force: true },
  );
}

export interface WaitForRulesOptions {
  /** Where to ask (a namespaced request); cluster-wide when absent. */
  namespace?: string;
  /** Default 30 s. */
  timeoutMs?: number;
}

/**
 * Waits until `client`'s user may do every verb of every rule, as the API server's authorizer answers a
 * SelfSubjectAccessReview; throws naming the first one still denied at the deadline.
 */
export async function waitForRules(
  client: KubeClient,
  rules: readonly PolicyRule[],
  options: WaitForRulesOptions = {},
): Promise<void> {
  const attributes = rules.flatMap((rule) =>
    (rule.apiGroups ?? []).flatMap((group) =>
      (rule.resources ?? []).flatMap((resource) =>
        (rule.resourceNames?.length ? rule.resourceNames : [undefined]).flatMap((name) =>
          rule.verbs.map((verb) => {
            const [res = '', subresource] = resource.split('/');
            return { group, resource: res, subresource, verb, name, namespace: options.namespace };
          }),
        ),
      ),
    ),
  );
  await eventually(async () => {
    for (const a of attributes) {
      const review = await client.create<KubeObject & { status?: { allowed?: boolean } }>({
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        metadata: {},
        spec: { resourceAttributes: JSON.parse(JSON.stringify(a)) as object },
      });
      if (review.status?.allowed !== true) {
        const what = `${a.verb} ${a.resource}${a.subresource ? `/${a.subresource}` : ''}.${a.group}`;
        throw new Error(`${what}${a.name ? ` (${a.name})` : ''} is not granted yet`);
      }
    }
  }, options.timeoutMs);
}
