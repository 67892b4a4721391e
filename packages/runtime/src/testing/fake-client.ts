// An in-memory API server behind the `Client` interface, for table tests. It keeps
// the rules reconcilers depend on — optimistic concurrency, the status
// subresource, generation, finalizers — records every call, and lets a test
// inject failures with reactors (client-go's fake `PrependReactor`).
//
// The parts: what is recorded and how reactors answer (actions.ts), the store and the rules of
// writes (object-store.ts), lists (list-query.ts), patches (apply-patch.ts). This file is the
// `Client`: it records each call, runs the reactors, and stands for the cached client when asked.

import { NoKindMatchError, errorMessage, isForbidden, parseApiVersion } from '@bindery/kube';
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
import {
  CacheSyncTimeoutError,
  defaultCacheSyncTimeoutMs,
  fieldSelectorNotCached,
} from '../cached-client.ts';
import type { Client } from '../client.ts';
import { actionRef, optionsOf, reactsTo, subresourceOf } from './actions.ts';
import type { Action, ActionRef, Reactor } from './actions.ts';
import { applyPatch } from './apply-patch.ts';
import { badRequestError, invalidError } from './errors.ts';
import { listPage } from './list-query.ts';
import {
  ObjectStore,
  jsonCopy,
  namesKind,
  namespaceOf,
  present,
  testEpoch,
  typeAndName,
  typeOf,
} from './object-store.ts';

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
  #store: ObjectStore;
  #reactors: Array<{ reactor: Reactor; calls: number }> = [];
  readonly #cache: boolean;
  readonly #served: ReadonlySet<string> | undefined;

  constructor(options: FakeClientOptions = {}) {
    this.#store = new ObjectStore({
      clock: options.clock ?? { now: () => testEpoch },
      plurals: options.plurals ?? {},
      withoutStatusSubresource: options.withoutStatusSubresource ?? [],
    });
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
    for (const given of objects) this.#store.add(given);
  }

  /**
   * The same fake API server read directly, as `Config.apiReader` reads it: it shares this client's
   * objects, reactors and recorded actions, and serves field selectors even when this client, standing
   * for the cache, refuses them.
   */
  uncached(): FakeClient {
    const direct = new FakeClient(this.#served ? { served: [...this.#served] } : {});
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
    const obj = this.#store.get(ref);
    return obj ? (present(obj, ref.apiVersion) as T) : undefined;
  }

  /** Every stored object (copies), ordered by group, kind, namespace and name. */
  storedObjects(): KubeObject[] {
    return this.#store.all();
  }

  /** The recorded calls that write: create, update, updateStatus, patch, delete. */
  writes(): Action[] {
    return this.actions.filter((a) => a.verb !== 'get' && a.verb !== 'list');
  }

  hasStatusSubresource(type: TypeRef): boolean {
    return this.#store.hasStatusSubresource(type);
  }

  async get<T extends KubeObject = KubeObject>(ref: ObjectRef, options: GetOptions = {}): Promise<T> {
    const action: Action = { verb: 'get', ref: actionRef(ref), ...subresourceOf(options.subresource) };
    const opts = optionsOf(options, ['subresource']);
    if (opts) action.options = opts;
    const read = this.#invoke(action, () => {
      if (options.subresource !== undefined) this.#store.checkSubresource(ref, options.subresource, 'GET');
      const stored = this.#store.find(ref, 'GET', options.subresource);
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
    const read = this.#invoke(action, () => {
      const store = this.#store;
      const page = listPage(store.ofKind(type), options, store.request('GET', ref), store.resourceVersion);
      return {
        apiVersion: options.metadataOnly ? 'meta.k8s.io/v1' : type.apiVersion,
        kind: options.metadataOnly ? 'PartialObjectMetadataList' : `${type.kind}List`,
        metadata: page.metadata,
        items: page.items.map((o) => present(o, type.apiVersion, options.metadataOnly)),
      };
    });
    return (await this.#cached(type, read)) as KubeList<T>;
  }

  async create<T extends KubeObject>(obj: T, options: WriteOptions = {}): Promise<T> {
    const sent = jsonCopy<KubeObject>(obj);
    const ref: ActionRef = { ...typeOf(sent), ...namespaceOf(sent.metadata) };
    if (sent.metadata.name) ref.name = sent.metadata.name;
    else if (sent.metadata.generateName) ref.generateName = sent.metadata.generateName;
    const action: Action = { verb: 'create', ref, object: sent };
    const opts = optionsOf(options, []);
    if (opts) action.options = opts;
    return (await this.#invoke(action, () => this.#store.create(sent, options.dryRun))) as T;
  }

  async update<T extends KubeObject>(obj: T, options: WriteOptions = {}): Promise<T> {
    return (await this.#put('update', obj, options)) as T;
  }

  async updateStatus<T extends KubeObject>(obj: T, options: WriteOptions = {}): Promise<T> {
    return (await this.#put('updateStatus', obj, options)) as T;
  }

  async patch<T extends KubeObject = KubeObject>(
    ref: ObjectRef,
    patch: unknown,
    options: PatchOptions,
  ): Promise<T> {
    const request = this.#store.request('PATCH', ref, options.subresource);
    let body: unknown;
    try {
      body = typeof patch === 'string' ? JSON.parse(patch) : jsonCopy(patch);
    } catch (err) {
      throw badRequestError(`the patch is not JSON: ${(err as Error).message}`, { request });
    }
    const action: Action = {
      verb: 'patch',
      ref: actionRef(ref),
      patch: body,
      patchType: options.type,
      ...subresourceOf(options.subresource),
    };
    const opts = optionsOf(options, ['type', 'subresource']);
    if (opts) action.options = opts;
    return (await this.#invoke(action, () => {
      const store = this.#store;
      if (options.subresource !== undefined) store.checkSubresource(ref, options.subresource, 'PATCH');
      const stored = store.find(ref, 'PATCH', options.subresource);
      let patched: KubeObject;
      try {
        patched = applyPatch(stored, body, options.type);
      } catch (err) {
        throw invalidError(ref, `patch: ${(err as Error).message}`, { request, plurals: store.plurals });
      }
      return store.patch(ref, stored, patched, options.subresource, options.dryRun);
    })) as T;
  }

  async delete(ref: ObjectRef, options: DeleteOptions = {}): Promise<unknown> {
    const action: Action = { verb: 'delete', ref: actionRef(ref) };
    const opts = optionsOf(options, []);
    if (opts) action.options = opts;
    return this.#invoke(action, () => this.#store.delete(ref, options));
  }

  async #put(verb: 'update' | 'updateStatus', obj: KubeObject, options: WriteOptions): Promise<unknown> {
    const sent = jsonCopy(obj);
    const ref = typeAndName(sent, verb);
    const status = verb === 'updateStatus' ? 'status' : undefined;
    const action: Action = { verb, ref, object: sent, ...subresourceOf(status) };
    const opts = optionsOf(options, []);
    if (opts) action.options = opts;
    return this.#invoke(action, () => this.#store.update(ref, sent, status, options.dryRun));
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
      if (this.#served && !namesKind(this.#served, action.ref)) {
        const { group, version } = parseApiVersion(action.ref.apiVersion);
        throw new NoKindMatchError({ group, version, kind: action.ref.kind });
      }
      for (const entry of this.#reactors) {
        if (!reactsTo(entry.reactor, action)) continue;
        entry.calls++;
        const outcome = await entry.reactor.fn(action, entry.calls);
        if (outcome instanceof Error) throw outcome;
        if (outcome !== undefined) return jsonCopy(outcome.response);
      }
      return run();
    } catch (err) {
      action.error = err instanceof Error ? err : new Error(String(err));
      throw err;
    }
  }
}
