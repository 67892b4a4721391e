import type { KubeClient } from './client.ts';
import { parseSelector } from './labels.ts';
import type { Selector } from './labels.ts';
import { objectKey } from './object.ts';
import type { KubeObject, TypeRef } from './object.ts';
import type { StringInterner } from './string-interner.ts';
import { chainTransforms, internStrings } from './transform.ts';
import { Reflector } from './watch.ts';
import type { ReflectorOptions, ReflectorSink, ReflectorState } from './watch.ts';

/** What a delete handler gets when the object vanished while the watch was down. */
export interface DeletedFinalStateUnknown<T extends KubeObject> {
  key: string;
  /** The last state the cache saw. */
  obj: T;
}

export function isTombstone<T extends KubeObject>(
  value: T | DeletedFinalStateUnknown<T>,
): value is DeletedFinalStateUnknown<T> {
  return 'key' in value && 'obj' in value && !('metadata' in value);
}

export interface EventHandler<T extends KubeObject> {
  /** `initialList` is true for objects of the first list and for replays to a late handler. */
  onAdd?(obj: T, initialList: boolean): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T | DeletedFinalStateUnknown<T>): void;
}

export interface HandlerRegistration {
  /** True once this handler has been given every object of the first list. */
  hasSynced(): boolean;
  remove(): void;
}

/** Maps an object to the index values it is filed under. */
export type IndexFunc<T extends KubeObject> = (obj: T) => string[];

export const namespaceIndex = 'namespace';

