import type {
  DeleteOptions,
  GetOptions,
  KubeList,
  KubeObject,
  ListOptions,
  ObjectRef,
  PatchOptions,
  TypeRef,
  WriteOptions,
} from '@bindery/kube';

/**
 * Reads objects. The manager's client reads from shared informer caches; `list` returns every item.
 * Every read returns objects the caller owns and may change.
 */
export interface Reader {
  get<T extends KubeObject = KubeObject>(ref: ObjectRef, options?: GetOptions): Promise<T>;
  list<T extends KubeObject = KubeObject>(type: TypeRef, options?: ListOptions): Promise<KubeList<T>>;
}

/** Writes objects, always to the API server. */
export interface Writer {
  create<T extends KubeObject>(obj: T, options?: WriteOptions): Promise<T>;
  /** PUT guarded by `metadata.resourceVersion`: a stale object fails with 409 Conflict. */
  update<T extends KubeObject>(obj: T, options?: WriteOptions): Promise<T>;
  updateStatus<T extends KubeObject>(obj: T, options?: WriteOptions): Promise<T>;
  patch<T extends KubeObject = KubeObject>(ref: ObjectRef, patch: unknown, options: PatchOptions): Promise<T>;
  delete(ref: ObjectRef, options?: DeleteOptions): Promise<unknown>;
}

/**
 * What reconcilers use. `KubeClient` satisfies it (reads go to the API server), so
 * does the manager's cached client, and so does the test kit's fake client.
 */
export interface Client extends Reader, Writer {}
