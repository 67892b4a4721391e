// Duck typing (knative's `duck` package): a controller that needs a few fields of many
// kinds — the pod template of Deployments, Jobs, CronJobs and custom workloads — reads
// them as a partial view and writes back only what it changed, as a patch. It never
// creates or updates a partial object: a PUT of a view would drop every field the view
// does not name.

import { isObject, refOf } from '@bindery/kube';
import type {
  GetOptions,
  KubeList,
  KubeObject,
  ListOptions,
  ObjectMeta,
  ObjectRef,
  TypeRef,
} from '@bindery/kube';
import type { Client, Reader } from './client.ts';
import { deepEqual } from './equality.ts';
import { jsonPatchDiff } from './json-patch.ts';
import type { JsonPatchOperation } from './json-patch.ts';

export interface DuckClientOptions {
  /** Patches go here; reads too, unless `reader` is given. */
  client: Pick<Client, 'get' | 'list' | 'patch'>;
  /** Where reads go instead (an informer cache, or the API server for kinds nobody watches). */
  reader?: Reader;
  /** Sent with every patch, so managedFields name the controller. */
  fieldManager?: string;
}

/**
 * Get, list and patch of any kind, typed as the duck type `T`. `T` is a view: only
 * the fields it names are assumed, and those still have to be read defensively,
 * because nothing checks that an arbitrary kind really has them.
 */
export class DuckClient<T extends KubeObject = KubeObject> {
  readonly #client: Pick<Client, 'patch'>;
  readonly #reader: Reader;
  readonly #fieldManager: string | undefined;

  constructor(options: DuckClientOptions) {
    this.#client = options.client;
    this.#reader = options.reader ?? options.client;
    this.#fieldManager = options.fieldManager;
  }

  get(ref: ObjectRef, options?: GetOptions): Promise<T> {
    return this.#reader.get<T>(ref, options);
  }

  list(type: TypeRef, options?: ListOptions): Promise<KubeList<T>> {
    return this.#reader.list<T>(type, options);
  }

  patch(
    ref: ObjectRef,
    ops: readonly JsonPatchOperation[],
    options: { signal?: AbortSignal } = {},
  ): Promise<T> {
    return this.#client.patch<T>(ref, ops, {
      type: 'json',
      ...(this.#fieldManager !== undefined ? { fieldManager: this.#fieldManager } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /**
   * Writes what changed from `original` to `desired` (a mutated copy of it) as a JSON
   * Patch, or nothing when they are deep-equal (then it resolves `undefined`). The patch
   * sets `metadata.resourceVersion` to the version read, so it is optimistic: when the
   * object changed since, the API server answers 409 Conflict instead of applying edits
   * computed from a stale copy.
   */
  async patchChanges(
    original: T,
    desired: T,
    options: { signal?: AbortSignal } = {},
  ): Promise<T | undefined> {
    const ops = duckPatch(original, desired);
    if (ops.length === 0) return undefined;
    return this.patch(patchRef(original), ops, options);
  }
}

/**
 * The JSON Patch from `original` to `desired`, led by a `replace` of
 * `metadata.resourceVersion` with the version of `original` (a precondition the API
 * server checks, answering 409 when it is stale). Empty when nothing changed.
 */
export function duckPatch(original: KubeObject, desired: KubeObject): JsonPatchOperation[] {
  if (deepEqual(original, desired)) return [];
  const ops = jsonPatchDiff(original, desired);
  if (ops.length === 0) return [];
  const resourceVersion = original.metadata.resourceVersion;
  if (resourceVersion === undefined || resourceVersion === '') {
    throw new Error(
      `${original.kind ?? 'object'} ${original.metadata.name ?? ''}: no metadata.resourceVersion to patch against; read it from the API server or a cache`,
    );
  }
  if (ops.some((op) => op.path === '/metadata/resourceVersion')) {
    throw new Error('a duck patch must not change metadata.resourceVersion');
  }
  return [{ op: 'replace', path: '/metadata/resourceVersion', value: resourceVersion }, ...ops];
}

function patchRef(obj: KubeObject): ObjectRef {
  if (!obj.apiVersion || !obj.kind || !obj.metadata.name) {
    throw new Error('a duck patch needs the object’s apiVersion, kind and metadata.name');
  }
  return refOf(obj);
}

// ---- The PodSpec-able duck type ----------------------------------------------------------------

/** A `core/v1` VolumeMount; fields this view does not name are kept as they are. */
export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
  [field: string]: unknown;
}

/** A `core/v1` Volume: its name and one source (`secret`, `configMap`, …). */
export interface Volume {
  name: string;
  [source: string]: unknown;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
  [field: string]: unknown;
}

export interface Container {
  name: string;
  image?: string;
  env?: EnvVar[];
  volumeMounts?: VolumeMount[];
  [field: string]: unknown;
}

export interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  [field: string]: unknown;
}

export interface PodTemplateSpec {
  metadata?: ObjectMeta;
  spec: PodSpec;
}

/**
 * knative's `WithPod`: any kind with a pod template at `spec.template` (Deployment,
 * StatefulSet, DaemonSet, ReplicaSet, Job, and custom workloads).
 */
export interface PodSpecable extends KubeObject {
  spec: { template: PodTemplateSpec; [field: string]: unknown };
}

/** Where the pod template of `obj` is: `spec.template`, or `spec.jobTemplate.spec.template` for a CronJob. */
export function podTemplatePath(obj: Pick<KubeObject, 'apiVersion' | 'kind'>): readonly string[] {
  return isCronJob(obj) ? ['spec', 'jobTemplate', 'spec', 'template'] : ['spec', 'template'];
}

/**
 * A PodSpec-able view of `obj`, or `undefined` when it has no pod template (an object
 * `spec` under the template path). The view shares the template and metadata with `obj`,
 * so editing the view edits `obj`; for a CronJob, the view's `spec.template` is the live
 * `spec.jobTemplate.spec.template`.
 */
export function podSpecable(obj: KubeObject): PodSpecable | undefined {
  let cur: unknown = obj;
  for (const key of podTemplatePath(obj)) {
    if (!isObject(cur)) return undefined;
    cur = cur[key];
  }
  if (!isObject(cur) || !isObject(cur['spec'])) return undefined;
  const template = cur as unknown as PodTemplateSpec;
  if (!isCronJob(obj)) return obj as PodSpecable;
  return {
    ...(obj.apiVersion !== undefined ? { apiVersion: obj.apiVersion } : {}),
    ...(obj.kind !== undefined ? { kind: obj.kind } : {}),
    metadata: obj.metadata,
    spec: { template },
  };
}

/** batch CronJob, in any version (`batch/v1`, `batch/v1beta1`). */
function isCronJob(obj: Pick<KubeObject, 'apiVersion' | 'kind'>): boolean {
  return obj.kind === 'CronJob' && (obj.apiVersion ?? '').startsWith('batch/');
}
