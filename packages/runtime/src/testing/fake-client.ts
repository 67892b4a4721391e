// An in-memory API server behind the `Client` interface, for table tests. It keeps
// the rules reconcilers depend on — optimistic concurrency, the status
// subresource, generation, finalizers — records every call, and lets a test
// inject failures with reactors (client-go's fake `PrependReactor`).

import { createHash } from 'node:crypto';
import {
  NoKindMatchError,
  errorMessage,
  isForbidden,
  isObject,
  parseApiVersion,
  parseSelector,
} from '@bindery/kube';
import type {
  DeleteOptions,
  GetOptions,
  KubeList,
  KubeObject,
  ListOptions,
  ObjectMeta,
  ObjectRef,
  PatchOptions,
  PatchType,
  Selector,
  TypeRef,
  WriteOptions,
} from '@bindery/kube';
import {
  CacheSyncTimeoutError,
  defaultCacheSyncTimeoutMs,
  fieldSelectorNotCached,
} from '../cached-client.ts';
import type { Client } from '../client.ts';
import { deepEqual } from '../equality.ts';
import { applyJsonPatch, applyMergePatch } from '../json-patch.ts';
import type { JsonPatchOperation } from '../json-patch.ts';
import {
  alreadyExistsError,
  badRequestError,
  conflictError,
  internalError,
  invalidError,
  noSuchResourceError,
  notFoundError,
  pluralOf,
  requestPath,
} from './errors.ts';

export type Verb = 'get' | 'list' | 'create' | 'update' | 'updateStatus' | 'patch' | 'delete';

/** What a call was about. `name` is absent for a list and for a create with `generateName` only. */
export interface ActionRef extends TypeRef {
  namespace?: string;
  name?: string;
  generateName?: string;
}

/** One call to the fake client, recorded before it is answered. */
export interface Action {
  verb: Verb;
  ref: ActionRef;
  /** `create`, `update`, `updateStatus`: the object as sent (a JSON copy). */
  object?: KubeObject;
  /** `patch`: the patch as sent, parsed when it was a string. */
  patch?: unknown;
  patchType?: PatchType;
  /** `get` or `patch` of a subresource (`status`). */
  subresource?: string;
  /** The call's options, without `signal`. */
  options?: Record<string, unknown>;
  /** Set when the call failed, by a reactor or by the fake API server's rules. */
  error?: Error;
}

/**
 * What a reactor decides: `undefined` passes the call on (to the next reactor,
 * then the object store); an `Error` fails the call with it (throwing does the
 * same); `{ response }` answers the call with `response` without touching the store.
 */
export type ReactorOutcome = Error | { response: unknown } | undefined;

export interface Reactor {
  /** The verb to intercept, or `*` for all. */
  verb: Verb | '*';
  /** The kind to intercept (`ConfigMap`); any kind when absent or `*`. */
  kind?: string;
  /** `call` counts the calls this reactor matched, from 1. */
  fn(action: Readonly<Action>, call: number): ReactorOutcome | void | Promise<ReactorOutcome | void>;
}

/**
 * A reactor that fails matching calls (reconciler.io's `InduceFailure`): with
 * `error` (default: a 500 InternalError `inducing failure for <verb> <Kind>`),
 * after letting `skip` calls through, for `times` calls (default: all).
 */
export function induceFailure(
  verb: Verb | '*',
  kind?: string,
  options: { error?: Error; skip?: number; times?: number } = {},
): Reactor {
  const skip = options.skip ?? 0;
  return {
    verb,
    ...(kind !== undefined ? { kind } : {}),
    fn: (action, call) => {
      if (call <= skip || (options.times !== undefined && call > skip + options.times)) return undefined;
      return options.error ?? internalError(`inducing failure for ${action.verb} ${action.ref.kind}`);
    },
  };
}

