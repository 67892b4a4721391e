// The fake API server's storage and the rules of its writes: optimistic concurrency, the status
// subresource, generation, finalizers and deletion, server-owned metadata. The fake client records
// calls and runs reactors; what a call that reaches the store does is decided here.

import { createHash } from 'node:crypto';
import { groupKind, isObject, parseApiVersion } from '@bindery/kube';
import type { DeleteOptions, KubeObject, ObjectMeta, ObjectRef, TypeRef } from '@bindery/kube';
import { deepEqual } from '../equality.ts';
import {
  alreadyExistsError,
  conflictError,
  internalError,
  invalidError,
  noSuchResourceError,
  notFoundError,
  pluralOf,
  requestPath,
} from './errors.ts';

/** 2024-01-01T00:00:00Z: where every test clock starts. */
export const testEpoch = Date.UTC(2024, 0, 1, 0, 0, 0);

/** `metav1.Time`: second precision, `YYYY-MM-DDTHH:MM:SSZ`. */
export function formatTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A copy through JSON, the way objects travel: `undefined` fields vanish, dates become strings. */
export function jsonCopy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

export function namespaceOf(m: { namespace?: string | undefined }): { namespace?: string } {
  return m.namespace ? { namespace: m.namespace } : {};
}

/** A copy as a client would receive it: in the version asked for, or as PartialObjectMetadata. */
export function present(obj: KubeObject, apiVersion: string, metadataOnly?: boolean): KubeObject {
  const copy = jsonCopy(obj);
  if (metadataOnly)
    return { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: copy.metadata };
  return { ...copy, apiVersion };
}

/** The type of an object handed to the fake client, which must say it. */
export function typeOf(obj: KubeObject): TypeRef {
  if (!isObject(obj) || !isObject(obj.metadata)) throw new Error('fake client: an object needs metadata');
  if (!obj.apiVersion || !obj.kind) {
    throw new Error(
      `fake client: ${obj.kind ?? 'object'} ${obj.metadata.name ?? ''}: apiVersion and kind are required`,
    );
  }
  return { apiVersion: obj.apiVersion, kind: obj.kind };
}

export function typeAndName(obj: KubeObject, what: string): ObjectRef {
  const type = typeOf(obj);
  if (!obj.metadata.name) throw new Error(`fake client: ${what} of ${type.kind}: metadata.name is required`);
  return { ...type, ...namespaceOf(obj.metadata), name: obj.metadata.name };
}

/** Whether `kinds`, written as `Kind` (any group) or `Kind.group`, names `type`. */
export function namesKind(kinds: ReadonlySet<string>, type: TypeRef): boolean {
  return kinds.has(type.kind) || kinds.has(groupKind(type));
}

export interface ObjectStoreOptions {
  clock: { now(): number };
  plurals: Readonly<Record<string, string>>;
  /** Kinds without a `/status` subresource, as `Kind` or `Kind.group`. */
  withoutStatusSubresource: readonly string[];
}

const generateNameAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** Fields of metadata only the server sets; writes of the main resource cannot change them. */
const serverOwnedMetadata = [
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
] as const;

/**
 * Objects by group, kind, namespace and name (one object for every version of a group: a CRD's
 * `None` conversion), and one resourceVersion counter. Methods that write take the object as sent
 * and return it as a client receives it.
 */
export class ObjectStore {
  readonly clock: { now(): number };
  readonly plurals: Readonly<Record<string, string>>;
  readonly #withoutStatus: ReadonlySet<string>;
  readonly #objects = new Map<string, KubeObject>();
  #resourceVersion = 0;

  constructor(options: ObjectStoreOptions) {
    this.clock = options.clock;
    this.plurals = options.plurals;
    this.#withoutStatus = new Set(options.withoutStatusSubresource);
  }