/** A thread-safe-by-construction (single-threaded) store with secondary indexes. */
export class Indexer<T extends KubeObject> {
  readonly #items = new Map<string, T>();
  readonly #indexers = new Map<string, IndexFunc<T>>();
  readonly #indices = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    this.addIndexers({ [namespaceIndex]: (obj) => [obj.metadata.namespace ?? ''], ...indexers });
  }

  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    for (const [name, fn] of Object.entries(indexers)) {
      if (this.#indexers.has(name)) throw new Error(`indexer "${name}" already exists`);
      this.#indexers.set(name, fn);
      const index = new Map<string, Set<string>>();
      this.#indices.set(name, index);
      for (const [key, obj] of this.#items) this.#file(index, fn, key, obj);
    }
  }

  get size(): number {
    return this.#items.size;
  }

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  keys(): IterableIterator<string> {
    return this.#items.keys();
  }

  values(): IterableIterator<T> {
    return this.#items.values();
  }

  /** Keys filed under `value` by index `name`. */
  indexKeys(name: string, value: string): string[] {
    const index = this.#indices.get(name);
    if (!index) throw new Error(`no indexer named "${name}"`);
    return [...(index.get(value) ?? [])];
  }

  byIndex(name: string, value: string): T[] {
    return this.indexKeys(name, value).map((k) => this.#items.get(k) as T);
  }

  /** Stores `obj`, returning what it replaced. */
  set(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.#items.get(key);
    if (old) this.#unfileAll(key, old);
    this.#items.set(key, obj);
    for (const [name, fn] of this.#indexers)
      this.#file(this.#indices.get(name) as Map<string, Set<string>>, fn, key, obj);
    return old;
  }

  delete(key: string): T | undefined {
    const old = this.#items.get(key);
    if (!old) return undefined;
    this.#unfileAll(key, old);
    this.#items.delete(key);
    return old;
  }

  #file(index: Map<string, Set<string>>, fn: IndexFunc<T>, key: string, obj: T): void {
    for (const value of fn(obj)) {
      let keys = index.get(value);
      if (!keys) index.set(value, (keys = new Set()));
      keys.add(key);
    }
  }

  #unfileAll(key: string, obj: T): void {
    for (const [name, fn] of this.#indexers) {
      const index = this.#indices.get(name) as Map<string, Set<string>>;
      for (const value of fn(obj)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }
}

/** Reads the informer's cache. Objects are shared: never mutate what a lister returns. */
export class Lister<T extends KubeObject> {
  readonly #indexer: Indexer<T>;

  constructor(indexer: Indexer<T>) {
    this.#indexer = indexer;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#indexer.get(namespace ? `${namespace}/${name}` : name);
  }

  list(options: { namespace?: string; labelSelector?: string | Selector } = {}): T[] {
    const selector =
      typeof options.labelSelector === 'string'
        ? parseSelector(options.labelSelector)
        : options.labelSelector;
    const items =
      options.namespace !== undefined
        ? this.#indexer.byIndex(namespaceIndex, options.namespace)
        : [...this.#indexer.values()];
    return selector && !selector.empty ? items.filter((o) => selector.matches(o.metadata.labels)) : items;
  }

  byIndex(name: string, value: string): T[] {
    return this.#indexer.byIndex(name, value);
  }
}

/**
 * Reduces an object before the informer stores it (client-go's TransformFunc): whatever it drops
 * is neither kept in memory nor seen by handlers and listers. It must keep the name, namespace and
 * resourceVersion, and may return the object it was given (the list or watch event is not reused).
 */
export type TransformFunc<T extends KubeObject = KubeObject> = (obj: T) => T;

export interface SharedInformerOptions<T extends KubeObject> extends Omit<ReflectorOptions, 'onError'> {
  indexers?: Record<string, IndexFunc<T>>;
  /** Applied to every object before it is cached or handed to a handler. */
  transform?: TransformFunc<T>;
  /** Every handler gets `onUpdate(obj, obj)` for every cached object this often. */
  resyncPeriodMs?: number;
  /** Reflector failures and handler exceptions; the informer keeps going after both. */
  onError?: (err: unknown, context: string) => void;
}

interface Listener<T extends KubeObject> {
  handler: EventHandler<T>;
  synced: boolean;
}

/**
 * client-go's SharedIndexInformer: one list+watch per type feeding a cache and
 * any number of handlers. A handler's exception is reported and never stops the
 * informer or the other handlers.
 */
export class SharedInformer<T extends KubeObject = KubeObject> implements ReflectorSink<T> {
  readonly indexer: Indexer<T>;
  readonly lister: Lister<T>;
  readonly #reflector: Reflector<T>;
  readonly #listeners = new Set<Listener<T>>();
  readonly #options: SharedInformerOptions<T>;
  readonly #syncWaiters: Array<() => void> = [];
  #started = false;
  #synced = false;

  constructor(options: SharedInformerOptions<T>) {
    this.#options = options;
    this.indexer = new Indexer<T>(options.indexers);
    this.lister = new Lister(this.indexer);
    // The Reflector transforms each list page and watch event itself, so the full objects of a
    // large list are never all alive at once; what it hands on is stored as it is.
    const transform = options.transform;
    this.#reflector = new Reflector<T>(
      { ...options, onError: (err) => this.#report(err, `watch ${options.type.kind}`) },
      {
        ...(transform && { transform }),
        replace: (items, rv) => this.#replace(items, rv),
        add: (obj) => this.#add(obj),
        update: (obj) => this.#add(obj),
        delete: (obj) => this.#delete(obj),
      },
    );
  }

  get type(): TypeRef {
    return this.#options.type;
  }

  /** The Reflector's state, for health checks. */
  get state(): Readonly<ReflectorState> {
    return this.#reflector.state;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves once the first list is in the cache; rejects if the signal aborts first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.hasSynced()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      // A wait that gives up leaves nothing behind: an informer that never syncs must not
      // collect one waiter per retry.
      const onAbort = (): void => {
        const i = this.#syncWaiters.indexOf(wake);
        if (i >= 0) this.#syncWaiters.splice(i, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push(wake);
    });
  }

  /** Registers a handler; one added after the first list gets every cached object as an add. */
  addEventHandler(handler: EventHandler<T>): HandlerRegistration {
    const listener: Listener<T> = { handler, synced: false };
    this.#listeners.add(listener);
    if (this.hasSynced()) {
      for (const obj of this.indexer.values()) this.#call(() => handler.onAdd?.(obj, true));
      listener.synced = true;
    }
    return {
      hasSynced: () => listener.synced,
      remove: () => this.#listeners.delete(listener),
    };
  }

  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    this.indexer.addIndexers(indexers);
  }

  /** Lists, watches and dispatches until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#started) throw new Error(`informer for ${this.#options.type.kind} is already running`);
    this.#started = true;
    const resync = this.#options.resyncPeriodMs;
    const timer = resync ? setInterval(() => this.#resync(), resync) : undefined;
    try {
      await this.#reflector.run(signal);
    } finally {
      clearInterval(timer);
    }
  }

  replace(items: T[], resourceVersion: string): void {
    this.#replace(
      items.map((o) => this.#transform(o)),
      resourceVersion,
    );
  }

  add(item: T): void {
    this.#add(this.#transform(item));
  }

  update(item: T): void {
    this.add(item);
  }

  delete(item: T): void {
    this.#delete(this.#transform(item));
  }

  #replace(items: T[], _resourceVersion: string): void {
    const initial = !this.hasSynced();
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.indexer.set(obj);
      if (!old) this.#dispatch((h) => h.onAdd?.(obj, initial));
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion)
        this.#dispatch((h) => h.onUpdate?.(old, obj));
    }
    // What the cache has but the new list lacks was deleted while we were not watching.
    for (const key of [...this.indexer.keys()]) {
      if (seen.has(key)) continue;
      const old = this.indexer.delete(key) as T;
      this.#dispatch((h) => h.onDelete?.({ key, obj: old }));
    }
    if (initial) {
      this.#synced = true;
      for (const l of this.#listeners) l.synced = true;
      for (const wake of this.#syncWaiters.splice(0)) wake();
    }
  }

  #add(obj: T): void {
    const old = this.indexer.set(obj);
    if (old) this.#dispatch((h) => h.onUpdate?.(old, obj));
    else this.#dispatch((h) => h.onAdd?.(obj, false));
  }

  #delete(obj: T): void {
    this.indexer.delete(objectKey(obj));
    this.#dispatch((h) => h.onDelete?.(obj));
  }

  #transform(obj: T): T {
    return this.#options.transform ? this.#options.transform(obj) : obj;
  }

  #resync(): void {
    for (const obj of this.indexer.values()) this.#dispatch((h) => h.onUpdate?.(obj, obj));
  }

  #dispatch(fn: (handler: EventHandler<T>) => void): void {
    for (const l of this.#listeners) this.#call(() => fn(l.handler));
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#report(err, `event handler for ${this.#options.type.kind}`);
    }
  }

  #report(err: unknown, context: string): void {
    this.#options.onError?.(err, context);
  }
}

export interface InformerKey {
  type: TypeRef;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  metadataOnly?: boolean;
}

export interface SharedInformerFactoryOptions extends Omit<
  SharedInformerOptions<KubeObject>,
  'client' | 'type'
> {
  client: KubeClient;
  /**
   * After the transform of each informer (its type's, else the default), every string value of a
   * cached object is replaced by this table's copy, so all caches share one copy of each repeated
   * value, whatever each keeps of an object.
   */
  interner?: StringInterner;
}

/**
 * One informer per type (and scope), shared by every controller that asks for it,
 * so a kind is listed and watched once per process.
 */
export class SharedInformerFactory {
  readonly #client: KubeClient;
  readonly #defaults: Omit<SharedInformerOptions<KubeObject>, 'client' | 'type'>;
  readonly #informers = new Map<string, SharedInformer<KubeObject>>();
  readonly #transforms = new Map<string, TransformFunc>();
  readonly #running = new Map<string, { done: Promise<void>; stop: AbortController }>();
  #signal: AbortSignal | undefined;

  readonly #intern: TransformFunc | undefined;

  constructor(options: SharedInformerFactoryOptions) {
    const { client, interner, ...defaults } = options;
    this.#client = client;
    this.#defaults = defaults;
    this.#intern = interner && internStrings(interner);
  }

  informerFor<T extends KubeObject = KubeObject>(key: InformerKey): SharedInformer<T> {
    const id = informerId(key);
    let informer = this.#informers.get(id);
    if (!informer) {
      const own = this.#transforms.get(typeId(key.type)) ?? this.#defaults.transform;
      const transform = own && this.#intern ? chainTransforms(own, this.#intern) : (own ?? this.#intern);
      informer = new SharedInformer<KubeObject>({
        ...this.#defaults,
        ...key,
        client: this.#client,
        ...(transform ? { transform } : {}),
      });
      this.#informers.set(id, informer);
      // Informers asked for after start() start at once.
      if (this.#signal) this.#run(id, informer, this.#signal);
    }
    return informer as unknown as SharedInformer<T>;
  }

  /**
   * Sets the transform of every informer of `type` (any scope, full or metadata-only), instead of
   * the factory's default. Throws if one already exists: its cache would hold untransformed objects.
   */
  setTransform(type: TypeRef, transform: TransformFunc): void {
    const id = typeId(type);
    for (const informer of this.#informers.values()) {
      if (typeId(informer.type) === id) {
        throw new Error(`the ${type.kind} informer already exists; set its transform before asking for it`);
      }
    }
    this.#transforms.set(id, transform);
  }

  /** Whether an informer for `key` exists (without creating one). */
  has(key: InformerKey): boolean {
    return this.#informers.has(informerId(key));
  }

  /**
   * Stops the informer for `key` and forgets it, with its cache and handlers: for informers
   * started on demand once nothing needs them. A later `informerFor` starts a new one.
   */
  remove(key: InformerKey): void {
    const id = informerId(key);
    this.#informers.delete(id);
    this.#running.get(id)?.stop.abort();
    this.#running.delete(id);
  }

  /** Starts every informer, and any asked for later, until the signal aborts. */
  start(signal: AbortSignal): void {
    this.#signal = signal;
    for (const [id, informer] of this.#informers) if (!this.#running.has(id)) this.#run(id, informer, signal);
  }

  async waitForCacheSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.waitForSync(signal)));
  }

  informers(): SharedInformer<KubeObject>[] {
    return [...this.#informers.values()];
  }

  /** Resolves when every started informer has stopped. */
  async shutdown(): Promise<void> {
    await Promise.allSettled([...this.#running.values()].map((r) => r.done));
  }

  #run(id: string, informer: SharedInformer<KubeObject>, signal: AbortSignal): void {
    const stop = new AbortController();
    const done = informer
      .run(AbortSignal.any([signal, stop.signal]))
      .catch((err: unknown) => this.#defaults.onError?.(err, `informer ${informer.type.kind}`));
    this.#running.set(id, { done, stop });
  }
}

function typeId(type: TypeRef): string {
  return `${type.apiVersion}/${type.kind}`;
}

/** The identity of an informer: keys with the same id share one informer. */
export function informerId(key: InformerKey): string {
  return JSON.stringify([
    key.type.apiVersion,
    key.type.kind,
    key.namespace ?? '',
    key.labelSelector ?? '',
    key.fieldSelector ?? '',
    key.metadataOnly ?? false,
  ]);
}