export interface FakeClientOptions {
  /** Objects already stored (see `add`). */
  objects?: readonly KubeObject[];
  /** For `creationTimestamp` and `deletionTimestamp`. Default: fixed at 2024-01-01T00:00:00Z. */
  clock?: { now(): number };
  /**
   * Kinds served without a `/status` subresource, as `Kind` (any group) or
   * `Kind.group`. Every other kind has one: `update` ignores its status and
   * `updateStatus` changes only its status.
   */
  withoutStatusSubresource?: readonly string[];
  /** Plural resource names for messages and paths, by kind, where `kind + s` is wrong. */
  plurals?: Readonly<Record<string, string>>;
  reactors?: readonly Reactor[];
  /**
   * Stand for the manager's cached client (`Config.client`): a list with a field selector is refused
   * with the cached client's error, before any reactor, instead of being served as the API server
   * would; and a get or list the API server forbids (a 403, from a reactor) fails as the cached
   * client's does, with `CacheSyncTimeoutError` (the informer of a kind that cannot be listed never
   * syncs), never with the 403. `testConfig` sets it; `uncached()` is the direct view. Default false.
   */
  cache?: boolean;
  /**
   * The kinds the fake API server serves, as `Kind` (any group) or `Kind.group`; a call naming any
   * other kind fails with `NoKindMatchError`, as the real client's discovery makes it fail. Default:
   * every kind.
   */
  served?: readonly string[];
}

/** 2024-01-01T00:00:00Z: where every test clock starts. */
export const testEpoch = Date.UTC(2024, 0, 1, 0, 0, 0);

/** `metav1.Time`: second precision, `YYYY-MM-DDTHH:MM:SSZ`. */
export function formatTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const generateNameAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * An in-memory `Client` with API-server semantics:
 *
 * - objects are stored by group, kind, namespace and name; a read in another
 *   version of the group returns the same object with that `apiVersion` (a CRD's
 *   `None` conversion);
 * - `create` sets `uid`, `resourceVersion`, `generation: 1` and
 *   `creationTimestamp`, resolves `generateName`, drops `status` (status
 *   subresource kinds) and fails with AlreadyExists;
 * - `update` needs the stored `resourceVersion` (409 Conflict otherwise, 422 when
 *   absent), ignores status on kinds with a status subresource, bumps
 *   `generation` only when something outside metadata and status changed, and is
 *   a no-op (same `resourceVersion`) when nothing changed; `updateStatus` changes
 *   only status;
 * - `patch` takes `merge` (RFC 7386) and `json` (RFC 6902); `strategic-merge` is
 *   applied as a merge patch (lists are replaced, not merged by key, and `$patch`
 *   directives are refused). A `resourceVersion` or `uid` in the patch is a
 *   precondition;
 * - `delete` of an object with finalizers sets `deletionTimestamp`; once its last
 *   finalizer is removed the object is gone. No finalizer may be added while an
 *   object is being deleted. Preconditions fail with 409. Owner references are
 *   not garbage-collected.
 *
 * Reads return copies. Every call is recorded in `actions`, failed ones included.
 */
export class FakeClient implements Client {
  /** Every call, in order. */
  get actions(): Action[] {
    return this.#actions;
  }

