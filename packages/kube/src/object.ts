// Objects travel as plain JSON. These types name the few fields every object has;
// everything else stays as the API server sent it, unknown fields included.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: ListMeta;
  items: T[];
}

/** What a request needs to find a kind: `apiVersion` is `v1` or `group/version`. */
export interface TypeRef {
  apiVersion: string;
  kind: string;
}

/** One object, by type and name. */
export interface ObjectRef extends TypeRef {
  name: string;
  namespace?: string;
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function formatApiVersion(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

export function gvkOf(ref: TypeRef): GroupVersionKind {
  return { ...parseApiVersion(ref.apiVersion), kind: ref.kind };
}

/**
 * `parts` joined with `/`, as one flat string. A template literal of 13 characters or more is a V8
 * rope (32 bytes per piece, each piece kept alive): keys held as long as a cached object are built
 * with this instead (63,000 keys over 5,000 bindings were 4.4 MiB of ropes; docs/benchmarks.md).
 */
export function joinKey(...parts: string[]): string {
  return parts.join('/');
}

/** `namespace/name`, or `name` for cluster-scoped objects: the work queue key of client-go. */
export function objectKey(obj: { metadata: ObjectMeta } | { namespace?: string; name: string }): string {
  const m = 'metadata' in obj ? obj.metadata : obj;
  const name = m.name ?? '';
  return m.namespace ? joinKey(m.namespace, name) : name;
}

export function splitObjectKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/**
 * `Kind.group` (`Deployment.apps`), or `Kind` in the core group: how Kubernetes names a kind across its
 * versions (apimachinery's `GroupKind.String()`), e.g. to key what is watched per kind.
 */
export function groupKind(type: TypeRef): string {
  const { group } = parseApiVersion(type.apiVersion);
  return group === '' ? type.kind : [type.kind, group].join('.'); // flat, as `joinKey`
}

/**
 * The `ObjectRef` of an object. `type` stands in for an `apiVersion`/`kind` the object lacks (items of
 * a list, or objects decoded by a typed client, often carry neither).
 */
export function refOf(obj: KubeObject, type?: TypeRef): ObjectRef {
  return {
    apiVersion: obj.apiVersion ?? type?.apiVersion ?? '',
    kind: obj.kind ?? type?.kind ?? '',
    name: obj.metadata.name ?? '',
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
  };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short, human name for errors and logs: `Deployment default/web`. */
export function describeObject(ref: {
  kind?: string;
  metadata?: ObjectMeta;
  name?: string;
  namespace?: string;
}): string {
  const name = ref.metadata?.name ?? ref.name ?? '';
  const namespace = ref.metadata?.namespace ?? ref.namespace;
  return `${ref.kind ?? 'object'} ${namespace ? `${namespace}/` : ''}${name}`;
}
