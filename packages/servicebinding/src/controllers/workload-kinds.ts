// Which kinds can be workloads (spec §5.2): a kind a ClusterWorkloadResourceMapping describes, or a
// PodSpec-able one. A kind of a custom API group without a mapping is taken to be PodSpec-able, as
// the spec says; the kinds of Kubernetes' own groups are known, and only a few of them are. So a
// binding that names `v1 Secret` as its workload is refused before anything lists Secrets.

import { parseApiVersion } from '@bindery/kube';
import type { TypeRef } from '@bindery/kube';
import { group as apiGroup } from '../apis/index.ts';

/** The PodSpec-able kinds of Kubernetes' own groups, as `Kind.group` (CronJob through its default mapping). */
const builtInWorkloads = new Set([
  'Deployment.apps',
  'StatefulSet.apps',
  'DaemonSet.apps',
  'ReplicaSet.apps',
  'Job.batch',
  'CronJob.batch',
  'ReplicationController.',
]);

/** A group Kubernetes (or Bindery itself) serves: its kinds are known. */
function isBuiltInGroup(group: string): boolean {
  return group === '' || !group.includes('.') || group.endsWith('.k8s.io') || group === apiGroup;
}

/**
 * Why `type` cannot be a workload, or undefined when it can. `mapped`: a
 * ClusterWorkloadResourceMapping describes the kind.
 */
export function unsupportedWorkloadKind(type: TypeRef, mapped: boolean): string | undefined {
  if (mapped) return undefined;
  const { group } = parseApiVersion(type.apiVersion);
  if (!isBuiltInGroup(group) || builtInWorkloads.has(`${type.kind}.${group}`)) return undefined;
  return `${type.kind} (${type.apiVersion}) is not a workload: it has no pod template, and no ClusterWorkloadResourceMapping describes it`;
}
