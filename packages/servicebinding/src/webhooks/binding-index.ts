// The in-memory index the webhooks answer from: ServiceBindings by the group/kind/namespace of
// their workload and by their service, fed by the manager's ServiceBinding informer on every
// replica. A request costs a map lookup plus the bindings of that namespace and kind, never an
// API call; the kinds named by all bindings drive the webhook configurations' rules.

import { isTombstone, parseApiVersion, selectorFromLabelSelector } from '@bindery/kube';
import type { Selector, TypeRef } from '@bindery/kube';
import type { BindingInformer } from '@bindery/bindings';
import { validateServiceBinding } from '../apis/index.ts';
import type { ServiceBinding } from '../apis/index.ts';

/** A binding as the webhooks see it. `binding` is the informer's object: never mutate it. */
export interface IndexedBinding {
  /** `namespace/name`. */
  readonly key: string;
  readonly binding: ServiceBinding;
  readonly namespace: string;
  readonly name: string;
  readonly workload: TypeRef;
  readonly service: TypeRef & { name: string };
  /** For a binding by name, the workload's name; otherwise its selector. */
  readonly workloadName: string | undefined;
  readonly selector: Selector | undefined;
  readonly deleting: boolean;
}

interface KindCount {
  type: TypeRef;
  count: number;
}

/** `group/Kind`: versions of one kind are the same objects. */
export function groupKindOf(type: TypeRef): string {
  return `${parseApiVersion(type.apiVersion).group}/${type.kind}`;
}

export class BindingIndex {
  /** By `group/Kind/namespace` of the workload, then binding key. */
  readonly #byWorkload = new Map<string, Map<string, IndexedBinding>>();
  /** By `group/Kind/namespace/name` of the service, then binding key. */
  readonly #byService = new Map<string, Map<string, IndexedBinding>>();
  readonly #entries = new Map<string, IndexedBinding>();
  readonly #workloadKinds = new Map<string, KindCount>();
  readonly #serviceKinds = new Map<string, KindCount>();
  readonly #kindListeners = new Set<() => void>();
  /** Sorted views by index key; admissions far outnumber binding changes, so sort once per change. */
  readonly #sorted = new Map<string, IndexedBinding[]>();
  #informer: BindingInformer<ServiceBinding> | undefined;

