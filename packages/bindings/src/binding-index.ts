// The in-memory index admission webhooks answer from: bindings by the group/kind/namespace (and,
// where asked, the name) of each object they name, fed by the manager's informer of the binding
// type on every replica. A request costs a map lookup plus the bindings of that namespace and kind,
// never an API call. It also counts the kinds bindings name, per axis, and says when one comes or
// goes: those kinds drive the webhooks' rules. The binding admission controller indexes bindings
// by subject; the ServiceBinding webhooks by workload and by service (`ServiceBindingIndex`).

import { groupKind, isTombstone, joinKey, parseApiVersion } from '@bindery/kube';
import type { EventHandler, KubeObject, TypeRef } from '@bindery/kube';

/** What an index needs of the bindings' informer (the manager's `informer(type)`). */
export interface BindingInformer<B extends KubeObject> {
  addEventHandler(handler: EventHandler<B>): unknown;
  hasSynced(): boolean;
  waitForSync(signal?: AbortSignal): Promise<void>;
}

/** An entry: what a binding is to the webhooks. Never mutate the informer's object it may hold. */
export interface IndexEntry {
  /** `namespace/name` of the binding. */
  readonly key: string;
}

/** An object an entry names: found by its group, kind and namespace, and by name when it has one. */
export interface IndexedRef {
  type: TypeRef;
  namespace: string;
  name?: string;
}

export interface BindingIndexOptions<B extends KubeObject, E extends IndexEntry, A extends string> {
  /** The entry of a binding; undefined leaves the binding out (one its controller will not act on). */
  entry(binding: B, key: string): E | undefined;
  /** What an entry names, per axis: e.g. `{ subject }`, or `{ workload, service }`. */
  axes: Record<A, (entry: E) => IndexedRef>;
  /**
   * Count each version of a kind as a kind of its own (`apiVersion/Kind`), for rules per version.
   * Default: versions of one kind are the same objects (`Kind.group`).
   */
  kindsByVersion?: boolean;
}

interface KindCount {
  type: TypeRef;
  count: number;
}

interface Axis<E> {
  refOf: (entry: E) => IndexedRef;
  /** By `group/Kind/namespace[/name]`, then binding key. */
  entries: Map<string, Map<string, E>>;
  kinds: Map<string, KindCount>;
}

export class BindingIndex<B extends KubeObject, E extends IndexEntry, A extends string = string> {
  readonly #options: BindingIndexOptions<B, E, A>;
  readonly #axes = new Map<A, Axis<E>>();
  readonly #entries = new Map<string, E>();
  readonly #kindListeners = new Set<() => void>();
  /** Sorted views by axis and lookup key; admissions far outnumber binding changes, so sort once per change. */
  readonly #sorted = new Map<string, E[]>();
  #informer: BindingInformer<B> | undefined;

  constructor(options: BindingIndexOptions<B, E, A>) {
    this.#options = options;
    for (const [name, refOf] of Object.entries(options.axes) as Array<[A, (entry: E) => IndexedRef]>)
      this.#axes.set(name, { refOf, entries: new Map(), kinds: new Map() });
  }

  /** Follows `informer` (the manager's informer of the binding type); call once. */
  attach(informer: BindingInformer<B>): void {
    this.#informer = informer;
    informer.addEventHandler({
      onAdd: (b) => this.upsert(b),
      onUpdate: (_old, b) => this.upsert(b),
      onDelete: (b) => this.remove(isTombstone(b) ? b.obj : b),
    });
  }

  /** True once the informer listed (always true without one, as in unit tests). */
  hasSynced(): boolean {
    return this.#informer?.hasSynced() ?? true;
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    await this.#informer?.waitForSync(signal);
  }

  /** Called whenever a kind named on some axis appears or disappears. */
  onKindsChanged(listener: () => void): () => void {
    this.#kindListeners.add(listener);
    return () => this.#kindListeners.delete(listener);
  }