  get resourceVersion(): string {
    return String(this.#resourceVersion);
  }

  hasStatusSubresource(type: TypeRef): boolean {
    return !namesKind(this.#withoutStatus, type);
  }

  /** Stores an object as given; only a missing `resourceVersion` is filled in. */
  add(given: KubeObject): void {
    const obj = jsonCopy(given);
    const ref = typeAndName(obj, 'given object');
    const m = obj.metadata;
    const rv = Number(m.resourceVersion);
    if (Number.isSafeInteger(rv) && rv > this.#resourceVersion) this.#resourceVersion = rv;
    m.resourceVersion ??= String(++this.#resourceVersion);
    this.#objects.set(storageKey(ref), obj);
  }

  /** The stored object itself (not a copy), or undefined. */
  get(ref: ObjectRef): KubeObject | undefined {
    return this.#objects.get(storageKey(ref));
  }

  /** Every stored object (copies), ordered by group, kind, namespace and name. */
  all(): KubeObject[] {
    return sortedByKey([...this.#objects.entries()]).map((o) => jsonCopy(o));
  }

  /** The stored objects of one kind (not copies), ordered by namespace and name. */
  ofKind(type: TypeRef): KubeObject[] {
    const prefix = kindPrefix(type);
    return sortedByKey([...this.#objects.entries()].filter(([key]) => key.startsWith(prefix)));
  }

  /** The request line of an error: `GET /api/v1/namespaces/ns/configmaps/c`. */
  request(
    method: string,
    ref: TypeRef & { namespace?: string; name?: string },
    subresource?: string,
  ): string {
    return `${method} ${requestPath(ref, { plurals: this.plurals, ...(subresource ? { subresource } : {}) })}`;
  }

  /** The stored object, or 404 NotFound. */
  find(ref: ObjectRef, method: string, subresource?: string): KubeObject {
    const stored = this.get(ref);
    if (stored) return stored;
    throw notFoundError(ref, { request: this.request(method, ref, subresource), plurals: this.plurals });
  }

  /** 404 for a subresource the kind does not have (only `status` exists here). */
  checkSubresource(ref: ObjectRef, subresource: string, method: string): void {
    if (subresource === 'status' && this.hasStatusSubresource(ref)) return;
    throw noSuchResourceError({ request: this.request(method, ref, subresource) });
  }

  create(sent: KubeObject, dryRun: boolean | undefined): KubeObject {
    const type = typeOf(sent);
    const m = sent.metadata;
    const ctx = { request: this.request('POST', { ...type, ...namespaceOf(m) }), plurals: this.plurals };
    if (m.resourceVersion) {
      throw internalError('resourceVersion should not be set on objects to be created', ctx);
    }
    const name = m.name || (m.generateName ? this.#generateName(type, m) : undefined);
    if (!name) {
      const ref = { ...type, ...namespaceOf(m) };
      throw invalidError(ref, 'metadata.name: Required value: name or generateName is required', ctx);
    }
    const key = storageKey({ ...type, ...namespaceOf(m), name });
    if (this.#objects.has(key)) throw alreadyExistsError({ ...type, name }, ctx);
    const stored = jsonCopy(sent);
    const sm = stored.metadata;
    sm.name = name;
    delete sm.deletionTimestamp;
    delete sm.deletionGracePeriodSeconds;
    delete sm.managedFields;
    sm.uid = this.#uid(key);
    sm.generation = 1;
    sm.creationTimestamp = formatTime(this.clock.now());
    if (this.hasStatusSubresource(type)) delete stored['status'];
    if (dryRun) return present(stored, type.apiVersion);
    sm.resourceVersion = String(++this.#resourceVersion);
    this.#objects.set(key, stored);
    return present(stored, type.apiVersion);
  }

  /** PUT of the main resource (`status` is `undefined`) or of `/status`. */
  update(ref: ObjectRef, sent: KubeObject, status: 'status' | undefined, dryRun?: boolean): KubeObject {
    const request = this.request('PUT', ref, status);
    if (status) this.checkSubresource(ref, status, 'PUT');
    const stored = this.find(ref, 'PUT', status);
    const ctx = { request, plurals: this.plurals };
    const rv = sent.metadata.resourceVersion;
    if (rv === undefined || rv === '') {
      throw invalidError(
        ref,
        'metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
        ctx,
      );
    }
    if (rv !== stored.metadata.resourceVersion) throw conflictError(ref, undefined, ctx);
    const next = status ? statusUpdate(stored, sent) : this.#mainResourceUpdate(stored, sent);
    return this.#commit(ref, stored, next, request, dryRun);
  }

  /**
   * Stores `patched`, the stored object with a patch applied: a `uid` or `resourceVersion` the patch
   * changed is a failed precondition (409).
   */
  patch(
    ref: ObjectRef,
    stored: KubeObject,
    patched: KubeObject,
    subresource: string | undefined,
    dryRun?: boolean,
  ): KubeObject {
    const request = this.request('PATCH', ref, subresource);
    const ctx = { request, plurals: this.plurals };
    const pm = patched.metadata;
    const sm = stored.metadata;
    if (pm.uid !== undefined && pm.uid !== sm.uid) {
      throw conflictError(
        ref,
        `Precondition failed: UID in precondition: ${String(pm.uid)}, UID in object meta: ${sm.uid ?? ''}`,
        ctx,
      );
    }
    if (pm.resourceVersion !== undefined && pm.resourceVersion !== sm.resourceVersion) {
      throw conflictError(ref, undefined, ctx);
    }
    const next =
      subresource === 'status' ? statusUpdate(stored, patched) : this.#mainResourceUpdate(stored, patched);
    return this.#commit(ref, stored, next, request, dryRun);
  }

  delete(ref: ObjectRef, options: DeleteOptions): unknown {
    const ctx = { request: this.request('DELETE', ref), plurals: this.plurals };
    const stored = this.find(ref, 'DELETE');
    const sm = stored.metadata;
    const p = options.preconditions;
    if (p?.uid !== undefined && p.uid !== sm.uid) {
      throw conflictError(
        ref,
        `Precondition failed: UID in precondition: ${p.uid}, UID in object meta: ${sm.uid ?? ''}`,
        ctx,
      );
    }
    if (p?.resourceVersion !== undefined && p.resourceVersion !== sm.resourceVersion) {
      throw conflictError(
        ref,
        `Precondition failed: ResourceVersion in precondition: ${p.resourceVersion}, ResourceVersion in object meta: ${sm.resourceVersion ?? ''}`,
        ctx,
      );
    }
    const key = storageKey(ref);
    if (sm.finalizers && sm.finalizers.length > 0) {
      if (sm.deletionTimestamp || options.dryRun) return present(stored, ref.apiVersion);
      const next = jsonCopy(stored);
      next.metadata.deletionTimestamp = formatTime(this.clock.now());
      next.metadata.deletionGracePeriodSeconds = 0;
      if (next.metadata.generation !== undefined) next.metadata.generation++;
      next.metadata.resourceVersion = String(++this.#resourceVersion);
      this.#objects.set(key, next);
      return present(next, ref.apiVersion);
    }
    if (!options.dryRun) this.#objects.delete(key);
    const { group } = parseApiVersion(ref.apiVersion);
    return {
      apiVersion: 'v1',
      kind: 'Status',
      metadata: {},
      status: 'Success',
      details: { name: ref.name, group, kind: pluralOf(ref.kind, this.plurals), uid: sm.uid },
    };
  }

  /** The object a write of the main resource stores: server-owned metadata and (maybe) status kept. */
  #mainResourceUpdate(stored: KubeObject, incoming: KubeObject): KubeObject {
    const next = jsonCopy(incoming);
    if (stored.apiVersion !== undefined) next.apiVersion = stored.apiVersion;
    if (stored.kind !== undefined) next.kind = stored.kind;
    const sm = stored.metadata;
    const m: Record<string, unknown> = { ...next.metadata };
    for (const field of serverOwnedMetadata) {
      if (sm[field] === undefined) delete m[field];
      else m[field] = sm[field];
    }
    next.metadata = m;
    if (this.hasStatusSubresource(typeOfStored(stored))) {
      if (stored['status'] === undefined) delete next['status'];
      else next['status'] = jsonCopy(stored['status']);
    }
    return next;
  }

  #commit(
    ref: ObjectRef,
    stored: KubeObject,
    candidate: KubeObject,
    request: string,
    dryRun?: boolean,
  ): KubeObject {
    const next = jsonCopy(candidate);
    const sm = stored.metadata;
    const m = next.metadata;
    if (sm.deletionTimestamp) {
      const added = (m.finalizers ?? []).filter((f) => !(sm.finalizers ?? []).includes(f));
      if (added.length > 0) {
        throw invalidError(
          ref,
          `metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
          { request, plurals: this.plurals },
        );
      }
    }
    if (deepEqual(next, stored)) return present(stored, ref.apiVersion);
    const ignore = this.hasStatusSubresource(typeOfStored(stored)) ? ['metadata', 'status'] : ['metadata'];
    if (m.generation !== undefined && !deepEqual(omit(next, ignore), omit(stored, ignore))) m.generation++;
    if (dryRun) return present(next, ref.apiVersion);
    m.resourceVersion = String(++this.#resourceVersion);
    const key = storageKey(ref);
    if (m.deletionTimestamp && (m.finalizers ?? []).length === 0) this.#objects.delete(key);
    else this.#objects.set(key, next);
    return present(next, ref.apiVersion);
  }

  /** Deterministic for a given sequence of writes, unique per object and incarnation. */
  #uid(key: string): string {
    const h = createHash('sha1').update(`${key}#${this.#resourceVersion}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  #generateName(type: TypeRef, m: ObjectMeta): string {
    for (let attempt = 0; ; attempt++) {
      const h = createHash('sha1')
        .update(`${m.generateName ?? ''}#${this.#resourceVersion}#${attempt}`)
        .digest();
      let suffix = '';
      for (let i = 0; i < 5; i++) suffix += generateNameAlphabet[(h[i] ?? 0) % generateNameAlphabet.length];
      const name = `${m.generateName ?? ''}${suffix}`;
      if (!this.#objects.has(storageKey({ ...type, ...namespaceOf(m), name }))) return name;
    }
  }
}

function statusUpdate(stored: KubeObject, incoming: KubeObject): KubeObject {
  const next = jsonCopy(stored);
  if (incoming['status'] === undefined) delete next['status'];
  else next['status'] = jsonCopy(incoming['status']);
  return next;
}

function typeOfStored(obj: KubeObject): TypeRef {
  return { apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '' };
}

/** `group/Kind/`: keys sort by group first, as `storedObjects()` promises. */
function kindPrefix(type: TypeRef): string {
  return `${parseApiVersion(type.apiVersion).group}/${type.kind}/`;
}

function storageKey(ref: TypeRef & { namespace?: string | undefined; name?: string | undefined }): string {
  return `${kindPrefix(ref)}${ref.namespace ?? ''}/${ref.name ?? ''}`;
}

function sortedByKey(entries: Array<[string, KubeObject]>): KubeObject[] {
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
}

function omit(obj: KubeObject, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...obj };
  for (const k of keys) delete out[k];
  return out;
}