  // Not readonly: `uncached()` makes a second client over the same store, reactors and actions.
  #actions: Action[] = [];
  #store: { objects: Map<string, KubeObject>; resourceVersion: number } = {
    objects: new Map(),
    resourceVersion: 0,
  };
  #reactors: Array<{ reactor: Reactor; calls: number }> = [];
  readonly #cache: boolean;
  readonly #served: ReadonlySet<string> | undefined;
  readonly #clock: { now(): number };
  readonly #plurals: Readonly<Record<string, string>>;
  readonly #withoutStatus: ReadonlySet<string>;

  constructor(options: FakeClientOptions = {}) {
    this.#clock = options.clock ?? { now: () => testEpoch };
    this.#plurals = options.plurals ?? {};
    this.#withoutStatus = new Set(options.withoutStatusSubresource ?? []);
    this.#cache = options.cache ?? false;
    this.#served = options.served ? new Set(options.served) : undefined;
    for (const r of options.reactors ?? []) this.addReactor(r);
    this.add(...(options.objects ?? []));
  }

  /**
   * Stores objects as given, without recording an action; an object with the
   * same key is replaced. Only a missing `resourceVersion` is filled in (updates
   * need one); `uid`, `generation` and `creationTimestamp` stay as written, so
   * what a reconciler sees is exactly what the test wrote.
   */
  add(...objects: KubeObject[]): void {
    for (const given of objects) {
      const obj = jsonCopy(given);
      const ref = typeAndName(obj, 'given object');
      const m = obj.metadata;
      const key = storageKey(ref);
      const rv = Number(m.resourceVersion);
      if (Number.isSafeInteger(rv) && rv > this.#store.resourceVersion) this.#store.resourceVersion = rv;
      m.resourceVersion ??= String(++this.#store.resourceVersion);
      this.#store.objects.set(key, obj);
    }
  }

  /**
   * The same fake API server read directly, as `Config.apiReader` reads it: it shares this client's
   * objects, reactors and recorded actions, and serves field selectors even when this client, standing
   * for the cache, refuses them.
   */
  uncached(): FakeClient {
    const direct = new FakeClient({
      clock: this.#clock,
      plurals: this.#plurals,
      withoutStatusSubresource: [...this.#withoutStatus],
      ...(this.#served ? { served: [...this.#served] } : {}),
    });
    direct.#store = this.#store;
    direct.#reactors = this.#reactors;
    direct.#actions = this.#actions;
    return direct;
  }

  /** Answers matching calls before the store does; reactors run in the order added. */
  addReactor(reactor: Reactor): void {
    this.#reactors.push({ reactor, calls: 0 });
  }

  /** The stored object (a copy), or `undefined`; not recorded as an action. */
  stored<T extends KubeObject = KubeObject>(ref: ObjectRef): T | undefined {
    const obj = this.#store.objects.get(storageKey(ref));
    return obj ? (present(obj, ref.apiVersion) as T) : undefined;
  }

  /** Every stored object (copies), ordered by group, kind, namespace and name. */
  storedObjects(): KubeObject[] {
    return [...this.#store.objects.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => jsonCopy(o));
  }

  /** The recorded calls that write: create, update, updateStatus, patch, delete. */
  writes(): Action[] {
    return this.actions.filter((a) => a.verb !== 'get' && a.verb !== 'list');
  }

  hasStatusSubresource(type: TypeRef): boolean {
    const { group } = parseApiVersion(type.apiVersion);
    return !this.#withoutStatus.has(type.kind) && !this.#withoutStatus.has(`${type.kind}.${group}`);
  }

  async get<T extends KubeObject = KubeObject>(ref: ObjectRef, options: GetOptions = {}): Promise<T> {
    const action: Action = { verb: 'get', ref: refOf(ref), ...subresourceOf(options.subresource) };
    const opts = optionsOf(options, ['subresource']);
    if (opts) action.options = opts;
    const read = this.#invoke(action, () => {
      if (options.subresource !== undefined) this.#checkSubresource(ref, options.subresource, 'GET');
      const stored = this.#find(ref, 'GET', options.subresource);
      return present(stored, ref.apiVersion, options.metadataOnly);
    });
    // A subresource is read from the API server, even by the cached client.
    return (await (options.subresource === undefined ? this.#cached(ref, read) : read)) as T;
  }

  async list<T extends KubeObject = KubeObject>(
    type: TypeRef,
    options: ListOptions = {},
  ): Promise<KubeList<T>> {
    const ref: ActionRef = { apiVersion: type.apiVersion, kind: type.kind };
    if (options.namespace) ref.namespace = options.namespace;
    const action: Action = { verb: 'list', ref };
    const opts = optionsOf(options, ['namespace']);
    if (opts) action.options = opts;
    if (this.#cache && options.fieldSelector) {
      // CachedClient's refusal, word for word: an informer's Lister has no field index.
      return this.#refuse(action, fieldSelectorNotCached(type));
    }
    return (await this.#cached(
      type,
      this.#invoke(action, () => {
        const request = `GET ${requestPath(ref, { plurals: this.#plurals })}`;
        const labels = parseLabels(options.labelSelector, request);
        const fields = parseFields(options.fieldSelector, request);
        const prefix = `${parseApiVersion(type.apiVersion).group}/${type.kind}/`;
        const matching = [...this.#store.objects.entries()]
          .filter(([key, o]) => {
            if (!key.startsWith(prefix)) return false;
            if (options.namespace && (o.metadata.namespace ?? '') !== options.namespace) return false;
            return (labels?.matches(o.metadata.labels) ?? true) && fields.every((f) => f(o.metadata));
          })
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([, o]) => o);
        const start = options.continue ? decodeContinue(options.continue, request) : 0;
        const end = options.limit ? Math.min(start + options.limit, matching.length) : matching.length;
        const metadata: KubeList['metadata'] = { resourceVersion: String(this.#store.resourceVersion) };
        if (end < matching.length) {
          metadata.continue = Buffer.from(JSON.stringify({ start: end })).toString('base64url');
          metadata.remainingItemCount = matching.length - end;
        }
        return {
          apiVersion: options.metadataOnly ? 'meta.k8s.io/v1' : type.apiVersion,
          kind: options.metadataOnly ? 'PartialObjectMetadataList' : `${type.kind}List`,
          metadata,
          items: matching.slice(start, end).map((o) => present(o, type.apiVersion, options.metadataOnly)),
        };
      }),
    )) as KubeList<T>;
  }

  async create<T extends KubeObject>(obj: T, options: WriteOptions = {}): Promise<T> {
    const sent = jsonCopy<KubeObject>(obj);
    const type = typeOf(sent);
    const ref: ActionRef = { ...type, ...namespaceOf(sent.metadata) };
    if (sent.metadata.name) ref.name = sent.metadata.name;
    else if (sent.metadata.generateName) ref.generateName = sent.metadata.generateName;
    const action: Action = { verb: 'create', ref, object: sent };
    const opts = optionsOf(options, []);
    if (opts) action.options = opts;
    return (await this.#invoke(action, () => {
      const m = sent.metadata;
      const request = `POST ${requestPath({ ...type, ...namespaceOf(m) }, { plurals: this.#plurals })}`;
      const ctx = { request, plurals: this.#plurals };
      if (m.resourceVersion) {
        throw internalError('resourceVersion should not be set on objects to be created', ctx);
      }
      const name = m.name || (m.generateName ? this.#generateName(type, m) : undefined);
      if (!name) {
        throw invalidError(ref, 'metadata.name: Required value: name or generateName is required', ctx);
      }
      const key = storageKey({ ...type, ...namespaceOf(m), name });
      if (this.#store.objects.has(key)) throw alreadyExistsError({ ...type, name }, ctx);
      const stored = jsonCopy(sent);
      const sm = stored.metadata;
      sm.name = name;
      delete sm.deletionTimestamp;
      delete sm.deletionGracePeriodSeconds;
      delete sm.managedFields;
      sm.uid = this.#uid(key);
      sm.generation = 1;
      sm.creationTimestamp = formatTime(this.#clock.now());
      if (this.hasStatusSubresource(type)) delete stored['status'];
      if (options.dryRun) return present(stored, type.apiVersion);
      sm.resourceVersion = String(++this.#store.resourceVersion);
      this.#store.objects.set(key, stored);
      return present(stored, type.apiVersion);
    })) as T;
  }

  async update<T extends KubeObject>(obj: T, options: WriteOptions = {}): Promise<T> {
    const sent = jsonCopy<KubeObject>(obj);
    const ref = typeAndName(sent, 'update');
    const action: Action = { verb: 'update', ref, object: sent };
    const opts = optionsOf(options, []);
    if (opts) action.options = opts;
    return (await this.#invoke(action, () => {
      const request = `PUT ${requestPath(ref, { plurals: this.#plurals })}`;
      const stored = this.#find(ref, 'PUT');
      this.#checkResourceVersion(ref, sent.metadata.resourceVersion, stored, request);
      const next = this.#mainResourceUpdate(stored, sent);
      return this.#commit(ref, stored, next, request, options.dryRun);
    })) as T;
  }

  async updateStatus<T extends KubeObject>(obj: T, options: WriteOptions = {}): Promise<T> {
    const sent = jsonCopy<KubeObject>(obj);
    const ref = typeAndName(sent, 'updateStatus');
    const action: Action = { verb: 'updateStatus', ref, object: sent, subresource: 'status' };
    const opts = optionsOf(options, []);
    if (opts) action.options = opts;
    return (await this.#invoke(action, () => {
      const request = `PUT ${requestPath(ref, { plurals: this.#plurals, subresource: 'status' })}`;
      this.#checkSubresource(ref, 'status', 'PUT');
      const stored = this.#find(ref, 'PUT', 'status');
      this.#checkResourceVersion(ref, sent.metadata.resourceVersion, stored, request);
      return this.#commit(ref, stored, statusUpdate(stored, sent), request, options.dryRun);
    })) as T;
  }

  async patch<T extends KubeObject = KubeObject>(
    ref: ObjectRef,
    patch: unknown,
    options: PatchOptions,
  ): Promise<T> {
    const request = `PATCH ${requestPath(ref, { plurals: this.#plurals, ...subresourceOf(options.subresource) })}`;
    let body: unknown;
    try {
      body = typeof patch === 'string' ? JSON.parse(patch) : jsonCopy(patch);
    } catch (err) {
      throw badRequestError(`the patch is not JSON: ${(err as Error).message}`, { request });
    }
    const action: Action = {
      verb: 'patch',
      ref: refOf(ref),
      patch: body,
      patchType: options.type,
      ...subresourceOf(options.subresource),
    };
    const opts = optionsOf(options, ['type', 'subresource']);
    if (opts) action.options = opts;
    return (await this.#invoke(action, () => {
      const ctx = { request, plurals: this.#plurals };
      if (options.subresource !== undefined) this.#checkSubresource(ref, options.subresource, 'PATCH');
      const stored = this.#find(ref, 'PATCH', options.subresource);
      let patched: unknown;
      try {
        if (options.type === 'json') {
          if (!Array.isArray(body)) throw new Error('a JSON patch must be an array of operations');
          patched = applyJsonPatch(stored, body as JsonPatchOperation[]);
        } else {
          if (!isObject(body)) throw new Error('a merge patch must be an object');
          if (options.type === 'strategic-merge') refuseDirectives(body, '');
          patched = applyMergePatch(stored, body);
        }
      } catch (err) {
        throw invalidError(ref, `patch: ${(err as Error).message}`, ctx);
      }
      if (!isObject(patched) || !isObject(patched['metadata'])) {
        throw invalidError(ref, 'patch: the patched object has no metadata', ctx);
      }
      const result = patched as KubeObject;
      const pm = result.metadata;
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
        options.subresource === 'status'
          ? statusUpdate(stored, result)
          : this.#mainResourceUpdate(stored, result);
      return this.#commit(ref, stored, next, request, options.dryRun);
    })) as T;
  }

  async delete(ref: ObjectRef, options: DeleteOptions = {}): Promise<unknown> {
    const action: Action = { verb: 'delete', ref: refOf(ref) };
    const opts = optionsOf(options, []);
    if (opts) action.options = opts;
    return this.#invoke(action, () => {
      const request = `DELETE ${requestPath(ref, { plurals: this.#plurals })}`;
      const ctx = { request, plurals: this.#plurals };
      const stored = this.#find(ref, 'DELETE');
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
        next.metadata.deletionTimestamp = formatTime(this.#clock.now());
        next.metadata.deletionGracePeriodSeconds = 0;
        if (next.metadata.generation !== undefined) next.metadata.generation++;
        next.metadata.resourceVersion = String(++this.#store.resourceVersion);
        this.#store.objects.set(key, next);
        return present(next, ref.apiVersion);
      }
      if (!options.dryRun) this.#store.objects.delete(key);
      const { group } = parseApiVersion(ref.apiVersion);
      return {
        apiVersion: 'v1',
        kind: 'Status',
        metadata: {},
        status: 'Success',
        details: { name: ref.name, group, kind: pluralOf(ref.kind, this.#plurals), uid: sm.uid },
      };
    });
  }

  /** Records a call the client refuses before any reactor sees it. */
  #refuse(action: Action, error: Error): never {
    action.error = error;
    this.#actions.push(action);
    throw error;
  }

  /**
   * As the manager's cached client answers a read: the informer of a kind the API server forbids to
   * list never syncs, so the read fails at the cache's deadline, never with the 403.
   */
  async #cached(type: TypeRef, read: Promise<unknown>): Promise<unknown> {
    if (!this.#cache) return read;
    try {
      return await read;
    } catch (err) {
      if (isForbidden(err))
        throw new CacheSyncTimeoutError(type, defaultCacheSyncTimeoutMs, errorMessage(err));
      throw err;
    }
  }

  async #invoke(action: Action, run: () => unknown): Promise<unknown> {
    this.#actions.push(action);
    try {
      // The real client asks discovery first: a kind that is not served fails before any request.
      const { group, version } = parseApiVersion(action.ref.apiVersion);
      if (
        this.#served &&
        !this.#served.has(action.ref.kind) &&
        !this.#served.has(`${action.ref.kind}.${group}`)
      ) {
        throw new NoKindMatchError({ group, version, kind: action.ref.kind });
      }
      for (const entry of this.#reactors) {
        const { reactor } = entry;
        if (reactor.verb !== '*' && reactor.verb !== action.verb) continue;
        if (reactor.kind !== undefined && reactor.kind !== '*' && reactor.kind !== action.ref.kind) continue;
        entry.calls++;
        const outcome = await reactor.fn(action, entry.calls);
        if (outcome instanceof Error) throw outcome;
        if (outcome !== undefined) return jsonCopy(outcome.response);
      }
      return run();
    } catch (err) {
      action.error = err instanceof Error ? err : new Error(String(err));
      throw err;
    }
  }

  #find(ref: ObjectRef, method: string, subresource?: string): KubeObject {
    const stored = this.#store.objects.get(storageKey(ref));
    if (stored) return stored;
    throw notFoundError(ref, {
      request: `${method} ${requestPath(ref, { plurals: this.#plurals, ...subresourceOf(subresource) })}`,
      plurals: this.#plurals,
    });
  }

  #checkSubresource(ref: ObjectRef, subresource: string, method: string): void {
    if (subresource === 'status' && this.hasStatusSubresource(ref)) return;
    throw noSuchResourceError({
      request: `${method} ${requestPath(ref, { plurals: this.#plurals, subresource })}`,
    });
  }

  #checkResourceVersion(ref: ObjectRef, rv: string | undefined, stored: KubeObject, request: string): void {
    const ctx = { request, plurals: this.#plurals };
    if (rv === undefined || rv === '') {
      throw invalidError(
        ref,
        'metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
        ctx,
      );
    }
    if (rv !== stored.metadata.resourceVersion) throw conflictError(ref, undefined, ctx);
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
          { request, plurals: this.#plurals },
        );
      }
    }
    if (deepEqual(next, stored)) return present(stored, ref.apiVersion);
    const ignore = this.hasStatusSubresource(typeOfStored(stored)) ? ['metadata', 'status'] : ['metadata'];
    if (m.generation !== undefined && !deepEqual(omit(next, ignore), omit(stored, ignore))) m.generation++;
    if (dryRun) return present(next, ref.apiVersion);
    m.resourceVersion = String(++this.#store.resourceVersion);
    const key = storageKey(ref);
    if (m.deletionTimestamp && (m.finalizers ?? []).length === 0) this.#store.objects.delete(key);
    else this.#store.objects.set(key, next);
    return present(next, ref.apiVersion);
  }

  /** Deterministic for a given sequence of writes, unique per object and incarnation. */
  #uid(key: string): string {
    const h = createHash('sha1').update(`${key}#${this.#store.resourceVersion}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  #generateName(type: TypeRef, m: ObjectMeta): string {
    for (let attempt = 0; ; attempt++) {
      const h = createHash('sha1')
        .update(`${m.generateName ?? ''}#${this.#store.resourceVersion}#${attempt}`)
        .digest();
      let suffix = '';
      for (let i = 0; i < 5; i++) suffix += generateNameAlphabet[(h[i] ?? 0) % generateNameAlphabet.length];
      const name = `${m.generateName ?? ''}${suffix}`;
      if (!this.#store.objects.has(storageKey({ ...type, ...namespaceOf(m), name }))) return name;
    }
  }
}

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

