// What the controller keeps of a Secret. It reads only a Secret's identity: whether a directly
// referenced Secret exists, and its resourceVersion (rollout). Everything else is dropped before
// the metadata cache stores it: annotations above all, since client-side `kubectl apply` copies a
// Secret's whole data into `kubectl.kubernetes.io/last-applied-configuration`; labels and
// managedFields too (memory, and managedFields name the data keys).

import type { KubeObject } from '@bindery/kube';

/** The informer transform of the Secret (metadata) cache: apiVersion, kind, name, namespace, uid, resourceVersion. */
export function secretIdentity(obj: KubeObject): KubeObject {
  const { name, namespace, uid, resourceVersion } = obj.metadata;
  return {
    ...(obj.apiVersion !== undefined && { apiVersion: obj.apiVersion }),
    ...(obj.kind !== undefined && { kind: obj.kind }),
    metadata: {
      ...(name !== undefined && { name }),
      ...(namespace !== undefined && { namespace }),
      ...(uid !== undefined && { uid }),
      ...(resourceVersion !== undefined && { resourceVersion }),
    },
  };
}
