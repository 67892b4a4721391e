// Shared by the install e2e suites: what a cluster would do for them that the test control plane
// does not (the clusterrole-aggregation controller), and acting as the bundle's ServiceAccount.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ControlPlane } from '@bindery/controlplane';
import { KubeClient } from '@bindery/kube';
import type { KubeObject, TypeRef } from '@bindery/kube';
import { parse, stringify } from 'yaml';
import { installNames } from './names.ts';

export const clusterRoleType: TypeRef = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' };

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

interface ClusterRole extends KubeObject {
  aggregationRule?: { clusterRoleSelectors?: Array<{ matchLabels?: Record<string, string> }> };
  rules?: PolicyRule[];
}

/** What kube-controller-manager's clusterrole-aggregation controller does, for our aggregated role. */
export async function aggregate(admin: KubeClient): Promise<PolicyRule[]> {
  const ref = { ...clusterRoleType, name: installNames.aggregateClusterRole };
  const role = await admin.get<ClusterRole>(ref);
  const rules: PolicyRule[] = [];
  for (const selector of role.aggregationRule?.clusterRoleSelectors ?? []) {
    const labelSelector = Object.entries(selector.matchLabels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const matched = await admin.list<ClusterRole>(clusterRoleType, { labelSelector });
    for (const r of matched.items.sort((a, b) =>
      (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
    )) {
      for (const rule of r.rules ?? []) {
        if (!rules.some((have) => JSON.stringify(have) === JSON.stringify(rule))) rules.push(rule);
      }
    }
  }
  await admin.patch(ref, { rules }, { type: 'merge' });
  return rules;
}

/**
 * The admin's credentials acting as `user` (kubeconfig `as:`, sent as `Impersonate-User`). The API
 * server gives an impersonated ServiceAccount its groups, as it would for the real token.
 */
export async function impersonating(cp: ControlPlane, dir: string, user: string): Promise<KubeClient> {
  const config = parse(cp.kubeconfig()) as { users: Array<{ user: Record<string, unknown> }> };
  for (const u of config.users) u.user['as'] = user;
  const kubeconfig = join(dir, 'impersonating.kubeconfig');
  await writeFile(kubeconfig, stringify(config), { mode: 0o600 });
  return KubeClient.fromKubeConfig({ kubeconfig });
}

export interface ResourceAttributes {
  namespace?: string;
  verb: string;
  group?: string;
  resource: string;
  subresource?: string;
  name?: string;
}

/** Whether the bundle's ServiceAccount may, as the API server's authorizer answers (a SubjectAccessReview). */
export async function serviceAccountCan(
  admin: KubeClient,
  systemNamespace: string,
  attributes: ResourceAttributes,
): Promise<boolean> {
  const review = await admin.create<KubeObject & { status?: { allowed?: boolean } }>({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    metadata: {},
    spec: {
      user: `system:serviceaccount:${systemNamespace}:${installNames.serviceAccount}`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${systemNamespace}`, 'system:authenticated'],
      resourceAttributes: attributes,
    },
  });
  return review.status?.allowed === true;
}