function statusUpdate(stored: KubeObject, incoming: KubeObject): KubeObject {
  const next = jsonCopy(stored);
  if (incoming['status'] === undefined) delete next['status'];
  else next['status'] = jsonCopy(incoming['status']);
  return next;
}

function typeOfStored(obj: KubeObject): TypeRef {
  return { apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '' };
}

function storageKey(ref: TypeRef & { namespace?: string | undefined; name?: string | undefined }): string {
  return `${parseApiVersion(ref.apiVersion).group}/${ref.kind}/${ref.namespace ?? ''}/${ref.name ?? ''}`;
}

/** A copy as a client would receive it: in the version asked for, or as PartialObjectMetadata. */
function present(obj: KubeObject, apiVersion: string, metadataOnly?: boolean): KubeObject {
  const copy = jsonCopy(obj);
  if (metadataOnly)
    return { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: copy.metadata };
  return { ...copy, apiVersion };
}

/** A copy through JSON, the way objects travel: `undefined` fields vanish, dates become strings. */
export function jsonCopy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

function omit(obj: KubeObject, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...obj };
  for (const k of keys) delete out[k];
  return out;
}

function typeOf(obj: KubeObject): TypeRef {
  if (!isObject(obj) || !isObject(obj.metadata)) throw new Error('fake client: an object needs metadata');
  if (!obj.apiVersion || !obj.kind) {
    throw new Error(
      `fake client: ${obj.kind ?? 'object'} ${obj.metadata.name ?? ''}: apiVersion and kind are required`,
    );
  }
  return { apiVersion: obj.apiVersion, kind: obj.kind };
}