  /** Follows `informer` (the manager's ServiceBinding informer); call once. */
  attach(informer: BindingInformer<ServiceBinding>): void {
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

  /** Called whenever a workload or service kind appears or disappears. */
  onKindsChanged(listener: () => void): () => void {
    this.#kindListeners.add(listener);
    return () => this.#kindListeners.delete(listener);
  }

  upsert(binding: ServiceBinding): void {
    const key = keyOf(binding);
    this.#drop(key);
    this.#sorted.clear();
    // What the controller will not act on (it reports InvalidSpec) the webhooks leave alone too.
    if (validateServiceBinding(binding).length > 0) return;
    let selector: Selector | undefined;
    const w = binding.spec.workload;
    const byName = w.name !== undefined && w.name !== '';
    try {
      selector = byName ? undefined : selectorFromLabelSelector(w.selector);
    } catch {
      return; // validation rejects malformed selectors; a belt to its braces
    }
    const namespace = binding.metadata.namespace ?? '';
    const s = binding.spec.service;
    const entry: IndexedBinding = {
      key,
      binding,
      namespace,
      name: binding.metadata.name ?? '',
      workload: { apiVersion: w.apiVersion, kind: w.kind },
      service: { apiVersion: s.apiVersion, kind: s.kind, name: s.name },
      workloadName: byName ? w.name : undefined,
      selector,
      deleting: binding.metadata.deletionTimestamp !== undefined,
    };
    this.#entries.set(key, entry);
    add(this.#byWorkload, `${groupKindOf(entry.workload)}/${namespace}`, entry);
    add(this.#byService, `${groupKindOf(entry.service)}/${namespace}/${s.name}`, entry);
    let changed = count(this.#workloadKinds, entry.workload, +1);
    changed = count(this.#serviceKinds, entry.service, +1) || changed;
    if (changed) this.#kindsChanged();
  }

  /** Whether the binding `namespace/name` is indexed: the trigger forwards only those. */
  has(binding: { namespace: string; name: string }): boolean {
    return this.#entries.has(`${binding.namespace}/${binding.name}`);
  }

  remove(binding: ServiceBinding): void {
    this.#drop(keyOf(binding));
    this.#sorted.clear();
  }

  /** The bindings in `namespace` whose workload is of `group/kind`, sorted by name. */
  forWorkload(group: string, kind: string, namespace: string): IndexedBinding[] {
    const where = `${group}/${kind}/${namespace}`;
    return this.#sortedView(`w:${where}`, this.#byWorkload.get(where));
  }

  /** The bindings in `namespace` whose service is the object `group/kind` named `name`. */
  forService(group: string, kind: string, namespace: string, name: string): IndexedBinding[] {
    const where = `${group}/${kind}/${namespace}/${name}`;
    return this.#sortedView(`s:${where}`, this.#byService.get(where));
  }

  /** How many sorted views are cached: at most one per workload and per service key. */
  get cachedViews(): number {
    return this.#sorted.size;
  }

  #sortedView(key: string, entries: Map<string, IndexedBinding> | undefined): IndexedBinding[] {
    // Requests name any kind and namespace: only what some binding names gets a view, so the
    // cache is sized by the bindings, never by the requests.
    if (entries === undefined) return [];
    let view = this.#sorted.get(key);
    if (!view) {
      view = [...sorted(entries)];
      this.#sorted.set(key, view);
    }
    // A copy: callers may filter or sort what they get.
    return view.slice();
  }

  /** The workload kinds bindings name, deleting ones included (they still unproject). */
  workloadTypes(): TypeRef[] {
    return types(this.#workloadKinds);
  }

  /** The service kinds bindings name, `v1 Secret` for direct references. */
  serviceTypes(): TypeRef[] {
    return types(this.#serviceKinds);
  }

  #drop(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    remove(this.#byWorkload, `${groupKindOf(entry.workload)}/${entry.namespace}`, key);
    remove(this.#byService, `${groupKindOf(entry.service)}/${entry.namespace}/${entry.service.name}`, key);
    let changed = count(this.#workloadKinds, entry.workload, -1);
    changed = count(this.#serviceKinds, entry.service, -1) || changed;
    if (changed) this.#kindsChanged();
  }

  #kindsChanged(): void {
    for (const listener of this.#kindListeners) listener();
  }
}

function keyOf(binding: ServiceBinding): string {
  return `${binding.metadata.namespace ?? ''}/${binding.metadata.name ?? ''}`;
}

function add(map: Map<string, Map<string, IndexedBinding>>, where: string, entry: IndexedBinding): void {
  let entries = map.get(where);
  if (!entries) map.set(where, (entries = new Map<string, IndexedBinding>()));
  entries.set(entry.key, entry);
}

function remove(map: Map<string, Map<string, IndexedBinding>>, where: string, key: string): void {
  const entries = map.get(where);
  entries?.delete(key);
  if (entries?.size === 0) map.delete(where);
}

/** Adjusts a kind's count; true when the kind appeared or disappeared. */
function count(kinds: Map<string, KindCount>, type: TypeRef, delta: 1 | -1): boolean {
  const gk = groupKindOf(type);
  const current = kinds.get(gk);
  if (!current) {
    if (delta < 0) return false;
    kinds.set(gk, { type: { apiVersion: type.apiVersion, kind: type.kind }, count: 1 });
    return true;
  }
  current.count += delta;
  if (current.count > 0) return false;
  kinds.delete(gk);
  return true;
}

function sorted(entries: Map<string, IndexedBinding> | undefined): readonly IndexedBinding[] {
  if (!entries) return [];
  // Code-unit order: names are DNS subdomains, and localeCompare costs tenfold.
  return [...entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function types(kinds: Map<string, KindCount>): TypeRef[] {
  return [...kinds.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, { type }]) => type);
}
