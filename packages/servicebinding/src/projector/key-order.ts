// Where a key the projector creates goes among its siblings: before the first sibling that the
// Kubernetes Go types serialize after it. Only the keys a PodSpec-able mapping creates are
// listed; anything else is appended. Key order never changes what the API server stores, but
// matching it keeps the projector's output identical to the RI's (golden tests, quiet diffs).

const CONTAINER_AFTER_VOLUME_MOUNTS = [
  'volumeDevices',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'lifecycle',
  'terminationMessagePath',
  'terminationMessagePolicy',
  'imagePullPolicy',
  'securityContext',
  'stdin',
  'stdinOnce',
  'tty',
];

const FOLLOWERS: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.entries({
    // ObjectMeta / PodTemplateSpec / top-level objects
    metadata: ['spec', 'status'],
    spec: ['status'],
    annotations: ['ownerReferences', 'finalizers', 'managedFields'],
    // PodSpec: volumes is its first field
    volumes: [
      'initContainers',
      'containers',
      'ephemeralContainers',
      'restartPolicy',
      'terminationGracePeriodSeconds',
      'activeDeadlineSeconds',
      'dnsPolicy',
      'nodeSelector',
      'serviceAccountName',
      'serviceAccount',
      'automountServiceAccountToken',
      'nodeName',
      'hostNetwork',
      'hostPID',
      'hostIPC',
      'shareProcessNamespace',
      'securityContext',
      'imagePullSecrets',
      'hostname',
      'subdomain',
      'affinity',
      'schedulerName',
      'tolerations',
      'hostAliases',
      'priorityClassName',
      'priority',
      'dnsConfig',
      'readinessGates',
      'runtimeClassName',
      'enableServiceLinks',
      'preemptionPolicy',
      'overhead',
      'topologySpreadConstraints',
      'setHostnameAsFQDN',
      'os',
      'hostUsers',
      'schedulingGates',
      'resourceClaims',
      'resources',
    ],
    // Container
    env: [
      'resources',
      'resizePolicy',
      'restartPolicy',
      'restartPolicyRules',
      'volumeMounts',
      ...CONTAINER_AFTER_VOLUME_MOUNTS,
    ],
    volumeMounts: CONTAINER_AFTER_VOLUME_MOUNTS,
  }).map(([key, followers]) => [key, new Set(followers)]),
);

/** The index in `siblings` at which a new `key` is inserted. */
export function insertionPoint(key: string, siblings: readonly string[]): number {
  const followers = FOLLOWERS.get(key);
  if (followers === undefined) return siblings.length;
  const at = siblings.findIndex((s) => followers.has(s));
  return at < 0 ? siblings.length : at;
}