function typeAndName(obj: KubeObject, what: string): ObjectRef {
  const type = typeOf(obj);
  if (!obj.metadata.name) throw new Error(`fake client: ${what} of ${type.kind}: metadata.name is required`);
  return { ...type, ...namespaceOf(obj.metadata), name: obj.metadata.name };
}

function namespaceOf(m: { namespace?: string | undefined }): { namespace?: string } {
  return m.namespace ? { namespace: m.namespace } : {};
}

function refOf(ref: ObjectRef): ActionRef {
  return { apiVersion: ref.apiVersion, kind: ref.kind, ...namespaceOf(ref), name: ref.name };
}

function subresourceOf(subresource: string | undefined): { subresource?: string } {
  return subresource ? { subresource } : {};
}

/** The options worth recording: no `signal`, no fields already in the action, nothing undefined. */
function optionsOf(options: object, skip: readonly string[]): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (k === 'signal' || skip.includes(k) || v === undefined) continue;
    out[k] = jsonCopy(v);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function parseLabels(text: string | undefined, request: string): Selector | undefined {
  if (!text) return undefined;
  try {
    return parseSelector(text);
  } catch (err) {
    throw badRequestError(`unable to parse requirement: ${(err as Error).message}`, { request });
  }
}

/** `metadata.name` and `metadata.namespace` with `=`, `==` and `!=`: what every kind supports. */
function parseFields(text: string | undefined, request: string): Array<(m: ObjectMeta) => boolean> {
  if (!text) return [];
  return text
    .split(',')
    .filter((t) => t.trim() !== '')
    .map((term) => {
      const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
      if (!m) throw badRequestError(`invalid field selector: "${term}"`, { request });
      const [, field = '', op, value = ''] = m;
      if (field !== 'metadata.name' && field !== 'metadata.namespace') {
        throw badRequestError(
          `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`,
          { request },
        );
      }
      const get = (meta: ObjectMeta): string =>
        (field === 'metadata.name' ? meta.name : meta.namespace) ?? '';
      return op === '!=' ? (meta) => get(meta) !== value : (meta) => get(meta) === value;
    });
}

function decodeContinue(token: string, request: string): number {
  try {
    const { start } = JSON.parse(Buffer.from(token, 'base64url').toString()) as { start?: unknown };
    if (typeof start === 'number' && Number.isSafeInteger(start) && start >= 0) return start;
  } catch {
    // fall through
  }
  throw badRequestError(`invalid continue token "${token}"`, { request });
}

function refuseDirectives(patch: unknown, path: string): void {
  if (Array.isArray(patch)) {
    patch.forEach((v, i) => refuseDirectives(v, `${path}[${i}]`));
    return;
  }
  if (!isObject(patch)) return;
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) {
      throw new Error(
        `strategic merge patch directive ${path}${path ? '.' : ''}${k} is not supported by the fake client (it applies strategic merge patches as merge patches)`,
      );
    }
    refuseDirectives(v, path ? `${path}.${k}` : k);
  }
}
