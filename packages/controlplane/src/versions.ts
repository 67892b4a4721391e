/**
 * The one place the control plane's versions are pinned. The binaries are cached under a directory
 * named after both, so changing either here builds a fresh pair next to the old ones.
 */
export const KUBERNETES_VERSION = 'v1.36.3';
export const ETCD_VERSION = 'v3.6.16';

/** `k8s.io/api`, `k8s.io/apiserver`, … are published as v0.X.Y for Kubernetes v1.X.Y. */
export function stagingVersion(kubernetesVersion: string): string {
  const match = /^v1\.(\d+\.\d+.*)$/.exec(kubernetesVersion);
  if (match === null) throw new Error(`not a Kubernetes v1.x version: ${kubernetesVersion}`);
  return `v0.${match[1]}`;
}
