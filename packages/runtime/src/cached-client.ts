import { StatusError, parseApiVersion } from '@bindery/kube';
import type {
  DeleteOptions,
  GetOptions,
  KubeClient,
  KubeList,
  KubeObject,
  ListOptions,
  ObjectRef,
  PatchOptions,
  SharedInformer,
  SharedInformerFactory,
  TypeRef,
  WriteOptions,
} from '@bindery/kube';
import type { Client } from './client.ts';
import { deepCopy } from './equality.ts';

export interface CachedClientOptions {
  client: KubeClient;
  informers: SharedInformerFactory;
  /** Aborts waits for a cache to sync. */
  signal?: AbortSignal;
  /**
   * The longest a read waits for a kind's first list (a kind that may not be listed never
   * syncs, and must not hold a worker for ever). Default 30 s.
   */
  syncTimeoutMs?: number;
}

/** The default of `syncTimeoutMs`. */
export const defaultCacheSyncTimeoutMs = 30_000;

/** What a list with a field selector gets from the cache (an informer's lister has no field index). */
export function fieldSelectorNotCached(type: TypeRef): Error {
  return new Error(
    `${type.kind}: field selectors are not served from the cache; use an index or the API reader`,
  );
}

/** A read gave up waiting for the first list of a kind. */
export class CacheSyncTimeoutError extends Error {
  constructor(type: TypeRef, timeoutMs: number, lastError: string | undefined) {
    super(
      `the cache of ${type.kind} (${type.apiVersion}) did not sync within ${Math.round(timeoutMs / 1000)} s${
        lastError ? `: ${lastError}` : ''
      }`,
    );
    this.name = 'CacheSyncTimeoutError';
  }
}

/**
 * controller-runtime's delegating client: reads come from shared informer caches
 * (started on first use of a kind, then kept), writes go to the API server. Each
 * read returns a copy, so reconcilers may mutate what they get.
 */
export class CachedClient implements Client {
  readonly #client: KubeClient;
  readonly #informers: SharedInformerFactory;
  readonly #signal: AbortSignal | undefined;
  readonly #syncTimeoutMs: number;

  constructor(options: CachedClientOptions) {
    this.#client = options.client;
    this.#informers = options.informers;
    this.#signal = options.signal;
    this.#syncTimeoutMs = options.syncTimeoutMs ?? defaultCacheSyncTimeoutMs;
  }

  async get<T extends KubeObject = KubeObject>(ref: ObjectRef, options: GetOptions = {}): Promise<T> {
    if (options.subresource) return this.#client.get<T>(ref, options);
    const informer = await this.#synced<T>(ref, options.metadataOnly, options.signal);
    const obj = informer.lister.get(ref.name, ref.namespace);
    if (!obj) throw notFound(ref);
    return deepCopy(obj);
  }

  async list<T extends KubeObject = KubeObject>(
    type: TypeRef,
    options: ListOptions = {},
  ): Promise<KubeList<T>> {
    if (options.fieldSelector) throw fieldSelectorNotCached(type);
    const informer = await this.#synced<T>(type, options.metadataOnly, options.signal);
    const items = informer.lister.list({
      ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
      ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
    });
    return {
      apiVersion: type.apiVersion,
      kind: `${type.kind}List`,
      metadata: { resourceVersion: informer.state.resourceVersion },
      items: items.map((o) => deepCopy(o)),
    };
  }

  /**
   * The cached objects of `type` that `keep` accepts, copied after filtering: a reconcile that looks
   * for a few objects among many pays for the few, not for copying the whole namespace.
   */
  async listFiltered<T extends KubeObject = KubeObject>(
    type: TypeRef,
    options: Pick<ListOptions, 'namespace' | 'labelSelector' | 'signal'>,
    keep: (obj: T) => boolean,
  ): Promise<T[]> {
    const informer = await this.#synced<T>(type, false, options.signal);
    const items = informer.lister.list({
      ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
      ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
    });
    return items.filter(keep).map((o) => deepCopy(o));
  }

  /** The informer behind reads of `type`, for indexes and event handlers. */
  informer<T extends KubeObject = KubeObject>(type: TypeRef, metadataOnly = false): SharedInformer<T> {
    return this.#informers.informerFor<T>({ type, ...(metadataOnly ? { metadataOnly } : {}) });
  }

  create<T extends KubeObject>(obj: T, options?: WriteOptions): Promise<T> {
    return this.#client.create(obj, options);
  }

  update<T extends KubeObject>(obj: T, options?: WriteOptions): Promise<T> {
    return this.#client.update(obj, options);
  }

  updateStatus<T extends KubeObject>(obj: T, options?: WriteOptions): Promise<T> {
    return this.#client.updateStatus(obj, options);
  }

  patch<T extends KubeObject = KubeObject>(
    ref: ObjectRef,
    patch: unknown,
    options: PatchOptions,
  ): Promise<T> {
    return this.#client.patch<T>(ref, patch, options);
  }

  delete(ref: ObjectRef, options?: DeleteOptions): Promise<unknown> {
    return this.#client.delete(ref, options);
  }

  async #synced<T extends KubeObject>(
    type: TypeRef,
    metadataOnly: boolean | undefined,
    signal: AbortSignal | undefined,
  ): Promise<SharedInformer<T>> {
    const informer = this.informer<T>(
      { apiVersion: type.apiVersion, kind: type.kind },
      metadataOnly ?? false,
    );
    if (!informer.hasSynced()) {
      // As controller-runtime's RESTMapper does: a kind the API server does not serve fails now
      // (NoKindMatchError) instead of holding the worker until a sync that can never happen.
      await this.#client.discovery.resourceFor(type);
      const deadline = AbortSignal.timeout(this.#syncTimeoutMs);
      const signals = [signal, this.#signal, deadline].filter((s): s is AbortSignal => s !== undefined);
      try {
        await informer.waitForSync(AbortSignal.any(signals));
      } catch (err) {
        if (!deadline.aborted || signal?.aborted || this.#signal?.aborted) throw err;
        throw new CacheSyncTimeoutError(type, this.#syncTimeoutMs, informer.state.lastError);
      }
    }
    return informer;
  }
}

function notFound(ref: ObjectRef): StatusError {
  const { group } = parseApiVersion(ref.apiVersion);
  const resource = `${ref.kind.toLowerCase()}${group ? `.${group}` : ''}`;
  return new StatusError({
    code: 404,
    status: { reason: 'NotFound', message: `${resource} "${ref.name}" not found`, code: 404 },
    request: `GET ${ref.apiVersion} ${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name} (cache)`,
  });
}