  upsert(binding: B): void {
    const key = keyOf(binding);
    const entry = this.#options.entry(binding, key);
    // The new entry is counted before the old one is dropped: an update that keeps its kinds
    // changes no kind (no rules sync on every status write).
    let changed = false;
    if (entry !== undefined)
      for (const axis of this.#axes.values()) changed = this.#count(axis, entry, +1) || changed;
    changed = this.#drop(key) || changed;
    this.#sorted.clear();
    if (entry !== undefined) {
      this.#entries.set(key, entry);
      for (const axis of this.#axes.values()) {
        const where = whereOf(axis.refOf(entry));
        let entries = axis.entries.get(where);
        if (!entries) axis.entries.set(where, (entries = new Map<string, E>()));
        entries.set(key, entry);
      }
    }
    if (changed) this.#kindsChanged();
  }

  remove(binding: B): void {
    const changed = this.#drop(keyOf(binding));
    this.#sorted.clear();
    if (changed) this.#kindsChanged();
  }

  /** Whether the binding `namespace/name` is indexed. */
  has(binding: { namespace: string; name: string }): boolean {
    return this.#entries.has(`${binding.namespace}/${binding.name}`);
  }

  /**
   * The entries that name, on `axis`, an object of `group/kind` in `namespace` (named `name`, for
   * an axis whose refs have names), sorted by binding name. A copy: callers may filter or sort it.
   */
  lookup(axis: A, group: string, kind: string, namespace: string, name?: string): E[] {
    const where =
      name === undefined ? `${group}/${kind}/${namespace}` : `${group}/${kind}/${namespace}/${name}`;
    const entries = this.#axis(axis).entries.get(where);
    // Requests name any kind and namespace: only what some binding names gets a view, so the
    // cache is sized by the bindings, never by the requests.
    if (entries === undefined) return [];
    const viewKey = `${axis}:${where}`;
    let view = this.#sorted.get(viewKey);
    if (!view) {
      // Code-unit order of `namespace/name` (one namespace here): names are DNS subdomains, and
      // localeCompare costs tenfold.
      view = [...entries.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      this.#sorted.set(viewKey, view);
    }
    return view.slice();
  }

  /** The kinds named on `axis`, deleting bindings included (they still undo), sorted. */
  types(axis: A): TypeRef[] {
    return [...this.#axis(axis).kinds.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, { type }]) => type);
  }

  /** How many sorted views are cached: at most one per axis and lookup key. */
  get cachedViews(): number {
    return this.#sorted.size;
  }

  #axis(name: A): Axis<E> {
    const axis = this.#axes.get(name);
    if (!axis) throw new Error(`no index axis ${name}`);
    return axis;
  }

  /** Drops the entry of `key`; true when a kind disappeared. */
  #drop(key: string): boolean {
    const entry = this.#entries.get(key);
    if (!entry) return false;
    this.#entries.delete(key);
    let changed = false;
    for (const axis of this.#axes.values()) {
      const where = whereOf(axis.refOf(entry));
      const entries = axis.entries.get(where);
      entries?.delete(key);
      if (entries?.size === 0) axis.entries.delete(where);
      changed = this.#count(axis, entry, -1) || changed;
    }
    return changed;
  }

  /** Adjusts the count of the kind `entry` names on `axis`; true when the kind appeared or disappeared. */
  #count(axis: Axis<E>, entry: E, delta: 1 | -1): boolean {
    const { kinds } = axis;
    const { type } = axis.refOf(entry);
    const kindKey = this.#options.kindsByVersion ? `${type.apiVersion}/${type.kind}` : groupKind(type);
    const current = kinds.get(kindKey);
    if (!current) {
      if (delta < 0) return false;
      kinds.set(kindKey, { type: { apiVersion: type.apiVersion, kind: type.kind }, count: 1 });
      return true;
    }
    current.count += delta;
    if (current.count > 0) return false;
    kinds.delete(kindKey);
    return true;
  }

  #kindsChanged(): void {
    for (const listener of this.#kindListeners) listener();
  }
}

function keyOf(binding: KubeObject): string {
  return joinKey(binding.metadata.namespace ?? '', binding.metadata.name ?? '');
}

function whereOf(ref: IndexedRef): string {
  const { group } = parseApiVersion(ref.type.apiVersion);
  return ref.name === undefined
    ? joinKey(group, ref.type.kind, ref.namespace)
    : joinKey(group, ref.type.kind, ref.namespace, ref.name);
}
