// Which reconciled objects depend on which others (reconciler.io's tracker): a
// reconcile that reads object B on behalf of A tracks B by A, and a watch on B's
// type maps a change of B to a request for A. Entries are leases: a dependency
// not re-tracked within the lease is forgotten, so stale ones do not pile up.

import { groupKind, joinKey, parseApiVersion, parseSelector, refOf } from '@bindery/kube';
import type { Clock, KubeObject, ObjectRef, Selector, TypeRef } from '@bindery/kube';
import type { Config, TrackReference, Tracker as TrackerContract } from './config.ts';
import type { MapFunc, Request, SetupContext } from './reconciler.ts';

export interface TrackerOptions {
  clock: Pick<Clock, 'now'>;
  /**
   * How long a tracking entry lives without being renewed. Each reconcile renews
   * what it tracks, and every object is reconciled at least once per resync, so
   * this should exceed the resync period. Default 20 h (reconciler.io: twice a
   * 10 h resync).
   */
  leaseMs?: number;
}

interface Observer {
  by: ObjectRef;
  expiresAt: number;
}

interface SelectorEntry {
  selector: Selector;
  observers: Map<string, Observer>;
}

const defaultLeaseMs = 20 * 60 * 60 * 1000;

/** `Kind.group/namespace`: versions of one kind are the same objects. */
function groupKindNamespace(type: TypeRef, namespace: string | undefined): string {
  return joinKey(groupKind(type), namespace ?? '');
}

function observerKey(by: ObjectRef): string {
  return joinKey(groupKind(by), by.namespace ?? '', by.name);
}

export class Tracker implements TrackerContract {
  readonly #clock: Pick<Clock, 'now'>;
  readonly #leaseMs: number;
  /**
   * By `group/kind/namespace/name` of the tracked object: its one observer, or a map of several by
   * observer key. Most objects have one, and a Map each cost 350 bytes over 10,000 tracked objects.
   */
  readonly #byName = new Map<string, Observer | Map<string, Observer>>();
  /** By `group/kind/namespace`, then by selector text. */
  readonly #bySelector = new Map<string, Map<string, SelectorEntry>>();

  constructor(options: TrackerOptions) {
    this.#clock = options.clock;
    this.#leaseMs = options.leaseMs ?? defaultLeaseMs;
  }

  /** Tracks one object by name, or (no `name`) every object `selector` matches in `namespace`. */
  trackReference(ref: TrackReference, by: ObjectRef): void {
    const observer: Observer = { by: { ...by }, expiresAt: this.#now() + this.#leaseMs };
    const gkn = groupKindNamespace(ref, ref.namespace);
    if (ref.name !== undefined && ref.name !== '') {
      const key = joinKey(gkn, ref.name);
      const current = this.#byName.get(key);
      const byKey = observerKey(by);
      if (current instanceof Map) current.set(byKey, observer);
      else if (current === undefined || observerKey(current.by) === byKey) this.#byName.set(key, observer);
      else
        this.#byName.set(
          key,
          new Map([
            [observerKey(current.by), current],
            [byKey, observer],
          ]),
        );
      return;
    }
    if (ref.selector === undefined) {
      throw new Error(`track ${ref.kind}: a reference needs a name or a selector`);
    }
    let entries = this.#bySelector.get(gkn);
    if (!entries) this.#bySelector.set(gkn, (entries = new Map<string, SelectorEntry>()));
    let entry = entries.get(ref.selector);
    if (!entry) {
      // Parse once, here: a malformed selector fails the reconcile that tracks it.
      entry = { selector: parseSelector(ref.selector), observers: new Map() };
      entries.set(ref.selector, entry);
    }
    entry.observers.set(observerKey(by), observer);
  }

  trackObject(obj: KubeObject, by: ObjectRef): void {
    if (!obj.apiVersion || !obj.kind || !obj.metadata.name) {
      throw new Error('track object: apiVersion, kind and metadata.name are required');
    }
    this.trackReference(refOf(obj), by);
  }

  getObservers(obj: KubeObject): Request[] {
    return this.getObserverRefs(obj).map((by) => ({
      ...(by.namespace ? { namespace: by.namespace } : {}),
      name: by.name,
    }));
  }

  /** The observers of `obj` with their types: a tracker shared by controllers is filtered by type. */
  getObserverRefs(obj: KubeObject): ObjectRef[] {
    if (!obj.apiVersion || !obj.kind) return [];
    const now = this.#now();
    const gkn = groupKindNamespace({ apiVersion: obj.apiVersion, kind: obj.kind }, obj.metadata.namespace);
    const found = new Map<string, ObjectRef>();
    const collect = (observers: Map<string, Observer>): void => {
      for (const [key, o] of observers) {
        if (o.expiresAt <= now) observers.delete(key);
        else found.set(key, o.by);
      }
    };
    const nameKey = joinKey(gkn, obj.metadata.name ?? '');
    const named = this.#byName.get(nameKey);
    if (named instanceof Map) {
      collect(named);
      if (named.size === 0) this.#byName.delete(nameKey);
    } else if (named !== undefined) {
      if (named.expiresAt <= now) this.#byName.delete(nameKey);
      else found.set(observerKey(named.by), named.by);
    }
    const entries = this.#bySelector.get(gkn);
    if (entries) {
      for (const [text, entry] of entries) {
        if (entry.selector.matches(obj.metadata.labels)) collect(entry.observers);
        if (entry.observers.size === 0) entries.delete(text);
      }
      if (entries.size === 0) this.#bySelector.delete(gkn);
    }
    return [...found.values()];
  }

  #now(): number {
    return this.#clock.now();
  }
}

/**
 * A watch mapping that enqueues what tracks the changed object (reconciler.io's
 * EnqueueTracked). With this module's Tracker, only observers of the
 * controller's own type are enqueued, so one tracker can serve every controller.
 */
export function enqueueTracked(ctx: Pick<SetupContext, 'config' | 'resourceType'>): MapFunc {
  const { config, resourceType } = ctx;
  return (obj) => trackedRequests(config, resourceType, obj);
}

function trackedRequests(config: Config, type: TypeRef, obj: KubeObject): Request[] {
  const tracker = config.tracker;
  if (!(tracker instanceof Tracker)) return tracker.getObservers(obj);
  const group = parseApiVersion(type.apiVersion).group;
  return tracker
    .getObserverRefs(obj)
    .filter((by) => by.kind === type.kind && parseApiVersion(by.apiVersion).group === group)
    .map((by) => ({ ...(by.namespace ? { namespace: by.namespace } : {}), name: by.name }));
}
