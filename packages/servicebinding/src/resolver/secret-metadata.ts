// What the controller keeps of a Secret. It reads only a Secret's identity: whether a directly
// referenced Secret exists, and its resourceVersion (rollout). Everything else is dropped before
// the metadata cache stores it: annotations above all, since client-side `kubectl apply` copies a
// Secret's whole data into `kubectl.kubernetes.io/last-applied-configuration`; labels and
// managedFields too (memory, and managedFields name the data keys).

import type { KubeObject } from '@bindery/kube';

/**
 * What the manager may do with Secrets (`bindery manager --secret-access`, `bindery manifests
 * --secret-access`). Bindings are projected by reference either way: the Secret's data is never read.
 * - `metadata` (default): get/list/watch on Secrets, read as metadata only, to mark a binding
 *   Ready=False when its directly referenced Secret is missing, and for the rollout opt-in
 *   (`bindery.dev/rollout-on-secret-change`), which needs the bound Secret's resourceVersion.
 * - `none`: no verb on Secrets at all. A direct Secret is taken to exist (a missing one leaves
 *   the pods failing to start, as with the RI), and the rollout opt-in is ignored, said so in the
 *   binding's WorkloadProjected condition.
 */
export type SecretAccess = 'metadata' | 'none';

export const secretAccessModes: readonly SecretAccess[] = ['metadata', 'none'];

/** The informer transform of the Secret (metadata) cache: apiVersion, kind, name, namespace, uid, resourceVersion. */
export function secretIdentity(obj: KubeObject): KubeObject {
  return identityOf(obj);
}

/**
 * An object's apiVersion, kind, name, namespace, uid and resourceVersion (and, `withGeneration`, its
 * generation): what a cache keeps to know that an object exists and which version it has seen.
 */
export function identityOf(obj: KubeObject, withGeneration = false): KubeObject {
  const { name, namespace, uid, resourceVersion, generation } = obj.metadata;
  return {
    ...(obj.apiVersion !== undefined && { apiVersion: obj.apiVersion }),
    ...(obj.kind !== undefined && { kind: obj.kind }),
    metadata: {
      ...(name !== undefined && { name }),
      ...(namespace !== undefined && { namespace }),
      ...(uid !== undefined && { uid }),
      ...(resourceVersion !== undefined && { resourceVersion }),
      ...(withGeneration && generation !== undefined && { generation }),
    },
  };
}
